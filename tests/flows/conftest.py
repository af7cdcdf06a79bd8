"""One Prefect test server for the whole session (about 20 s to build its database,
STACK_NOTES), used only by the few tests that run the flows themselves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    import flows.runtime  # noqa: F401  (Prefect's environment before Prefect is imported)
    from flows.runtime import quick_runs

    with prefect_test_harness(server_startup_timeout=120), quick_runs():
        yield
