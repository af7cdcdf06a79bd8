"""Registrations per second with repeat detection, on 10,000 and on 1,000,000 complaints.

Run from the project root: `.venv/bin/python bench/intake.py [--small N] [--large N] [--n N]`.
Each database is migrated, then filled by bulk Core inserts with realistic rows: about
three complaints per complainant over three years, each with the complainant's keyed identity
hash, policy number and category. Then `--n` registrations go through
services.lifecycle.registration.register (each its own transaction, repeat detection
included); a third of them come from complainants already in the database, so merges and
links happen too.
The last line is `ratio=<time per registration at large ÷ at small>`; repeat detection reads
one index range (ix_complaint_complainant_received), so the target is 1.5 or less.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text  # noqa: E402

from config import load_config  # noqa: E402
from services import users  # noqa: E402
from services.context import Context, open_context  # noqa: E402
from services.lifecycle.registration import Person, Registration, register  # noqa: E402
from storage import records
from storage.migrate import upgrade  # noqa: E402
from storage.models import Party  # noqa: E402
from storage.schema import table_of  # noqa: E402

KEY = "xHrqHxB3N7kZ0Vt6lq2jz1m5Yg8Qp3cS9uWdE4aKf0o="
CATEGORIES = ["claims", "sales", "surrender", "underwriting", "service_quality", "renewal"]
CHANNELS = ["hotline", "online", "counter", "letter", "regulator"]
NOW = datetime.now(UTC)


def phone(i: int) -> str:
    return f"139{i:08d}"


def build(root: Path, template: Path, size: int, seed: int) -> Context:
    db = root / f"bench_{size}.db"
    shutil.copy(template, db)
    config = load_config(
        environ={
            "TOUSU_ROOT": str(root),
            "TOUSU_KEY": KEY,
            "TOUSU_DATABASE_URL": f"sqlite:///{db}",
        },
        root=root,
    )
    ctx = open_context(config)
    users.ensure_system_user(ctx)
    users.add_user(ctx, "clerk", name="张受理", role="intake_clerk")
    rng = random.Random(seed)
    people = max(1, size // 3)
    hashes = [ctx.vault.match_hash("phone", phone(i)) for i in range(people)]
    name_hash = ctx.vault.match_hash("name", "赵六")
    t0 = time.perf_counter()
    with ctx.engine.begin() as conn:
        # One party per complainant with the keyed hashes registration writes: repeats are
        # matched through them (services/automatic/repeats.py, `[repeat] identifiers`).
        conn.execute(
            insert(table_of(Party)),
            [
                {
                    "id": i + 1,
                    "kind": "person",
                    "name_enc": "x",
                    "name_hash": name_hash,
                    "id_type": "resident_id",
                    "phone_hash": hashes[i],
                    "created_at": NOW,
                }
                for i in range(people)
            ],
        )
        chunk: list[dict[str, object]] = []
        for i in range(size):
            who = rng.randrange(people)
            received = NOW - timedelta(days=rng.uniform(1, 3 * 365))
            closed = received < NOW - timedelta(days=40)
            chunk.append(
                {
                    "number": f"B{i:09d}",
                    "state": "closed" if closed else "investigating",
                    "version": 1,
                    "event_count": 1,
                    "priority": "normal",
                    "priority_reasons": [],
                    "category": CATEGORIES[who % len(CATEGORIES)],
                    "product": "medical",
                    "channel": rng.choice(CHANNELS),
                    "branch": "beijing",
                    "owner": "clerk",
                    "registered_by": "clerk",
                    "received_at": received,
                    "registered_at": received,
                    "last_event_at": received,
                    "complainant_id": who + 1,
                    "complainant_capacity": "consumer",
                    "complainant_hash": hashes[who],
                    "claim": "要求赔付",
                    "facts": "理赔未果",
                    "policy_no": f"P{who:09d}",
                    "amount": 5000.0,
                    "regulator_forwarded": False,
                    "group_size": 1,
                    "media_involved": False,
                    "vulnerable": False,
                    "decided_by_branch": False,
                    "extension_level": 0,
                    "escalation_level": 0,
                    "details": {},
                }
            )
            if len(chunk) == 50_000:
                conn.execute(insert(records.COMPLAINT), chunk)
                chunk = []
        if chunk:
            conn.execute(insert(records.COMPLAINT), chunk)
    with ctx.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    print(
        f"built {size:,} complaints ({people:,} complainants) in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    return ctx


def measure(ctx: Context, size: int, n: int, seed: int) -> float:
    rng = random.Random(seed)
    people = max(1, size // 3)

    def one(k: int) -> str:
        # A third repeat a known complainant (same policy), the rest are new complainants.
        known = k % 3 == 0
        who = rng.randrange(people) if known else 50_000_000 + k
        reg = Registration(
            complainant=Person(name="赵六", phone=phone(who)),
            claim="要求按合同赔付",
            facts=f"第 {k} 次登记的事实",
            channel=rng.choice(CHANNELS[:4]),
            policy_no=f"P{who:09d}",
            category=CATEGORIES[who % len(CATEGORIES)],
            received_at=NOW - timedelta(hours=2),
        )
        return register(ctx, reg, actor="clerk").repeat.kind  # type: ignore[union-attr]

    for k in range(20):  # warm up caches and prepared statements
        one(n + 1000 + k)
    kinds: dict[str, int] = {}
    t0 = time.perf_counter()
    for k in range(n):
        kind = one(k)
        kinds[kind] = kinds.get(kind, 0) + 1
    elapsed = time.perf_counter() - t0
    per = elapsed / n
    print(
        f"{size:>9,} complaints: {n / elapsed:7.1f} registrations/s "
        f"({per * 1000:.2f} ms each; repeats merged {kinds.get('merged', 0)}, "
        f"linked {kinds.get('linked', 0)}, new {kinds.get('none', 0)})",
        flush=True,
    )
    return per


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--n", type=int, default=300, help="registrations measured per size")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tousu-bench-") as tmp:
        root = Path(tmp)
        template = root / "template.db"
        upgrade(f"sqlite:///{template}")
        results = []
        for size in (args.small, args.large):
            ctx = build(root, template, size, seed=size)
            try:
                results.append(measure(ctx, size, args.n, seed=7))
            finally:
                ctx.close()
            (root / f"bench_{size}.db").unlink()
        print(f"ratio={results[1] / results[0]:.2f}")


if __name__ == "__main__":
    main()
