"""A context with configuration overrides (TOUSU__SECTION__KEY) for the ledger tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.context import Context, open_context
from tests.conftest import make_config, seed_users


@pytest.fixture
def ctx_with(tmp_path: Path, sqlite_template: Path) -> Iterator[Callable[..., Context]]:
    made: list[Context] = []

    def build(**env: str) -> Context:
        db = tmp_path / f"t{len(made)}.db"
        shutil.copy(sqlite_template, db)
        context = open_context(make_config(tmp_path, f"sqlite:///{db}", **env))
        seed_users(context)
        made.append(context)
        return context

    yield build
    for context in made:
        context.close()
