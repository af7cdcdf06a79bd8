"""Hostile input at scale: every `tousu` command driven with random and adversarial values
(tests/fuzzing.py, the same strategies and checks as tests/cli/test_fuzz.py) N times against
a fresh migrated database with one user per role and a few complaints.

A run counts as a traceback when it printed one, let an exception escape, or exited with a
code outside {0, 2, 3, 4, 5, 6} (1 is the exit of a bug); a write on failure when a command
that did not succeed changed any table (the audit of refusals aside). The first few of each
are printed with their command line.

    .venv/bin/python bench/fuzz.py [--inputs 10000] [--pg postgresql+psycopg://…/db] [--seed N]
Last line: tracebacks=<n>  (target 0)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from cli.main import app  # noqa: E402
from services.context import open_context  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.timeutil import utcnow  # noqa: E402
from tests.conftest import make_config, seed_users  # noqa: E402
from tests.fuzzing import Outcome, described, invocations, run_one, seeded_numbers, shapes  # noqa: E402

SHOWN = 5  # failures printed in full, of each kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=10_000)
    parser.add_argument("--pg", help="an empty PostgreSQL database URL (default: SQLite file)")
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default random)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="tousu-fuzz-"))
    # Relative paths the fuzzer gives (`report --out 2`) land in the scratch directory.
    os.chdir(root)
    url = args.pg or f"sqlite:///{root / 'fuzz.db'}"
    upgrade(url)
    ctx = open_context(make_config(root, url))
    seed_users(ctx)
    numbers = seeded_numbers(ctx, utcnow())
    env = {
        "TOUSU_DATABASE_URL": url,
        "TOUSU_KEY": ctx.config.key,
        "TOUSU_ROOT": str(root),
        "TOUSU_USER": "",
        # a single-user local setup: --user names who acts ([cli] single_user, docs/web.md)
        "TOUSU__CLI__SINGLE_USER": "true",
        "TOUSU_CONFIG": "",
        "COLUMNS": "200",
    }
    runner = CliRunner()
    runner.invoke(app, ["queue", "--user", "supervisor"], env=env)  # first start: key check
    commands = shapes()
    exits: Counter[int] = Counter()
    tracebacks: list[Outcome] = []
    writes: list[Outcome] = []
    started = time.perf_counter()

    @settings(
        max_examples=args.inputs,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        argv = data.draw(invocations(commands, numbers))
        outcome = run_one(runner, env, argv, ctx.engine)
        exits[outcome.exit_code] += 1
        if outcome.traceback:
            tracebacks.append(outcome)
        if outcome.wrote_on_failure:
            writes.append(outcome)
        done = sum(exits.values())
        if done % 1000 == 0:
            print(f"  {done} inputs, {len(tracebacks)} tracebacks", flush=True)

    if args.seed is not None:
        fuzz = seed(args.seed)(fuzz)
    fuzz()
    ctx.close()

    for title, found in (("traceback", tracebacks), ("write on failure", writes)):
        for outcome in found[:SHOWN]:
            print(f"--- {title}: {described(outcome)}")
    total = sum(exits.values())
    spent = time.perf_counter() - started
    print(f"database: {'PostgreSQL' if args.pg else 'SQLite'}; commands: {len(commands)}")
    print(f"inputs={total} in {spent:.0f} s; exit codes: {dict(sorted(exits.items()))}")
    print(f"writes_on_failure={len(writes)}")
    print(f"tracebacks={len(tracebacks)}")


if __name__ == "__main__":
    main()
