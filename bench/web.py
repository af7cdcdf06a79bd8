"""The web workspace under load: 16 clients on 1,000,000 complaints (SQLite), and on 10,000.

Run from the project root: `.venv/bin/python bench/web.py [--rows 1000000] [--small 10000]
[--clients 16] [--seconds 20] [--workers 2] [--rebuild]`.

The databases are built as bench/cli_latency.py builds them (kept under data/bench/ while
their row count matches): 200 liaisons with about 250 open cases each, 5 % of the complaints
open. Each run gives one liaison and one supervisor a password, starts `tousu web
--workers N` (web/server.py) as its own process on a loopback port, logs every client in
through the login form, and then, for `--seconds` each:

1. the trivial health endpoint `/healthz` (the floor: the same server, the same clients);
2. the mix: a liaison's queue `/` (4 in 10), a case page `/cases/N` (4 in 10), the
   supervisor's dashboard `/dashboard` (1 in 10) and one action through its form, `facts`
   (update_facts) on one of the liaison's open cases (1 in 10; version conflicts count as
   answered, they are the product doing its job).

Each measurement runs on a fresh copy of the built database (removed afterwards), so that no
run sees the events an earlier run's actions added. Then the same mix on the small database
for p95 at 10,000. Every request must answer 2xx/3xx
(409 for a version conflict in an action); anything else is counted and printed.

Lines: p50/p95 (ms) and requests/s per phase, then `scale=<p95 at rows ÷ p95 at small>`
(target ≤ 1.5) and last `ratio=<mix req/s ÷ health req/s at rows>` (target ≥ 0.25).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.util
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PASSWORD = "bench-Passw0rd-2026"
LIAISON, SUPERVISOR = "li0007", "sup_beijing"


def _cli_latency():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "bench_cli_latency", ROOT / "bench" / "cli_latency.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prepare(rows: int, rebuild: bool) -> Path:
    """The database of `rows` complaints (built once), with the two users' passwords."""
    cl = _cli_latency()
    db = ROOT / "data" / "bench" / f"cli_latency_{rows}.db"
    if rebuild or cl._count(db) != rows:
        # A child process: building imports the services with this database's settings.
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "cli_latency.py"),
                "--rows",
                str(rows),
                "--repeat",
                "0",
                "--build-only",
                *(["--rebuild"] if rebuild else []),
            ],
            check=True,
        )
    subprocess.run([sys.executable, __file__, "--set-passwords", str(db)], check=True, env=env(db))
    return db


def env(db: Path) -> dict[str, str]:
    cl = _cli_latency()
    return {**cl._env(db), "TOUSU_ROOT": str(ROOT)}


def set_passwords(db: Path) -> None:
    from config import load_config
    from services import identity
    from services.context import open_context
    from storage.migrate import upgrade

    upgrade(f"sqlite:///{db}")  # a database built before a newer revision gets its tables
    ctx = open_context(load_config())
    try:
        for username in (LIAISON, SUPERVISOR):
            identity.reset_password(ctx, username, PASSWORD, actor="admin", must_change=False)
    finally:
        ctx.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, db: Path, workers: int) -> None:
        self.port = free_port()
        # The product's own command (web/server.py), as a deployment starts it.
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "tousu"),
                "web",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            env=env(db),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its workers are stopped with it (stop())
        )
        # Every worker answering, not just the first: a worker counts the dashboard before it
        # listens (web/app.py), and clients that connect while only one listens all stay on
        # that one, halving whichever phase comes first.
        deadline = time.monotonic() + 180
        seen: set[int] = set()
        while time.monotonic() < deadline and len(seen) < workers:
            with contextlib.suppress(OSError):  # not listening yet
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                response = conn.getresponse()
                if response.status == 200:
                    seen.add(json.loads(response.read())["worker"])
                conn.close()
            time.sleep(0.05)
        if len(seen) < workers:
            self.stop()
            raise SystemExit(f"{len(seen)} of {workers} web workers answered /healthz in 180 s")

    def stop(self) -> None:
        """The server and its worker processes (one process group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION = re.compile(r'name="expected_version" value="(\d+)"')


@dataclass
class Client:
    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    conn: http.client.HTTPConnection | None = None
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)

    def request(
        self, method: str, path: str, body: dict[str, str] | None = None
    ) -> tuple[int, str]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closed an idle keep-alive connection: one new connection, once.
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.split(";", 1)[0].partition("=")
                self.cookies[key.strip()] = rest.strip().strip('"')
        return response.status, text

    def login(self, username: str) -> None:
        status, page = self.request("GET", "/login")
        token = CSRF.search(page)
        form = {"username": username, "password": PASSWORD}
        if token:
            form["csrf_token"] = token.group(1)
        status, _ = self.request("POST", "/login", form)
        if status not in (200, 303) or "tousu_session" not in self.cookies:
            raise SystemExit(f"login of {username} failed: HTTP {status}")

    def timed(self, kind: str, method: str, path: str, body: dict[str, str] | None = None) -> str:
        t0 = time.perf_counter()
        status, text = self.request(method, path, body)
        self.latencies.setdefault(kind, []).append(time.perf_counter() - t0)
        ok = 200 <= status < 400 or (kind == "action" and status == 409)
        self.statuses[f"{kind} {status}" if not ok else "ok"] += 1
        return text


def _clients(
    port: int,
    clients: int,
    first: int,
    seconds: float,
    work: str,
    cases: list[str],
    ready: Any,
    results: Any,
) -> None:
    """One load process: `clients` threads, each a liaison and a supervisor session, for
    `seconds` from the moment every process is ready; puts (latencies by kind, statuses,
    elapsed) on `results`."""
    people = []
    for i in range(first, first + clients):
        liaison = Client(port)
        supervisor = Client(port)
        if work == "mix":
            liaison.login(LIAISON)
            supervisor.login(SUPERVISOR)
        people.append((liaison, supervisor, random.Random(i)))
    ready.wait()
    stop = time.perf_counter() + seconds

    def loop(liaison: Client, supervisor: Client, rnd: random.Random) -> None:
        while time.perf_counter() < stop:
            if work == "health":
                liaison.timed("health", "GET", "/healthz")
                continue
            pick = rnd.random()
            number = rnd.choice(cases)
            if pick < 0.4:
                liaison.timed("queue", "GET", "/")
            elif pick < 0.8:
                liaison.timed("case", "GET", f"/cases/{number}")
            elif pick < 0.9:
                supervisor.timed("dashboard", "GET", "/dashboard")
            else:
                page = liaison.timed("case", "GET", f"/cases/{number}")
                csrf, version = CSRF.search(page), VERSION.search(page)
                form = {"reason": "核实后更正金额", "amount": f"{rnd.randrange(100, 99999)}"}
                if csrf:
                    form["csrf_token"] = csrf.group(1)
                if version:
                    form["expected_version"] = version.group(1)
                liaison.timed("action", "POST", f"/cases/{number}/actions/update_facts", form)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=loop, args=p) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    kinds: dict[str, list[float]] = {}
    statuses: Counter[str] = Counter()
    for liaison, supervisor, _ in people:
        for c in (liaison, supervisor):
            for kind, values in c.latencies.items():
                kinds.setdefault(kind, []).extend(values)
            statuses.update(c.statuses)
    results.put((kinds, statuses, elapsed))


def run_phase(
    port: int, clients: int, procs: int, seconds: float, work: str, cases: list[str]
) -> tuple[list[float], int, Counter[str]]:
    """`clients` clients in `procs` processes (so the load is not one interpreter's lock)
    for `seconds`; (latencies, requests answered per second, status counts)."""
    mp = multiprocessing.get_context("fork")
    procs = max(1, min(procs, clients))
    ready, results = mp.Barrier(procs), mp.Queue()
    shares = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    children = []
    for i, share in enumerate(shares):
        child = mp.Process(
            target=_clients,
            args=(port, share, sum(shares[:i]), seconds, work, cases, ready, results),
        )
        child.start()
        children.append(child)
    gathered = [results.get(timeout=seconds + 300) for _ in children]
    for child in children:
        child.join()
    latencies: list[float] = []
    kinds: dict[str, list[float]] = {}
    statuses: Counter[str] = Counter()
    for got, counted, _ in gathered:
        for kind, values in got.items():
            latencies.extend(values)
            kinds.setdefault(kind, []).extend(values)
        statuses.update(counted)
    elapsed = max(e for _, _, e in gathered)
    if len(kinds) > 1:
        for kind, values in sorted(kinds.items()):
            if len(values) >= 2:
                print(
                    f"    {kind:<10} p50 {percentile(values, 50):7.1f} ms  "
                    f"p95 {percentile(values, 95):7.1f} ms  ({len(values):,})"
                )
    return latencies, int(len(latencies) / elapsed), statuses


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000


def run_copy(db: Path) -> Path:
    """A copy of the built database for one run: the mix's actions add events to the cases
    it shows, so measuring on the built file itself would make every run's case pages longer
    than the last one's (a hundred runs, a hundred more events a case)."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the copy is the one file
    copy = db.with_name(f"web_run_{db.name}")
    for leftover in (copy, Path(f"{copy}-wal"), Path(f"{copy}-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(db, copy)
    return copy


def measure(built: Path, args: argparse.Namespace, *, health: bool) -> dict[str, float]:
    db = run_copy(built)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        cases = [
            r[0]
            for r in conn.execute(
                "SELECT number FROM complaint WHERE owner = ? AND state != 'closed'", (LIAISON,)
            )
        ]
    server = Server(db, args.workers)
    try:
        result: dict[str, float] = {}
        phases = (["health"] if health else []) + ["mix"]
        for work in phases:
            lat, rate, statuses = run_phase(
                server.port, args.clients, args.procs, args.seconds, work, cases
            )
            bad = {k: v for k, v in statuses.items() if k != "ok"}
            print(
                f"  {db.name} {work:<6} {rate:7d} req/s  p50 {percentile(lat, 50):7.1f} ms  "
                f"p95 {percentile(lat, 95):7.1f} ms  ({len(lat):,} requests"
                + (f"; failed: {bad}" if bad else "")
                + ")",
                flush=True,
            )
            result[f"{work}_rate"] = rate
            result[f"{work}_p95"] = percentile(lat, 95)
        return result
    finally:
        server.stop()
        for done in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            done.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--procs", type=int, default=4, help="load processes the clients share")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--set-passwords", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.set_passwords:
        set_passwords(args.set_passwords)
        return
    big, small = prepare(args.rows, args.rebuild), prepare(args.small, args.rebuild)
    print(
        f"clients={args.clients} in {args.procs} processes, seconds={args.seconds:g}, "
        f"server workers={args.workers}",
        flush=True,
    )
    at_big = measure(big, args, health=True)
    at_small = measure(small, args, health=False)
    print(f"scale={at_big['mix_p95'] / at_small['mix_p95']:.2f}")
    print(f"ratio={at_big['mix_rate'] / at_big['health_rate']:.3f}")


if __name__ == "__main__":
    main()
