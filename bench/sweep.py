"""Deadline sweep cost: does it depend on the number of complaints, and what does Prefect add?

1. The sweep with SMALL (10,000) and with LARGE (1,000,000) complaints in a file SQLite
   database and the same number DUE (10,000) in each: the sweep reads through the
   `next_check_at` index, so the closed complaints should cost nothing.
2. With a local Prefect server already running (started first, its start-up and one warm-up
   run left out): the `deadline-sweep` flow against the direct service call, each on a fresh
   copy of the same database with PREFECT_DUE (10,000) escalations due.

The data are written with raw sqlite3 bulk inserts (one party, one user; each closed
complaint with two finished deadlines; each due complaint registered 25 hours ago with its
acceptance deadline breached an hour ago).

    .venv/bin/python bench/sweep.py [--small 10000] [--large 1000000] [--due 10000]
                                    [--prefect-due 10000] [--no-large] [--no-prefect]
Last lines: prefect_overhead=<flow ÷ direct> (target ≤ 1.2), ratio=<LARGE ÷ SMALL> (≤ 1.5)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "data" / "bench_sweep"
os.environ.setdefault("PREFECT_HOME", str(WORK / ".prefect"))  # not the served one's database
sys.path.insert(0, str(ROOT))

from config import load_config  # noqa: E402
from services.automatic import escalation  # noqa: E402
from services.context import open_context  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

FMT = "%Y-%m-%d %H:%M:%S.%f"  # how UTCDateTime columns are stored on SQLite (naive UTC)
COMPLAINT_COLS = (
    "number",
    "state",
    "version",
    "event_count",
    "priority",
    "priority_reasons",
    "category",
    "product",
    "channel",
    "branch",
    "owner",
    "registered_by",
    "received_at",
    "registered_at",
    "closed_at",
    "last_event_at",
    "complainant_id",
    "complainant_capacity",
    "complainant_hash",
    "claim",
    "facts",
    "regulator_forwarded",
    "group_size",
    "media_involved",
    "vulnerable",
    "decided_by_branch",
    "extension_level",
    "escalation_level",
    "details",
)
DEADLINE_COLS = (
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
    "next_check_at",
)


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime(FMT)


def build(path: Path, total: int, due: int, now: datetime) -> float:
    """A migrated database with `total` complaints of which `due` have a breach due now."""
    t0 = time.perf_counter()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    upgrade(f"sqlite:///{path}")
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=-200000;")
    db.execute("BEGIN")
    db.execute(
        "INSERT INTO user (username, name, role, team, branch, email, active, created_at)"
        " VALUES ('system', '系统', 'system', '', 'head_office', '', 1, ?)",
        (_ts(now),),
    )
    db.execute(
        "INSERT INTO party (kind, name_enc, name_hash, id_type, created_at)"
        " VALUES ('person', 'x', 'h', 'resident_id', ?)",
        (_ts(now),),
    )
    closed_at, old = _ts(now - timedelta(days=200)), _ts(now - timedelta(days=230))
    received_due = now - timedelta(hours=25)
    breach = received_due + timedelta(hours=24)
    warnings_due = json.dumps(
        [
            {"level": "breach", "at": breach.isoformat()},
            {"level": "breach_committee", "at": (breach + timedelta(days=3)).isoformat()},
        ]
    )

    def complaints():  # type: ignore[no-untyped-def]
        for i in range(1, total + 1):
            open_ = i > total - due
            received = _ts(received_due) if open_ else old
            yield (
                f"TSB{i:09d}",
                "registered" if open_ else "closed",
                1,
                1,
                "normal",
                "[]",
                None if open_ else "claims",
                None if open_ else "motor",
                "hotline",
                "beijing",
                None,
                "system",
                received,
                received,
                None if open_ else closed_at,
                received if open_ else closed_at,
                1,
                "consumer",
                "h",
                "c",
                "f",
                0,
                1,
                0,
                0,
                0,
                0,
                0,
                "{}",
            )

    db.executemany(
        f"INSERT INTO complaint ({', '.join(COMPLAINT_COLS)}) VALUES "
        f"({', '.join('?' * len(COMPLAINT_COLS))})",
        complaints(),
    )

    def deadlines():  # type: ignore[no-untyped-def]
        for i in range(1, total + 1):
            if i > total - due:
                yield (
                    i,
                    "acceptance",
                    "running",
                    _ts(received_due),
                    24,
                    0,
                    _ts(breach),
                    warnings_due,
                    1,
                    "bench",
                    None,
                    _ts(breach),
                )
            else:
                for name in ("acceptance", "decision"):
                    yield (i, name, "met", old, 15, 0, old, "[]", 1, "bench", closed_at, None)

    db.executemany(
        f"INSERT INTO deadline ({', '.join(DEADLINE_COLS)}) VALUES "
        f"({', '.join('?' * len(DEADLINE_COLS))})",
        deadlines(),
    )
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("ANALYZE")
    db.close()
    return time.perf_counter() - t0


def direct_sweep(path: Path) -> tuple[float, int]:
    ctx = open_context(load_config(), url=f"sqlite:///{path}")
    try:
        t0 = time.perf_counter()
        result = escalation.sweep(ctx)
        return time.perf_counter() - t0, result.escalated
    finally:
        ctx.close()


def flow_sweep(path: Path) -> tuple[float, int]:
    from flows.runtime import quick_runs
    from flows.sweep import deadline_sweep

    with quick_runs():
        t0 = time.perf_counter()
        result = deadline_sweep(database_url=f"sqlite:///{path}")
        return time.perf_counter() - t0, int(result["escalated"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--small", type=int, default=10_000)
    p.add_argument("--large", type=int, default=1_000_000)
    p.add_argument("--due", type=int, default=10_000)
    p.add_argument("--prefect-due", type=int, default=10_000)
    p.add_argument("--no-large", action="store_true")
    p.add_argument("--no-prefect", action="store_true")
    p.add_argument("--port", type=int, default=4391)
    args = p.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    server = None
    if not args.no_prefect:
        from flows.serve import start_server

        t0 = time.perf_counter()
        os.environ.pop("PREFECT_API_URL", None)
        server = start_server(args.port)
        print(
            f"Prefect server on 127.0.0.1:{args.port} started in "
            f"{time.perf_counter() - t0:.1f} s (not counted)",
            flush=True,
        )
    try:
        warm = WORK / "warm.db"
        build(warm, 10, 10, now)
        direct_sweep(warm)  # the process's first sweep compiles its statements (not counted)
        pristine_small = WORK / "small-pristine.db"
        secs = build(pristine_small, args.small, min(args.due, args.small), now)
        print(f"built {args.small:,} complaints ({args.due:,} due) in {secs:.1f} s", flush=True)
        small = WORK / "small.db"
        best = []
        for _ in range(2):  # best of two on fresh copies: the machine is shared and noisy
            shutil.copy(pristine_small, small)
            best.append(direct_sweep(small))
        t_small, n_small = min(best)
        print(
            f"sweep, {args.small:>9,} complaints: {t_small:6.2f} s for {n_small:,} escalations "
            f"({n_small / t_small:,.0f}/s)",
            flush=True,
        )
        t_large = None
        if not args.no_large:
            large = WORK / "large.db"
            secs = build(large, args.large, args.due, now)
            print(f"built {args.large:,} complaints ({args.due:,} due) in {secs:.1f} s", flush=True)
            t_large, n_large = direct_sweep(large)
            print(
                f"sweep, {args.large:>9,} complaints: {t_large:6.2f} s for {n_large:,} "
                f"escalations ({n_large / t_large:,.0f}/s)",
                flush=True,
            )
            large.unlink()
        if server is not None:
            pristine = WORK / "prefect.db"
            build(pristine, args.prefect_due, args.prefect_due, now)
            build(warm, 10, 0, now)
            flow_sweep(warm)  # first run of the process: client and API set-up (not counted)
            runs = []
            for _ in range(2):  # alternate, keep the best of each (a shared, noisy machine)
                for kind, fn in (("direct", direct_sweep), ("flow", flow_sweep)):
                    copy = WORK / f"{kind}.db"
                    shutil.copy(pristine, copy)
                    secs, n = fn(copy)
                    assert n == args.prefect_due, (kind, n)
                    runs.append((kind, secs))
            direct = min(s for k, s in runs if k == "direct")
            flowed = min(s for k, s in runs if k == "flow")
            print(
                f"{args.prefect_due:,} due escalations: direct {direct:.2f} s, "
                f"Prefect flow {flowed:.2f} s",
                flush=True,
            )
            print(f"prefect_overhead={flowed / direct:.2f}")
        if t_large is not None:
            print(f"ratio={t_large / t_small:.2f}")
    finally:
        if server is not None:
            from prefect.logging.handlers import APILogWorker

            from flows.serve import stop_server

            try:
                APILogWorker.drain_all(timeout=5)  # the runs' last log lines, before it goes
            finally:
                stop_server(server)


if __name__ == "__main__":
    main()
