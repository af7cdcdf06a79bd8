"""One Prefect test server for the whole session (about 20 s to build its database,
STACK_NOTES), used only by the few tests that run the flows themselves.

The clock: being session-scoped, the harness starts before the test's time travel
(tests/conftest.py), on the real clock, and its server runs in a subprocess that keeps the
real clock. The flows run in the test process at the suite instant; Prefect accepts their
run and state times although they differ from the server's clock (tried from 2026-02 to
2027-01 while the real date was 2026-11-30), so nothing here needs special handling."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cli.conftest import cli_env, tousu  # noqa: F401 - the CLI, for `tousu consult`
from tests.notifications.conftest import smtp  # noqa: F401 - the mail server, for the dispatch flow


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    import flows.runtime  # noqa: F401  (Prefect's environment before Prefect is imported)
    from flows.runtime import quick_runs

    with prefect_test_harness(server_startup_timeout=120), quick_runs():
        yield
