"""What routes take: the application's context and the instant of the request.

The acting user is proven, never declared: `web/auth.py` adds the dependencies that read a
session cookie (pages) or a bearer token (API) and return the user row.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import Request

from services.context import Context
from storage.timeutil import utcnow


def get_ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def now() -> datetime:
    """The instant of this request (time-machine travels it in tests)."""
    return utcnow()
