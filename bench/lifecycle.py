"""Lifecycle throughput: N complaints through a full lifecycle via the service layer on a
file SQLite database, and the same reads and writes with plain sqlite3 in the same run.

Each complaint: register, accept, investigate, negotiate, decide, notify, close (7 actions).
While the service runs, every statement it hands the sqlite3 driver is recorded with its
parameters (BEGIN IMMEDIATE, the statements, COMMIT; see Recorder); the raw
side then replays exactly that sequence through sqlite3 on a copy of the same starting
database: the same SQL, the same values, the same transactions, with nothing computed. What
is left between the two is the cost of the service layer itself (Python, SQLAlchemy, the
checks, the clock arithmetic, the encryption); the recording is charged to the service. The
two alternate in rounds (default 20), so that both meet the same load on a shared machine and
the same database size, and both databases must end identical.

    .venv/bin/python bench/lifecycle.py [--n 10000] [--rounds 20]
Last line: ratio=<service actions/s ÷ raw actions/s>  (target ≥ 0.3)
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import load_config  # noqa: E402
from services import users  # noqa: E402
from services.context import open_context  # noqa: E402
from services.lifecycle import actions as a  # noqa: E402
from services.lifecycle.registration import Person, Registration, register  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

ACTIONS_PER_CASE = 7
ANALYSIS: dict[str, Any] = {
    "background": "退休人员",
    "content": "理赔时效",
    "process": "调查协商",
    "rules": "保险法第二十三条",
    "outcome": "补足赔款",
}


def service_run(ctx, cases: range, start: datetime) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    for i in cases:
        received = start + timedelta(minutes=i)
        reg = Registration(
            complainant=Person(name="赵六", phone=f"138{i:08d}"),
            claim="要求赔付",
            facts="理赔拖延",
            channel="hotline",
            received_at=received,
            policy_no=f"P{i:09d}",
            amount=8600.0,
        )
        number = register(ctx, reg, actor="clerk").number
        h = timedelta(hours=1)
        a.accept(
            ctx,
            number,
            actor="clerk",
            category="claims",
            product="medical",
            owner="liaison",
            at=received + h,
        )
        a.investigate(ctx, number, actor="liaison", at=received + 2 * h)
        a.negotiate(ctx, number, actor="liaison", findings="属实", at=received + 3 * h)
        a.decide(
            ctx,
            number,
            actor="liaison",
            facts="属实",
            basis="合同",
            reasons="保险责任",
            remedies=["review", "mediation"],
            at=received + 4 * h,
        )
        a.notify(ctx, number, actor="liaison", channel="sms", proof="回执", at=received + 5 * h)
        a.close(ctx, number, actor="liaison", **ANALYSIS, root_cause="时效", at=received + 6 * h)
    return time.perf_counter() - t0


class Recorder:
    """Every statement the service hands the sqlite3 driver, in order, with its parameters.

    The service's engine makes its connections with a sqlite3.Connection subclass that notes
    each execute, executemany, commit and rollback on the way through (BEGIN IMMEDIATE comes
    from storage/db.py as a driver execute). No SQLAlchemy event listener is used: one would
    put every statement of the service through the event dispatch path and slow it."""

    def __init__(self) -> None:
        self.log: list[tuple[str, Any, bool]] = []
        log = self.log

        class Cursor(sqlite3.Cursor):
            def execute(self, sql: str, parameters: Any = (), /) -> Any:
                log.append((sql, parameters, False))
                return super().execute(sql, parameters)

            def executemany(self, sql: str, parameters: Any, /) -> Any:
                parameters = list(parameters)
                log.append((sql, parameters, True))
                return super().executemany(sql, parameters)

        class Connection(sqlite3.Connection):
            def cursor(self, factory: Any = Cursor) -> Any:  # type: ignore[override]
                return super().cursor(factory)

            def execute(self, sql: str, parameters: Any = (), /) -> Any:
                log.append((sql, parameters, False))
                return super().execute(sql, parameters)

            def commit(self) -> None:
                if self.in_transaction:
                    log.append(("COMMIT", (), False))
                super().commit()

            def rollback(self) -> None:
                if self.in_transaction:
                    log.append(("ROLLBACK", (), False))
                super().rollback()

        self.connection_class = Connection

    def engine(self, path: Path) -> Engine:
        """The service's engine (storage/db.py's make_engine) on recording connections."""
        return make_engine(
            f"sqlite:///{path}",
            creator=lambda: sqlite3.connect(
                path, factory=self.connection_class, check_same_thread=False, timeout=30
            ),
        )


def open_raw(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection with the pragmas storage/db.py sets."""
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in (
        "journal_mode=WAL",
        "busy_timeout=30000",
        "synchronous=NORMAL",
        "foreign_keys=ON",
    ):
        db.execute(f"PRAGMA {pragma}")
    return db


def raw_run(db: sqlite3.Connection, log: list[tuple[str, Any, bool]]) -> float:
    """Replay recorded statements through sqlite3 (rows fetched, as the service does)."""
    t0 = time.perf_counter()
    for statement, parameters, many in log:
        if many:
            db.executemany(statement, parameters)
        else:
            db.execute(statement, parameters).fetchall()
    return time.perf_counter() - t0


def fingerprint(path: Path) -> dict[str, str]:
    """A digest of every row of every table (the replay must leave exactly the service's rows)."""
    out = {}
    with sqlite3.connect(path) as db:
        tables = [
            r[0]
            for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        ]
        for table in tables:
            digest = hashlib.sha256()
            for row in db.execute(f'SELECT * FROM "{table}" ORDER BY rowid'):
                digest.update(repr(row).encode())
            out[table] = digest.hexdigest()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="complaints (default 10000)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=20,
        help="service and replay alternate in this many rounds (default 20)",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tousu-bench-"))
    try:
        template = work / "template.db"
        upgrade(f"sqlite:///{template}")
        env = {
            "TOUSU_ROOT": str(work),
            "TOUSU_KEY": "xHrqHxB3N7kZ0Vt6lq2jz1m5Yg8Qp3cS9uWdE4aKf0o=",
            "TOUSU_DATABASE_URL": f"sqlite:///{template}",
        }
        ctx = open_context(load_config(environ=env, root=work))
        users.ensure_system_user(ctx)
        for name, role in (("clerk", "intake_clerk"), ("liaison", "liaison")):
            users.add_user(ctx, name, name=name, role=role)
        ctx.close()
        svc_db, raw_db = work / "service.db", work / "raw.db"
        shutil.copy(template, svc_db)
        shutil.copy(template, raw_db)
        env["TOUSU_DATABASE_URL"] = f"sqlite:///{svc_db}"
        ctx = open_context(load_config(environ=env, root=work))
        # The key is checked against the database once per context, on its own connection:
        # setup, not part of any action, so it is done before the recording starts.
        assert ctx.vault is not None
        recorder = Recorder()
        ctx.engine.dispose()
        ctx.engine = recorder.engine(svc_db)
        raw_conn = open_raw(raw_db)
        start = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
        actions = args.n * ACTIONS_PER_CASE
        # Interleaved in rounds, so that both sides meet the same machine (these are shared)
        # and the same database size; the recording is replayed and dropped after each round.
        svc = raw = 0.0
        statements = 0
        step = max(1, args.n // args.rounds)
        for first in range(0, args.n, step):
            recorder.log.clear()
            svc += service_run(ctx, range(first, min(args.n, first + step)), start)
            raw += raw_run(raw_conn, recorder.log)
            statements += len(recorder.log)
        ctx.close()
        raw_conn.close()
        same = fingerprint(svc_db) == fingerprint(raw_db)
        if not same:
            raise SystemExit("the replay did not reproduce the service's database")
        svc_rate, raw_rate = actions / svc, actions / raw
        print(f"complaints={args.n} actions={actions} statements={statements} rounds={args.rounds}")
        print(f"service: {svc:.2f} s, {svc_rate:,.0f} actions/s")
        print(
            f"raw sqlite3 (replay, same database afterwards): {raw:.2f} s, "
            f"{raw_rate:,.0f} actions/s"
        )
        print(f"ratio={svc_rate / raw_rate:.3f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
