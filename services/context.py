"""What every use case needs, built once at an entry point and passed down."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection, Engine

from config import Config, load_config
from states.calendar import WorkCalendar
from states.deadlines import Clock
from storage.db import make_engine
from storage.vault import Vault, load_key


@dataclass
class Context:
    config: Config
    engine: Engine
    clock: Clock
    tz: ZoneInfo
    _vault: Vault | None = field(default=None, repr=False)

    @property
    def vault(self) -> Vault:
        """Created on first use so that read-only commands never load the cipher."""
        if self._vault is None:
            self._vault = Vault(load_key(self.config.key_file, self.config.key))
        return self._vault

    def transaction(self) -> AbstractContextManager[Connection]:
        """One unit of work: `with ctx.transaction() as conn:` commits when the block ends and
        rolls back if it raises (the engine's own `begin()`, named for what it is here)."""
        return self.engine.begin()

    def close(self) -> None:
        self.engine.dispose()


def make_clock(config: Config) -> Clock:
    cal = config.calendar
    return Clock(
        rules=config.deadlines,
        ladder=config.escalation,
        calendar=WorkCalendar(cal.extra_holidays, cal.extra_workdays, cal.verified_years),
        tz=ZoneInfo(config.timezone),
        roll_forward=cal.holiday_roll_forward,
    )


def open_context(
    config: Config | None = None, *, url: str | None = None, migrate: bool = False
) -> Context:
    """Build the context; `migrate=True` applies pending migrations first."""
    config = config or load_config()
    if url:
        config = config.model_copy(update={"database_url": url})
    if migrate:
        from storage.migrate import upgrade

        upgrade(config.database_url)
    return Context(
        config=config,
        engine=make_engine(config.database_url),
        clock=make_clock(config),
        tz=ZoneInfo(config.timezone),
    )
