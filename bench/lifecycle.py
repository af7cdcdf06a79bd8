"""Lifecycle throughput: N complaints through a full lifecycle via the service layer on a
file SQLite database, and the same reads and writes with plain sqlite3 in the same run.

Each complaint: register, accept, investigate, negotiate, decide, notify, close (7 actions).
While the service runs, every statement it sends to SQLite is recorded with its parameters
(SQLAlchemy's `before_cursor_execute`, and the BEGIN / COMMIT around each action); the raw
side then replays exactly that sequence through sqlite3 on a copy of the same starting
database: the same SQL, the same values, the same transactions, with nothing computed. What
is left between the two is the cost of the service layer itself (Python, SQLAlchemy, the
checks, the clock arithmetic, the encryption). The recording is charged to the service.

    .venv/bin/python bench/lifecycle.py [--n 10000]
Last line: ratio=<service actions/s ÷ raw actions/s>  (target ≥ 0.3)
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import load_config  # noqa: E402
from services import actions as a  # noqa: E402
from services import users  # noqa: E402
from services.context import open_context  # noqa: E402
from services.registration import Person, Registration, register  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

ACTIONS_PER_CASE = 7
ANALYSIS = {"background": "退休人员", "content": "理赔时效", "process": "调查协商",
            "rules": "保险法第二十三条", "outcome": "补足赔款"}


def service_run(ctx, n: int, start: datetime) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    for i in range(n):
        received = start + timedelta(minutes=i)
        reg = Registration(complainant=Person(name="赵六", phone=f"138{i:08d}"),
                           claim="要求赔付", facts="理赔拖延", channel="hotline",
                           received_at=received, policy_no=f"P{i:09d}", amount=8600.0)
        number = register(ctx, reg, actor="clerk").number
        h = timedelta(hours=1)
        a.accept(ctx, number, actor="clerk", category="claims", product="medical",
                 owner="liaison", at=received + h)
        a.investigate(ctx, number, actor="liaison", at=received + 2 * h)
        a.negotiate(ctx, number, actor="liaison", findings="属实", at=received + 3 * h)
        a.decide(ctx, number, actor="liaison", facts="属实", basis="合同", reasons="保险责任",
                 remedies=["review", "mediation"], at=received + 4 * h)
        a.notify(ctx, number, actor="liaison", channel="sms", proof="回执", at=received + 5 * h)
        a.close(ctx, number, actor="liaison", analysis=ANALYSIS, root_cause="时效",
                at=received + 6 * h)
    return time.perf_counter() - t0


class Recorder:
    """The statements an engine sends to SQLite, in order, with their parameters."""

    def __init__(self, engine: Engine) -> None:
        self.log: list[tuple[str, Any, bool]] = []
        event.listen(engine, "before_cursor_execute", self._statement)
        # storage/db.py sends BEGIN IMMEDIATE (BEGIN for read-only connections) to the driver.
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", lambda conn: self.log.append(("COMMIT", (), False)))
        event.listen(engine, "rollback", lambda conn: self.log.append(("ROLLBACK", (), False)))

    def _statement(self, conn: Any, cursor: Any, statement: str, parameters: Any,
                   context: Any, executemany: bool) -> None:
        self.log.append((statement, parameters, executemany))

    def _begin(self, conn: Any) -> None:
        read_only = conn.get_execution_options().get("tousu_read_only")
        self.log.append(("BEGIN" if read_only else "BEGIN IMMEDIATE", (), False))


def raw_run(path: Path, log: list[tuple[str, Any, bool]]) -> float:
    """Replay the recorded statements through sqlite3 (same pragmas, rows fetched)."""
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "busy_timeout=30000", "synchronous=NORMAL",
                   "foreign_keys=ON"):
        db.execute(f"PRAGMA {pragma}")
    t0 = time.perf_counter()
    for statement, parameters, many in log:
        if many:
            db.executemany(statement, parameters)
        else:
            db.execute(statement, parameters).fetchall()
    elapsed = time.perf_counter() - t0
    db.close()
    return elapsed


def fingerprint(path: Path) -> list[tuple[Any, ...]]:
    """What the lifecycle wrote: every complaint's state and version, every event, deadline and
    callback (the replay must leave the same rows as the service)."""
    with sqlite3.connect(path) as db:
        return [tuple(db.execute(sql).fetchall()) for sql in (
            "SELECT id, number, state, version, event_count FROM complaint ORDER BY id",
            "SELECT count(*), sum(seq), max(id) FROM event",
            "SELECT status, count(*) FROM deadline GROUP BY status ORDER BY status",
            "SELECT count(*) FROM callback")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="complaints (default 10000)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tousu-bench-"))
    try:
        template = work / "template.db"
        upgrade(f"sqlite:///{template}")
        env = {"TOUSU_ROOT": str(work), "TOUSU_KEY": "xHrqHxB3N7kZ0Vt6lq2jz1m5Yg8Qp3cS9uWdE4aKf0o=",
               "TOUSU_DATABASE_URL": f"sqlite:///{template}"}
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
        recorder = Recorder(ctx.engine)
        start = datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc)
        actions = args.n * ACTIONS_PER_CASE
        svc = service_run(ctx, args.n, start)
        ctx.close()
        raw = raw_run(raw_db, recorder.log)
        same = fingerprint(svc_db) == fingerprint(raw_db)
        if not same:
            raise SystemExit("the replay did not reproduce the service's database")
        svc_rate, raw_rate = actions / svc, actions / raw
        print(f"complaints={args.n} actions={actions} statements={len(recorder.log)}")
        print(f"service: {svc:.2f} s, {svc_rate:,.0f} actions/s")
        print(f"raw sqlite3 (replay, same database afterwards): {raw:.2f} s, "
              f"{raw_rate:,.0f} actions/s")
        print(f"ratio={svc_rate / raw_rate:.3f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
