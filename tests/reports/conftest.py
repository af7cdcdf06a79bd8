"""The command-line fixtures for `tousu import` and `tousu report`."""

from tests.cli.conftest import cli_env, tousu  # noqa: F401 - fixtures
