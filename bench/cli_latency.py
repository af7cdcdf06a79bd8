"""Start-up cost of the `tousu` command on a database of 1,000,000 complaints.

Builds (once; reused while its row count matches) a migrated SQLite database under
data/bench/ with bulk inserts through plain sqlite3: users, a thousand encrypted parties,
the complaints, three named deadlines and the registration event of each. Then measures, as
subprocesses, the median wall time of `tousu show`, of `tousu queue` (a handler's own queue)
and of the floor `python -c "import sqlmodel, typer"`.

    .venv/bin/python bench/cli_latency.py [--rows 1000000] [--repeat 7] [--rebuild]
Last line: ratio=<slower of show/queue ÷ floor>  (target ≤ 1.3)
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
KEY = "xHrqHxB3N7kZ0Vt6lq2jz1m5Yg8Qp3cS9uWdE4aKf0o="  # bench-only key
BRANCHES = ["beijing", "shanghai", "guangdong", "sichuan", "zhejiang", "head_office"]
OPEN_SHARE = 0.05  # share of complaints still being handled
LIAISONS = 200
FMT = "%Y-%m-%d %H:%M:%S.%f"  # how sqlmodel's UTCDateTime stores naive UTC in SQLite


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).strftime(FMT)


def _env(db: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TOUSU_DATABASE_URL": f"sqlite:///{db}",
        "TOUSU_KEY": KEY,
        "TOUSU_USER": "",
        # a single-user local setup: --user names who acts ([cli] single_user, docs/web.md)
        "TOUSU__CLI__SINGLE_USER": "true",
        "DO_NOT_TRACK": "1",
        "COLUMNS": "160",
    }


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM complaint").fetchone()[0])
    except sqlite3.Error:
        return -1


def _defaults(conn: sqlite3.Connection, table: str) -> tuple[list[str], dict[str, object]]:
    """Column names and a filler for NOT NULL columns the bench does not set itself."""
    cols: list[str] = []
    fill: dict[str, object] = {}
    for _, name, typ, notnull, default, pk in conn.execute(f"PRAGMA table_info({table})"):
        if pk:
            continue
        cols.append(name)
        typ = (typ or "").upper()
        if notnull and default is None:
            fill[name] = (
                "{}"
                if "JSON" in typ
                else (0 if any(t in typ for t in ("INT", "BOOL", "FLOAT", "REAL", "NUM")) else "")
            )
        else:
            fill[name] = None
    return cols, fill


def build(db: Path, rows: int) -> None:
    os.environ.update({"TOUSU_DATABASE_URL": f"sqlite:///{db}", "TOUSU_KEY": KEY})
    sys.path.insert(0, str(ROOT))
    from config import load_config
    from services import users
    from services.context import open_context
    from storage.migrate import upgrade

    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    upgrade(f"sqlite:///{db}")
    ctx = open_context(load_config())
    users.ensure_system_user(ctx)
    users.add_user(ctx, "admin", name="管理员", role="admin")
    for i in range(LIAISONS):
        branch = BRANCHES[i % len(BRANCHES)]
        users.add_user(
            ctx,
            f"li{i:04d}",
            name=f"对接{i}",
            role="liaison",
            branch=branch,
            team=f"{branch}-{i % 3}",
        )
    for branch in BRANCHES:
        users.add_user(
            ctx,
            f"sup_{branch}",
            name=f"{branch}主管",
            role="supervisor",
            branch=branch,
            team=f"{branch}-0",
        )
        users.add_user(
            ctx, f"clerk_{branch}", name=f"{branch}受理", role="intake_clerk", branch=branch
        )
    vault, now = ctx.vault, datetime.now(UTC)
    parties = []
    for i in range(1000):
        name, phone = f"客户{i:04d}", f"139{i:08d}"
        parties.append(
            {
                "kind": "person",
                "name_enc": vault.encrypt(name),
                "name_hash": vault.match_hash("name", name),
                "id_type": "resident_id",
                "id_number_enc": vault.encrypt("11010519491231002X"),
                "id_number_hash": vault.match_hash("id", "11010519491231002X"),
                "phone_enc": vault.encrypt(phone),
                "phone_hash": vault.match_hash("phone", phone),
                "address_enc": vault.encrypt("北京市朝阳区建国路1号"),
                "credit_code": None,
                "legal_rep_enc": None,
                "created_at": _ts(now),
            }
        )
    ctx.close()

    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    pcols = list(parties[0])
    conn.executemany(
        f"INSERT INTO party ({','.join(pcols)}) VALUES ({','.join('?' * len(pcols))})",
        [tuple(p[c] for c in pcols) for p in parties],
    )
    ccols, cfill = _defaults(conn, "complaint")
    dcols = [
        "complaint_id",
        "name",
        "status",
        "started_at",
        "allowance",
        "paused_seconds",
        "due_at",
        "warnings",
        "verified",
        "rule",
        "met_at",
    ]
    ecols = [
        "complaint_id",
        "seq",
        "action",
        "from_state",
        "to_state",
        "actor",
        "role",
        "at",
        "recorded_at",
        "details",
    ]
    c_sql = f"INSERT INTO complaint (id,{','.join(ccols)}) VALUES (?{',?' * len(ccols)})"
    d_sql = f"INSERT INTO deadline ({','.join(dcols)}) VALUES ({','.join('?' * len(dcols))})"
    e_sql = f"INSERT INTO event ({','.join(ecols)}) VALUES ({','.join('?' * len(ecols))})"
    rnd = random.Random(3)
    open_states = ["accepted", "investigating", "negotiating", "decided", "consulting"]
    chunk = 50_000
    for start in range(1, rows + 1, chunk):
        cs, ds, es = [], [], []
        for cid in range(start, min(start + chunk, rows + 1)):
            is_open = rnd.random() < OPEN_SHARE
            age = timedelta(days=rnd.uniform(0, 20) if is_open else rnd.uniform(20, 730))
            received = now - age
            owner = f"li{rnd.randrange(LIAISONS):04d}"
            branch = BRANCHES[int(owner[2:]) % len(BRANCHES)]
            state = rnd.choice(open_states) if is_open else "closed"
            row = dict(cfill)
            row.update(
                {
                    "number": f"TS{(received + timedelta(hours=8)).strftime('%Y%m%d')}{cid:07d}",
                    "state": state,
                    "version": 4,
                    "event_count": 1,
                    "priority": "normal",
                    "priority_reasons": "[]",
                    "category": "claims",
                    "product": "medical",
                    "channel": "hotline",
                    "branch": branch,
                    "owner": owner,
                    "registered_by": f"clerk_{branch}",
                    "received_at": _ts(received),
                    "registered_at": _ts(received),
                    "accepted_at": _ts(received + timedelta(hours=2)),
                    "closed_at": None if is_open else _ts(received + timedelta(days=6)),
                    "last_event_at": _ts(received),
                    "complainant_id": rnd.randrange(1, 1001),
                    "complainant_capacity": "consumer",
                    "complainant_hash": f"h{cid % 400_000}",
                    "claim": "要求按合同赔付医疗费用",
                    "facts": "住院后申请理赔, 30 日未获答复",
                    "policy_no": f"P{cid:09d}",
                    "amount": 8600.0,
                    "group_size": 1,
                    "details": "{}",
                }
            )
            cs.append((cid, *(row[c] for c in ccols)))
            for name, days in (("acceptance", 1), ("internal_target", 7), ("decision", 15)):
                due = received + timedelta(days=days)
                running = is_open and name != "acceptance"
                ds.append(
                    (
                        cid,
                        name,
                        "running" if running else "met",
                        _ts(received),
                        days,
                        0,
                        _ts(due),
                        "[]",
                        1,
                        name,
                        None if running else _ts(received),
                    )
                )
            es.append(
                (
                    cid,
                    1,
                    "register",
                    None,
                    "registered",
                    f"clerk_{branch}",
                    "intake_clerk",
                    _ts(received),
                    _ts(received),
                    "{}",
                )
            )
        conn.executemany(c_sql, cs)
        conn.executemany(d_sql, ds)
        conn.executemany(e_sql, es)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    print(f"built {rows:,} complaints in {time.perf_counter() - t0:.1f} s → {db}")


def median_time(argv: list[str], env: dict[str, str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        done = subprocess.run(
            argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        times.append(time.perf_counter() - t0)
        if done.returncode != 0:
            raise SystemExit(
                f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-500:]}"
            )
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--build-only", action="store_true", help="build the database, measure nothing"
    )
    args = parser.parse_args()
    db = args.db or ROOT / "data" / "bench" / f"cli_latency_{args.rows}.db"
    if args.rebuild or _count(db) != args.rows:
        build(db, args.rows)
    if args.build_only:
        return
    env = _env(db)
    with sqlite3.connect(db) as conn:
        owner, number = conn.execute(
            "SELECT owner, number FROM complaint WHERE state != 'closed' AND owner = 'li0007' "
            "ORDER BY id LIMIT 1"
        ).fetchone()
        mine = conn.execute(
            "SELECT count(*) FROM complaint WHERE owner = ? AND state != 'closed'", (owner,)
        ).fetchone()[0]
    tousu = str(BIN / "tousu")
    runs = {
        "floor (python -c 'import sqlmodel, typer')": [
            sys.executable,
            "-c",
            "import sqlmodel, typer",
        ],
        f"tousu show {number}": [tousu, "show", number, "--user", owner],
        f"tousu queue ({owner}, {mine} open cases)": [tousu, "queue", "--user", owner],
        "tousu queue --scope branch (supervisor)": [
            tousu,
            "queue",
            "--scope",
            "branch",
            "--user",
            "sup_beijing",
        ],
    }
    for argv in runs.values():  # warm the page cache and .pyc files once
        median_time(argv, env, 1)
    result = {label: median_time(argv, env, args.repeat) for label, argv in runs.items()}
    floor = result[next(iter(runs))]
    print(f"rows={args.rows:,} repeat={args.repeat} (median wall time, subprocess)")
    for label, seconds in result.items():
        print(f"  {label:<58} {seconds * 1000:8.0f} ms  ×{seconds / floor:.2f}")
    labels = list(result)
    slower = max(result[labels[1]], result[labels[2]])
    print(f"ratio={slower / floor:.2f}")


if __name__ == "__main__":
    main()
