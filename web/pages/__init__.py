"""The server-rendered workspace (issue 19): one router per page family, on the same services
as the CLI. `router` holds them all for web/app.py."""

from __future__ import annotations

from fastapi import APIRouter

from web.pages import case, dashboard, downloads, queue, register, users

router = APIRouter(include_in_schema=False)
for _module in (queue, case, register, dashboard, downloads, users):
    router.include_router(_module.router)
