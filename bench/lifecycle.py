"""Lifecycle throughput: N complaints through a full lifecycle via the service layer on a
file SQLite database, and the same reads and writes with plain sqlite3 in the same run.

Each complaint: register, accept, investigate, negotiate, decide, notify, close (7 actions).
The raw side issues the statements the service issues (select case, select user, select
deadlines, update case, write deadlines, insert event; at registration the repeat lookup, at
notice the callback row; one transaction per action) with precomputed values: what is left is
the cost of the service layer itself.

    .venv/bin/python bench/lifecycle.py [--n 10000]
Last line: ratio=<service actions/s ÷ raw actions/s>  (target ≥ 0.3)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

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


def raw_run(path: Path, n: int, start: datetime) -> float:
    """The same statements through sqlite3 directly, values precomputed."""
    db = sqlite3.connect(path, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    warnings = json.dumps([{"level": "warn_50", "at": start.isoformat()}])
    t0 = time.perf_counter()
    for i in range(n):
        received = (start + timedelta(minutes=i)).strftime(fmt)
        number = f"RAW{i:010d}"
        db.execute("BEGIN IMMEDIATE")
        db.execute("SELECT * FROM user WHERE username = ?", ("clerk",)).fetchone()
        pid = db.execute(
            "INSERT INTO party (kind, name_enc, name_hash, id_type, phone_enc, phone_hash, "
            "created_at) VALUES ('person', ?, ?, 'resident_id', ?, ?, ?)",
            ("gAAAAABenc" * 10, "h" * 40, "gAAAAABenc" * 10, "p" * 40, received)).lastrowid
        cid = db.execute(
            "INSERT INTO complaint (state, version, event_count, priority, priority_reasons, "
            "channel, branch, registered_by, received_at, registered_at, last_event_at, "
            "complainant_id, complainant_capacity, complainant_hash, claim, facts, policy_no, "
            "amount, regulator_forwarded, group_size, media_involved, vulnerable, "
            "decided_by_branch, extension_level, escalation_level, details) VALUES "
            "('registered', 1, 1, 'normal', '[]', 'hotline', 'head_office', 'clerk', ?, ?, ?, "
            "?, 'consumer', ?, '要求赔付', '理赔拖延', ?, 8600.0, 0, 1, 0, 0, 0, 0, 0, '{}')",
            (received, received, received, pid, "h" * 40, f"P{i:09d}")).lastrowid
        db.execute("UPDATE complaint SET number = ? WHERE id = ?", (number, cid))
        # Repeat detection: earlier complaints of this complainant inside the window.
        db.execute("SELECT id, state, policy_no, category FROM complaint "
                   "WHERE complainant_hash = ? AND received_at >= ? AND received_at <= ? "
                   "AND id != ? ORDER BY received_at DESC LIMIT 50",
                   ("h" * 40, received, received, cid)).fetchall()
        db.executemany(
            "INSERT INTO deadline (complaint_id, name, status, started_at, allowance, "
            "paused_seconds, due_at, warnings, verified, rule, next_check_at) VALUES "
            "(?, ?, 'running', ?, 15, 0, ?, ?, 1, 'rule', ?)",
            [(cid, name, received, received, warnings, received)
             for name in ("acceptance", "internal_target", "decision")])
        db.execute("INSERT INTO event (complaint_id, seq, action, to_state, actor, role, at, "
                   "recorded_at, details) VALUES (?, 1, 'register', 'registered', 'clerk', "
                   "'intake_clerk', ?, ?, '{}')", (cid, received, received))
        db.execute("COMMIT")
        for seq, (action, state) in enumerate(
                (("accept", "accepted"), ("investigate", "investigating"),
                 ("negotiate", "negotiating"), ("decide", "decided"), ("notify", "notified"),
                 ("close", "closed")), start=2):
            db.execute("BEGIN IMMEDIATE")
            case = db.execute("SELECT * FROM complaint WHERE number = ?", (number,)).fetchone()
            db.execute("SELECT * FROM user WHERE username = ?", ("liaison",)).fetchone()
            rows = db.execute("SELECT * FROM deadline WHERE complaint_id = ?", (cid,)).fetchall()
            cur = db.execute("UPDATE complaint SET state = ?, version = ?, event_count = ?, "
                             "last_event_at = ?, details = ? WHERE id = ? AND version = ?",
                             (state, seq, seq, received, '{"x": 1}', cid, case["version"]))
            assert cur.rowcount == 1
            db.execute("UPDATE deadline SET status = 'met', met_at = ? WHERE id = ?",
                       (received, rows[0][0]))
            db.execute("INSERT INTO event (complaint_id, seq, action, from_state, to_state, "
                       "actor, role, at, recorded_at, details) VALUES (?, ?, ?, 'x', ?, "
                       "'liaison', 'liaison', ?, ?, '{}')",
                       (cid, seq, action, state, received, received))
            if action == "notify":  # the satisfaction callback scheduled with the notice
                db.execute("INSERT INTO callback (complaint_id, round, attempt, status, due_at, "
                           "window_end_at, assignee, calendar_verified, created_at) VALUES "
                           "(?, 1, 1, 'scheduled', ?, ?, 'liaison', 1, ?)",
                           (cid, received, received, received))
            db.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    db.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="complaints (default 10000)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tousu-bench-"))
    try:
        template = work / "template.db"
        upgrade(f"sqlite:///{template}")
        svc_db, raw_db = work / "service.db", work / "raw.db"
        shutil.copy(template, svc_db)
        shutil.copy(template, raw_db)
        env = {"TOUSU_ROOT": str(work), "TOUSU_KEY": "xHrqHxB3N7kZ0Vt6lq2jz1m5Yg8Qp3cS9uWdE4aKf0o=",
               "TOUSU_DATABASE_URL": f"sqlite:///{svc_db}"}
        ctx = open_context(load_config(environ=env, root=work))
        users.ensure_system_user(ctx)
        for name, role in (("clerk", "intake_clerk"), ("liaison", "liaison")):
            users.add_user(ctx, name, name=name, role=role)
        with sqlite3.connect(raw_db) as db:
            db.executemany("INSERT INTO user (username, name, role, team, branch, email, active, "
                           "created_at) VALUES (?, ?, ?, '', 'head_office', '', 1, '2026-01-01')",
                           [("clerk", "c", "intake_clerk"), ("liaison", "l", "liaison")])
        start = datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc)
        actions = args.n * ACTIONS_PER_CASE
        svc = service_run(ctx, args.n, start)
        ctx.close()
        raw = raw_run(raw_db, args.n, start)
        svc_rate, raw_rate = actions / svc, actions / raw
        print(f"complaints={args.n} actions={actions}")
        print(f"service: {svc:.2f} s, {svc_rate:,.0f} actions/s")
        print(f"raw sqlite3: {raw:.2f} s, {raw_rate:,.0f} actions/s")
        print(f"ratio={svc_rate / raw_rate:.3f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
