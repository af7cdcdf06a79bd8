"""Each action is declared once, on its row: these invariants keep the service functions, the
CLI commands, the effects and the follow-ups in step with the table, and the packages'
imports pointing one way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cli import actions as cli_actions
from cli.main import LAZY
from services.lifecycle import actions, effects, events
from states import lifecycle as lc

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cli", "config", "flows", "notifications", "services", "states", "storage", "demo")


@pytest.mark.parametrize("act", lc.ACTIONS, ids=lambda a: a.trigger)
def test_every_action_people_take_has_a_command_and_a_service_function(act: lc.Action) -> None:
    people = [r for r in act.roles if r is not lc.Role.system]
    if not people:
        assert not act.command, f"{act.trigger} is the system's alone: no command"
        return
    assert act.command, f"{act.trigger} is taken by {people} but has no command"
    assert act.command.split()[0] in LAZY
    function = getattr(actions, act.trigger, None)
    assert isinstance(function, actions.ActionFunction), f"services.lifecycle.actions.{act.trigger}"
    assert function.action is act


@pytest.mark.parametrize("act", [a for a in lc.ACTIONS if a.command], ids=lambda a: a.trigger)
def test_a_commands_options_are_the_rows_fields(act: lc.Action) -> None:
    command = cli_actions.command(act.command.split()[0])
    if len(act.command.split()) > 1:
        command = command.commands[act.command.split()[1]]  # type: ignore[attr-defined]
    flags = {opt for p in command.params for opt in getattr(p, "opts", [])}
    assert {f.flag_name for f in act.fields} <= flags
    assert {"--at", "--expect-version", "--user", "--json"} <= flags


def test_every_declared_effect_and_follow_up_has_its_one_implementation() -> None:
    subscribers = events.load_subscribers()
    for act in lc.ACTIONS:
        assert set(act.effects) <= effects.EFFECTS.keys(), act.trigger
        assert set(act.follow_ups) <= subscribers.keys(), act.trigger
        for column, name in act.copies:
            assert act.field(name), (act.trigger, column)
    assert set(lc.REGISTER_FOLLOW_UPS) <= subscribers.keys()
    declared = {n for a in lc.ACTIONS for n in a.follow_ups} | set(lc.REGISTER_FOLLOW_UPS)
    assert declared == set(subscribers), "a subscriber no row names, or a name no one serves"


def test_a_service_function_refuses_a_field_its_row_does_not_declare(ctx: object) -> None:
    with pytest.raises(TypeError, match="unknown fields"):
        actions.investigate(ctx, "TS1", actor="liaison", notes="typo")  # type: ignore[arg-type]


def _imports(path: Path, module: str) -> set[str]:
    """Project modules `path` imports, at any depth (function-level imports count too)."""
    found: set[str] = set()
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {m for m in found if m.split(".")[0] in PACKAGES}


def _graph() -> dict[str, set[str]]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "versions" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return {name: _imports(path, name) & modules.keys() - {name} for name, path in modules.items()}


def test_the_import_graph_of_the_packages_has_no_cycle() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def _private_uses(tree: ast.Module, modules: set[str]) -> list[str]:
    """`from x import _y`, and `m._y` on a project module `m` this file imported."""
    found, imported = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PACKAGES:
            found += [f"{node.module} {a.name}" for a in node.names if a.name.startswith("_")]
            imported |= {
                a.asname or a.name for a in node.names if f"{node.module}.{a.name}" in modules
            }
        elif isinstance(node, ast.Import):
            imported |= {a.asname or a.name for a in node.names if a.name in modules}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in imported
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{node.value.id}.{node.attr}")
    return found


def test_no_module_uses_another_modules_private_names() -> None:
    modules = set(_graph())
    offenders = [
        f"{path.relative_to(ROOT)}: {use}"
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        for use in _private_uses(ast.parse(path.read_text(encoding="utf-8")), modules)
    ]
    assert offenders == []
