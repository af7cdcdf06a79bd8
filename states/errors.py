"""Domain errors. Each maps to one CLI exit code in cli/errors.py; messages are zh-CN."""

from __future__ import annotations


class TousuError(Exception):
    """Base of every error a user can cause; never shown with a traceback."""

    exit_code = 1


class InvalidInput(TousuError):
    """A field is missing or malformed; `field` names it."""

    exit_code = 2

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class Forbidden(TousuError):
    """The action is not allowed: wrong state, wrong role, or a failed guard."""

    exit_code = 3


class NotFound(TousuError):
    exit_code = 4


class Conflict(TousuError):
    """Someone else changed the complaint first (optimistic locking)."""

    exit_code = 5
