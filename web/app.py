"""The ASGI application: `create_app()` for uvicorn (`tousu web`) and for tests.

Errors a user can cause (states/errors.py) become the HTTP status that matches the CLI's exit
code (cli/errors.py): 2 → 400, 3 → 403, 4 → 404, 5 → 409, 6 → 503; under /api as one JSON
object `{"error": kind, "exit_code": n, "message": ..., "field": ...}`, elsewhere as a page.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.context import Context
from states.errors import TousuError
from web.guard import Guard

HERE = Path(__file__).parent
_DICT_ATTRIBUTES = frozenset(dir(dict))


class PageEnvironment(Environment):
    """Jinja for the pages, whose rows are dicts: `row.number` looks the key up first.

    Jinja's own order is the attribute, then the key; for a dict every `row.number` first
    fails as an attribute (an exception raised and caught), which was a third of rendering a
    50-row queue. Names of dict methods (`items`, `get`, ...) keep Jinja's order, so
    `tax.categories.get(...)` still calls the method."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


templates = Jinja2Templates(
    env=PageEnvironment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(),
        # The templates ship with the code: no stat of every template on every render.
        auto_reload=False,
    )
)

# exit code (cli/errors.py) → HTTP status
STATUS = {2: 400, 3: 403, 4: 404, 5: 409, 6: 503}
KINDS = {2: "invalid_input", 3: "forbidden", 4: "not_found", 5: "conflict", 6: "unusable"}


def error_body(exc: TousuError) -> dict[str, Any]:
    code = exc.exit_code
    return {
        "error": KINDS.get(code, "error"),
        "exit_code": code,
        "message": getattr(exc, "reason", None) or str(exc),
        "field": getattr(exc, "field", None),
    }


def _open_ctx() -> Context:
    from cli.common import open_ctx

    return open_ctx()


def create_app(ctx: Context | None = None) -> FastAPI:
    """The application on `ctx` (tests pass theirs; `tousu web` opens the configured one and
    closes it at shutdown)."""
    owned = ctx is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owned:  # a server of its own (`tousu web`): the dashboard counted before it answers
            from starlette.concurrency import run_in_threadpool

            from services.reporting import dashboard
            from storage.timeutil import utcnow

            await run_in_threadpool(lambda: dashboard.warm(app.state.ctx, now=utcnow()))
        yield
        if owned:
            app.state.ctx.close()

    app = FastAPI(
        title="tousu 投诉处理",
        version="1",
        lifespan=lifespan,
        docs_url=None,  # served below from the vendored Swagger UI (no CDN)
        openapi_url="/api/v1/openapi.json",
        redoc_url=None,
    )
    app.state.ctx = ctx if ctx is not None else _open_ctx()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    web = app.state.ctx.config.section("web")
    app.add_middleware(
        Guard,
        max_body=int(web.get("max_body_bytes", 1024 * 1024)),
        max_upload=int(web.get("max_upload_bytes", 50 * 1024 * 1024)),
    )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """Under /api an unknown path (404) or method (405) answers in the API's one error
        shape; elsewhere FastAPI's own handling (the login redirect is a 303 raised here)."""
        if request.url.path.startswith("/api/") and exc.status_code >= 400:
            kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
            message = {404: "接口不存在", 405: "该接口不支持此请求方法"}.get(
                exc.status_code, str(exc.detail)
            )
            return JSONResponse(
                {
                    "error": kind,
                    "exit_code": 4 if exc.status_code == 404 else 2,
                    "message": message,
                    "field": None,
                },
                status_code=exc.status_code,
                headers=getattr(exc, "headers", None),
            )
        return await http_exception_handler(request, exc)

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> Response:
        """The API's documentation page, its script and style served from /static."""
        vendor = "/static/vendor/swagger-ui"
        return get_swagger_ui_html(
            openapi_url="/api/v1/openapi.json",
            title="tousu 接口文档",
            swagger_js_url=f"{vendor}/swagger-ui-bundle.js",
            swagger_css_url=f"{vendor}/swagger-ui.css",
            swagger_favicon_url=f"{vendor}/favicon-32x32.png",
        )

    @app.exception_handler(TousuError)
    async def tousu_error(request: Request, exc: TousuError) -> Response:
        status = STATUS.get(exc.exit_code, 400)
        body = error_body(exc)
        if request.url.path.startswith("/api/"):
            return JSONResponse(body, status_code=status)
        return templates.TemplateResponse(
            request, "error.html", {"error": body}, status_code=status
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str | int]:
        """Liveness, and the trivial endpoint bench/web.py measures the mix against. `worker`
        (the process) tells a check behind one address which of several workers answered."""
        return {"status": "ok", "worker": os.getpid()}

    # ---- Each room adds its router here with one line ------------------------------------
    __import__("web.auth").auth.install(app)  # login, logout, password; 401; csrf_token
    app.include_router(__import__("web.pages").pages.router)  # the workspace (web/pages/)
    app.include_router(__import__("web.api.v1").api.v1.router)  # the HTTP API (web/api/)
    # ---- end of routers --------------------------------------------------------------------
    return app
