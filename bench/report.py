"""Peak memory of the monthly report over 1,000,000 complaints (target: under 300 MB).

Run from the project root: `.venv/bin/python bench/report.py [--n 1000000] [--rebuild]`.

The database (data/bench/report_<n>.db, kept between runs) is built with the demo generator's
distributions and lifecycle timelines (13 months, ≈10% regulator-forwarded, ≈8% repeats),
written with plain sqlite3 executemany: complaints, their clock rows (acceptance, internal
target, decision, investigation) and their history (register, accept, decide, notify, close,
consult, mediate, settle, end_mediation, escalate). Personal data is not needed by reports, so
every complaint points at one placeholder party.

Then a fresh child process produces the report for the last full month exactly as `tousu
report` does (metrics, the Excel workbook with its native charts and print setup, HTML,
outbox notice) and measures its own peak resident set as VmHWM from /proc/self/status (peak
resident set of the whole process: interpreter, imports, SQLite page cache, rendering).
resource.getrusage(RUSAGE_SELF).ru_maxrss is printed beside it but not used: Linux carries a
parent's size at fork into a child's ru_maxrss (the database is built in a separate process
for the same reason). The last line is `peak_mb=<value>`.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KEY = "xHrqHxB3N7kZ0Vt6lq2jz1m5Yg8Qp3cS9uWdE4aKf0o="
HANDLERS = [f"handler{i:02d}" for i in range(40)]
STATE = {
    "registered": "registered",
    "investigating": "investigating",
    "consulting": "consulting",
    "mediating": "mediating",
    "settled": "closed",
    "mediation_failed": "negotiating",
    "decided": "decided",
    "notified": "notified",
    "closed": "closed",
    "withdrawn": "withdrawn",
}


def ts(value: datetime | None) -> str | None:
    """SQLAlchemy's SQLite DATETIME text for an aware UTC time."""
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def env(db: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TOUSU_ROOT": str(ROOT),
        "TOUSU_KEY": KEY,
        "TOUSU_DATABASE_URL": f"sqlite:///{db}",
    }


def build(db: Path, n: int, now: datetime) -> None:
    from config import load_config
    from demo.data import Generator
    from storage.migrate import upgrade

    tmp = db.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    upgrade(f"sqlite:///{tmp}")
    cfg = load_config(environ={"TOUSU_KEY": KEY})
    con = sqlite3.connect(tmp)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    stamp = ts(now)
    con.execute(
        "INSERT INTO party (id, kind, name_enc, name_hash, id_type, created_at) "
        "VALUES (1, 'person', 'x', 'x', 'resident_id', ?)",
        (stamp,),
    )
    con.executemany(
        'INSERT INTO "user" (username, name, role, team, branch, email, active, '
        "created_at) VALUES (?, ?, ?, '', 'head_office', '', 1, ?)",
        [(h, f"处理人{i:02d}", "liaison", stamp) for i, h in enumerate(HANDLERS)]
        + [("system", "系统", "system", stamp), ("wang", "王主管", "supervisor", stamp)],
    )
    ccols = (
        "id",
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
        "accepted_at",
        "decided_at",
        "notified_at",
        "closed_at",
        "last_event_at",
        "complainant_id",
        "complainant_capacity",
        "complainant_hash",
        "claim",
        "facts",
        "policy_no",
        "amount",
        "regulator_forwarded",
        "regulator_ref",
        "group_size",
        "media_involved",
        "vulnerable",
        "decided_by_branch",
        "extension_level",
        "escalation_level",
        "linked_to_id",
        "details",
    )
    ins_c = f"INSERT INTO complaint ({', '.join(ccols)}) VALUES ({', '.join('?' * len(ccols))})"
    ins_d = (
        "INSERT INTO deadline (complaint_id, name, status, started_at, allowance, "
        "paused_seconds, due_at, warnings, verified, rule, met_at) "
        "VALUES (?, ?, ?, ?, ?, 0, ?, '[]', 1, '', ?)"
    )
    ins_e = (
        "INSERT INTO event (complaint_id, seq, action, from_state, to_state, actor, role, "
        "at, recorded_at, details) VALUES (?, ?, ?, NULL, NULL, ?, ?, ?, ?, ?)"
    )
    gen = Generator(cfg.taxonomy, now=now, seed=2026, name_pool=300)
    cs, ds, es = [], [], []
    first_key: dict[int, str] = {}
    t0 = time.perf_counter()
    for case in gen.cases(n):
        cid = case.index + 1
        reg, t = case.registration, case.timeline
        key = first_key.get(case.repeat_of, f"h{cid}") if case.repeat_of is not None else f"h{cid}"
        first_key[case.index] = key
        received = reg.received_at
        assert received is not None  # the generator dates every case it makes
        owner = HANDLERS[cid % len(HANDLERS)] if t.accepted else None
        events: list[tuple[str, datetime, dict[str, object]]] = [("register", received, {})]
        if t.accepted:
            events.append(("accept", t.accepted, {}))
        if t.escalated:
            events.append(("escalate", t.escalated, {"level": 1 + cid % 3}))
        if t.consulted:
            events.append(("consult", t.consulted, {}))
        if t.mediated:
            events.append(("mediate", t.mediated, {}))
        if t.mediation_ended:
            events.append(
                ("settle" if t.stage == "settled" else "end_mediation", t.mediation_ended, {})
            )
        for action, moment in (
            ("decide", t.decided),
            ("notify", t.notified),
            ("withdraw", t.withdrawn),
        ):
            if moment:
                events.append((action, moment, {}))
        if t.closed and t.stage == "closed":
            events.append(("close", t.closed, {}))
        closed = t.closed or t.withdrawn
        cs.append(
            (
                cid,
                f"TS{cid:012d}",
                STATE[t.stage],
                1,
                len(events),
                "normal",
                "[]",
                reg.category,
                reg.product,
                reg.channel,
                reg.branch,
                owner,
                "system",
                ts(received),
                ts(received),
                ts(t.accepted),
                ts(t.decided),
                ts(t.notified),
                ts(closed),
                ts(max(m for _, m, _ in events)),
                1,
                "consumer",
                key,
                reg.claim,
                reg.facts,
                reg.policy_no,
                reg.amount,
                int(reg.channel == "regulator"),
                reg.regulator_ref,
                reg.group_size,
                int(reg.media_involved),
                int(reg.vulnerable),
                0,
                0,
                1 if t.escalated else 0,
                (case.repeat_of + 1) if case.repeat_of is not None else None,
                "{}",
            )
        )
        ended = "stopped" if t.withdrawn or t.stage == "settled" else "running"
        paused = "paused" if t.stage == "mediating" else ended
        clocks: tuple[tuple[str, datetime | None, int, datetime, datetime | None, str], ...] = (
            ("acceptance", received, 24, received + timedelta(hours=24), t.accepted, ended),
            ("internal_target", received, 7, received + timedelta(days=7), t.notified, paused),
            ("decision", received, 15, received + timedelta(days=15), t.notified, paused),
            (
                "investigation",
                t.accepted,
                5,
                (t.accepted or now) + timedelta(days=7),
                t.decided or t.mediated,
                paused,
            ),
        )
        for name, start, allowance, due, met, open_status in clocks:
            if start is None:
                continue
            ds.append(
                (cid, name, "met" if met else open_status, ts(start), allowance, ts(due), ts(met))
            )
        for seq, (action, moment, details) in enumerate(events, 1):
            es.append(
                (cid, seq, action, "system", "system", ts(moment), ts(moment), json.dumps(details))
            )
        if len(cs) >= 50_000:
            con.executemany(ins_c, cs)
            con.executemany(ins_d, ds)
            con.executemany(ins_e, es)
            con.commit()
            cs, ds, es = [], [], []
            done = case.index + 1
            print(f"  built {done:,} complaints ({time.perf_counter() - t0:.0f} s)", flush=True)
    con.executemany(ins_c, cs)
    con.executemany(ins_d, ds)
    con.executemany(ins_e, es)
    con.commit()
    con.execute("ANALYZE")
    con.close()
    tmp.rename(db)


CHILD = """
import resource, sys, time
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
from services.context import open_context
from services.reporting.periods import last_full_month
from services.reporting.files import produce
from storage.timeutil import utcnow
ctx = open_context()
period = last_full_month(utcnow().astimezone(ctx.tz).date())
done = produce(ctx, period, actor="system", out_dir=ctx.config.data_dir / "bench" / "reports")
ctx.close()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
hwm = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
print(f"report {{done.period}}: {{done.volume:,}} complaints in the month, "
      f"{{time.perf_counter() - t0:.1f}} s; {{done.excel}}")
print(f"ru_maxrss {{peak:.1f}} MB (includes the parent's size at fork, Linux)")
print(f"child_peak_mb={{hwm:.1f}}")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    db = ROOT / "data" / "bench" / f"report_{args.n}.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    if args.build_only:
        build(db, args.n, datetime.now(UTC))
        return
    if args.rebuild or not db.exists():
        print(f"building {db} with {args.n:,} complaints ...", flush=True)
        t0 = time.perf_counter()
        # In its own process: Linux carries a parent's peak RSS into a forked child's
        # ru_maxrss, so the big build must not be the parent of the measured report.
        subprocess.run(
            [sys.executable, __file__, "--build-only", "--n", str(args.n)], check=True, cwd=ROOT
        )
        print(f"built in {time.perf_counter() - t0:.0f} s, {db.stat().st_size / 1e6:,.0f} MB")
    from storage.migrate import upgrade

    upgrade(f"sqlite:///{db}")  # a cached database gets later migrations (e.g. indexes) too
    con = sqlite3.connect(db)
    total = con.execute("SELECT count(*) FROM complaint").fetchone()[0]
    events = con.execute("SELECT max(id) FROM event").fetchone()[0]
    con.close()
    print(f"database: {total:,} complaints, {events:,} events")
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(root=str(ROOT))],
        env=env(db),
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if out.returncode != 0:
        sys.exit(out.stderr)
    lines = out.stdout.strip().splitlines()
    print("\n".join(lines[:-1]))
    peak = float(lines[-1].split("=")[1])
    print("peak = VmHWM (peak resident set) of the report process, from /proc/self/status")
    print(f"peak_mb={peak:.1f}")


if __name__ == "__main__":
    main()
