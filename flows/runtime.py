"""What every flow entry point needs: Prefect's environment and a tousu context.

Does not import Prefect at module level (the CLI imports this for `tousu serve`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from config import PROJECT_ROOT, load_config
from services.context import Context, open_context

# A project-local Prefect home, no telemetry, no API logging outside a run.
PREFECT_DEFAULTS = {
    "PREFECT_HOME": str(PROJECT_ROOT / ".prefect"),
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def prefect_environment() -> None:
    """Set the defaults above unless the operator set them (before Prefect is imported)."""
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)


@contextmanager
def quick_runs() -> Iterator[None]:
    """No flow-run heartbeat: each synchronous flow call otherwise waits ~1 s joining the
    heartbeat thread (measured); the environment variable cannot express None."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


@contextmanager
def flow_context(database_url: str | None = None) -> Iterator[Context]:
    """tousu's own database: the flow parameter, else TOUSU_DATABASE_URL / configuration;
    closed when the flow's block ends, however it ends."""
    ctx = open_context(load_config(), url=database_url or None)
    try:
        yield ctx
    finally:
        ctx.close()


prefect_environment()
