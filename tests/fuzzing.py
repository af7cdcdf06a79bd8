"""Hostile input for every `tousu` command (issue 14, Proof): Hypothesis strategies that drive
each command's arguments and options with random and adversarial values, and the check of one
run. Used by tests/cli/test_fuzz.py (a few dozen runs per database) and bench/fuzz.py (10,000).

A run is good when it exits 0, 2, 3, 4, 5 or 6, prints no traceback, and, unless it
succeeded, left every table as it was (refusals are audited by design, in `access_refusal`
and `special_attention_audit`: those tables alone are left out of the comparison).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import MetaData, func, literal, select, union_all
from sqlalchemy.engine import Engine
from typer import _click as click
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.testing import CliRunner

GOOD_EXITS = frozenset({0, 2, 3, 4, 5, 6})
# Commands whose work reaches outside the database under test, or replaces what the runs
# share: starting servers (serve), migrating (db), delivering alerts (notifications, notify
# dispatch/test/digest), creating or rotating the personal-data key (key).
SKIPPED = ("serve", "db", "notifications", "notify dispatch", "notify test", "notify digest")
SKIPPED_PREFIXES = ("key",)
# Tables a refused command may write: the audits of refusals (who tried what, when).
AUDIT_TABLES = frozenset({"access_refusal", "special_attention_audit"})

ADVERSARIAL = (
    "",
    " ",
    "   ",
    "\t\n",
    "\x00",
    "a\x00b",
    "\x1b[31m红\x1b[0m",
    "\x1b]8;;http://evil.example\x07点我\x1b]8;;\x07",
    "\x07",
    "\x7f",
    "\u0085",
    "\u202e反转\u202c",
    "\u2066隔离",
    "\ufeff",
    "\udcff\udcfe",  # invalid UTF-8 as Python receives it from a terminal
    "\ud800",
    "x" * 5000,
    "名" * 300,
    "9" * 40,
    "-1",
    "-5",
    "0",
    "7",
    "2147483648",
    "9223372036854775808",
    "99999999999999999999",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e309",
    "1e400",
    "1,000,000,000,000,000",
    "0001-01-01",
    "9999-12-31T23:59",
    "2026-02-30",
    "2026-13-01",
    "0000-01",
    "9999-12",
    "0000Q1",
    "2026Q5",
    "2026-11-25T10:30+14:00",
    "2026-11-25T10:30-12:00",
    "--",
    "-",
    "--json",
    "../../../etc/passwd",
    "/",
    "/dev/null",
    "'; DROP TABLE complaint; --",
    "<script>alert(1)</script>",
    "\n### 伪造\n[登录](http://evil.example)",
    "１３８００１３８０００",
    "１１０１０５１９４９１２３１００２Ｘ",
    "138-0013-8000",
    "00000000000",
    "TS000000000000000",
    "😀" * 10,
)
PLAUSIBLE = (
    "13800138000",
    "010-62345678",
    "11010519491231002X",
    "2026-10",
    "2026Q3",
    "2026-11-20",
    "2026-11-24T09:00",
    "hotline",
    "claims",
    "medical",
    "beijing",
    "head_office",
    "normal",
    "key",
    "major",
    "30",
    "60",
    "1",
    "2",
    "8600",
    "open",
    "resolved",
    "satisfied",
    "phone",
    "sms",
    "not_entitled",
    "要求赔付",
    "住院后申请理赔, 30 日未获答复",
)
USERS = ("clerk", "investigator", "coordinator", "liaison", "supervisor", "committee", "admin")


def values(pool: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    """A value for any argument or option: adversarial, plausible, or random text (which
    includes lone surrogates, controls and private-use characters)."""
    return st.one_of(
        st.sampled_from(ADVERSARIAL),
        st.sampled_from(PLAUSIBLE + pool),
        st.text(st.characters(exclude_categories=()), max_size=40),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
    )


@dataclass(frozen=True)
class Shape:
    """One command's path and parameters, as the fuzzer needs them."""

    path: tuple[str, ...]
    arguments: tuple[tuple[str, int], ...]  # (name, nargs)
    options: tuple[tuple[str, bool], ...]  # (first flag, is a flag)


def shapes() -> list[Shape]:
    """Every command `tousu` offers, walked from its root group (lazy commands built)."""
    import typer.main

    from cli.main import app

    root = typer.main.get_command(app)
    found: list[Shape] = []

    def walk(cmd: click.Command, path: tuple[str, ...], ctx: click.Context) -> None:
        joined = " ".join(path)
        if path and (
            joined in SKIPPED or path[0] in SKIPPED or path[0].startswith(SKIPPED_PREFIXES)
        ):
            return
        if isinstance(cmd, TyperGroup):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                if sub is not None:
                    walk(sub, (*path, name), click.Context(sub, parent=ctx, info_name=name))
            if not path or not any(isinstance(p, TyperOption) for p in cmd.params):
                return  # a group that only dispatches (its own options: e.g. `report`)
        arguments, options = [], []
        for p in cmd.params:
            if isinstance(p, TyperArgument):
                arguments.append((str(p.name), p.nargs))
            elif p.opts and p.opts[0].startswith("--") and p.name not in ("help",):
                options.append((p.opts[0], bool(getattr(p, "is_flag", False))))
        found.append(Shape(path, tuple(arguments), tuple(options)))

    walk(root, (), click.Context(root, info_name="tousu"))
    return found


def invocations(
    commands: list[Shape], numbers: tuple[str, ...] = ()
) -> st.SearchStrategy[list[str]]:
    """argv for one run: a command, its arguments, some of its options with values."""

    @st.composite
    def build(draw: Any) -> list[str]:
        shape = draw(st.sampled_from(commands))
        pool = tuple(numbers)
        argv = list(shape.path)
        for _name, nargs in shape.arguments:
            count = draw(st.integers(1, 3)) if nargs == -1 else nargs
            for _ in range(count):
                argv.append(draw(st.one_of(st.sampled_from(pool or ("TS0",)), values(pool))))
        chosen = draw(st.lists(st.sampled_from(shape.options), max_size=6, unique=True))
        for flag, is_flag in chosen:
            if flag == "--user":
                argv += [flag, draw(st.one_of(st.sampled_from(USERS), values()))]
            elif is_flag:
                argv.append(flag)
            else:
                argv += [flag, draw(values(pool))]
        if all(flag != "--user" for flag, _ in chosen):
            argv += ["--user", draw(st.sampled_from(USERS))]
        return argv

    return build()


_COUNTS: dict[str, Any] = {}


def _counting(engine: Engine) -> Any:
    """One statement counting the rows of every table but the audit of refusals, plus the
    complaints' version sum (built once per database)."""
    key = str(engine.url)
    if key not in _COUNTS:
        meta = MetaData()
        meta.reflect(engine)
        parts = [
            select(literal(name).label("name"), func.count().label("n")).select_from(table)
            for name, table in sorted(meta.tables.items())
            if name not in AUDIT_TABLES and not name.startswith("alembic")
        ]
        complaint = meta.tables["complaint"]
        parts.append(
            select(
                literal("complaint.version").label("name"),
                func.coalesce(func.sum(complaint.c.version), 0).label("n"),
            )
        )
        _COUNTS[key] = union_all(*parts)
    return _COUNTS[key]


def fingerprint(engine: Engine) -> dict[str, int]:
    """What a refused command must leave unchanged: each table's row count (the audit of
    refusals aside) and the complaints' version sum."""
    with engine.connect() as conn:
        return {str(r.name): int(r.n) for r in conn.execute(_counting(engine))}


@dataclass
class Outcome:
    argv: list[str]
    exit_code: int
    traceback: bool  # a traceback printed, an exception escaped, or exit 1 (a bug)
    wrote_on_failure: bool
    output: str


def run_one(runner: CliRunner, env: dict[str, str], argv: list[str], engine: Engine) -> Outcome:
    from cli.main import app

    before = fingerprint(engine)
    result = runner.invoke(app, argv, env=env)
    output = result.output
    escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
    bug = escaped or "Traceback" in output or result.exit_code not in GOOD_EXITS
    wrote = result.exit_code != 0 and fingerprint(engine) != before
    return Outcome(argv, result.exit_code, bug, wrote, output)


def described(outcome: Outcome) -> str:
    return f"exit {outcome.exit_code} for tousu {outcome.argv!r}:\n{outcome.output[-2000:]}"


def seeded_numbers(ctx: Any, now: Any) -> tuple[str, ...]:
    """A few complaints in different states for the runs to act on."""
    from datetime import timedelta

    from tests.factories import accepted, registered

    return (
        registered(ctx, now - timedelta(hours=3)),
        accepted(ctx, now - timedelta(days=2)),
        accepted(ctx, now - timedelta(days=20)),
    )
