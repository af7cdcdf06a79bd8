"""REST under /api/v1 on the same services as the CLI (docs/web.md "接口 (API)").

Who acts is proven by `web.auth.api_user` (a bearer token or the session cookie). Roles,
states, guards and scopes are the services' own checks, so a route allows exactly what the
CLI command allows; a refusal (403) is audited like the CLI's (services/access.py), and every
error is the JSON of web/app.py with the CLI's exit code. A body whose types are wrong
(pydantic) is answered in the same shape: 400, exit code 2, the field named.

Request bodies come from the declarations (web/api/schemas.py): one model per lifecycle
action, built from its row's fields; the registration's from states/intake_fields.py.

Routes are plain functions (FastAPI runs them in its thread pool): the services are
synchronous. Annotations are evaluated (no `from __future__ import annotations`) because the
action routes are built in a loop with their own model as the body's type.
"""

import tempfile
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Header, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from services.context import Context
from states.errors import Forbidden, InvalidInput
from states.lifecycle import Action
from web.api import schemas
from web.deps import get_ctx

# ---- Errors ---------------------------------------------------------------------------------


def _loc_field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts)


def validation_body(exc: RequestValidationError) -> dict[str, Any]:
    """A request pydantic refused, in web/app.py's error shape (exit code 2 → 400)."""
    errors = list(exc.errors())
    first = errors[0] if errors else {}
    field = _loc_field(tuple(first.get("loc", ())))
    if first.get("type") == "extra_forbidden":
        message = f"未知字段「{field}」"
    elif first.get("type") == "missing":
        message = f"{field}: 缺少必填项"
    else:
        message = f"{field}: 类型不符 ({first.get('msg', '')})"
    return {
        "error": "invalid_input",
        "exit_code": InvalidInput.exit_code,
        "message": message,
        "field": field or None,
        "errors": [
            {"field": _loc_field(tuple(e.get("loc", ()))), "type": e.get("type")} for e in errors
        ],
    }


def _refused(request: Request, exc: Forbidden) -> None:
    """Audit a refusal of a proven user (one without proof is audited by web/auth.py)."""
    user = getattr(request.state, "user", None)
    if user is None or getattr(exc, "_audited", False):
        return
    from services.access import record_refusal

    ctx: Context = request.app.state.ctx
    record_refusal(
        ctx,
        username=str(user["username"]),
        role=str(user["role"]),
        command=f"API {request.method} {request.url.path}",
        reason=str(getattr(exc, "reason", None) or exc),
    )
    exc._audited = True  # type: ignore[attr-defined]


UPLOAD_LIMIT = 50 * 1024 * 1024  # bytes of one transfer list
BODY_LIMIT = 1024 * 1024  # bytes of any other request's JSON body (a registration is ~10 kB)


def _before_the_body(request: Request) -> None:
    """Who calls, and how much they declare to send, checked before FastAPI reads the body
    (it reads, and spools to disk, a whole upload before any dependency runs): an
    unauthenticated, forbidden or oversized request is refused without receiving it."""
    declared = request.headers.get("content-length", "")
    multipart = request.headers.get("content-type", "").startswith("multipart/")
    limit = UPLOAD_LIMIT + 64 * 1024 if multipart else BODY_LIMIT
    if declared.isdigit() and int(declared) > limit:
        raise InvalidInput(
            "file" if multipart else "body",
            f"请求体过大: 最多 {limit // 1024 // 1024} MB (声明 {int(declared) // 2**20} MB)",
        )
    api_actor(request)  # 401 / 403 (a readonly token) now, before the body


class ApiRoute(APIRoute):
    """Bodies refused by pydantic answer 400 in the API's error shape; refusals (Forbidden)
    of a proven user are recorded before web/app.py turns them into 403."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                if request.method not in ("GET", "HEAD", "OPTIONS"):
                    await run_in_threadpool(_before_the_body, request)
                return await handle(request)
            except RequestValidationError as exc:
                return JSONResponse(validation_body(exc), status_code=400)
            except HTTPException as exc:
                # A body FastAPI could not parse at all (not UTF-8, a broken multipart form):
                # its own `{"detail": ...}` would break the API's one error shape.
                if exc.status_code != 400:
                    raise
                return JSONResponse(
                    {
                        "error": "invalid_input",
                        "exit_code": InvalidInput.exit_code,
                        "message": "请求体无法解析: 须为 UTF-8 编码的 JSON 对象 (或上传文件的 "
                        "multipart/form-data 表单)",
                        "field": None,
                    },
                    status_code=400,
                )
            except Forbidden as exc:
                from services.identity import Unauthenticated

                if not isinstance(exc, Unauthenticated):
                    await run_in_threadpool(_refused, request, exc)
                raise

        return route


router = APIRouter(prefix="/api/v1", route_class=ApiRoute, tags=["api v1"])


def api_actor(request: Request) -> dict[str, Any]:
    """The proven user (web/auth.py): 401 without a valid token or session. Proven once per
    request (`_before_the_body` may have done it already)."""
    from web.auth import api_user

    known: dict[str, Any] | None = getattr(request.state, "user", None)
    return known if known is not None else api_user(request)


Ctx = Annotated[Context, Depends(get_ctx)]
User = Annotated[dict[str, Any], Depends(api_actor)]


def _json(ctx: Context, body: Any, status_code: int = 200) -> JSONResponse:
    """Times in the configured zone with their offset, as the CLI's --json writes them."""
    from cli.output import to_local

    return JSONResponse(to_local(body, ctx.tz), status_code=status_code)


def _at(value: datetime | str | None, ctx: Context, field: str = "at") -> datetime | None:
    if value is None or value == "":
        return None
    from states.validation import iso_datetime

    when = value if isinstance(value, datetime) else iso_datetime(value, field)
    return when if when.tzinfo is not None else when.replace(tzinfo=ctx.tz)


Number = Annotated[str, PathParam(description="投诉编号, 如 TS202603020000001", max_length=32)]

# ---- Registration ---------------------------------------------------------------------------

RegistrationRequest = schemas.registration_model()


def _registered_body(ctx: Context, done: Any) -> dict[str, Any]:
    from cli.output import to_local
    from services.lifecycle.queries import deadlines_of

    body: dict[str, Any] = {
        "number": done.number,
        "id": done.id,
        "state": done.state,
        "event_id": done.event_id,
        "deadlines": deadlines_of(ctx, done.number),
    }
    rep = done.repeat
    if rep is not None and rep.kind != "none":
        body["repeat"] = {
            "kind": rep.kind,
            "master": rep.master,
            "target": rep.target,
            "matched_on": list(rep.matched_on),
        }
    return to_local(body, ctx.tz)  # type: ignore[no-any-return]


@router.post(
    "/complaints",
    status_code=201,
    summary="登记投诉 (幂等: Idempotency-Key)",
    responses={
        201: {"description": "已登记: 投诉编号、状态、时限"},
        409: {"description": "同一 Idempotency-Key 已用于另一内容的请求, 或仍在处理中"},
    },
)
def register(
    body: RegistrationRequest,  # type: ignore[valid-type]
    ctx: Ctx,
    user: User,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="调用方生成的唯一键 (如 UUID): 同一键和同一内容的重试返回首次的结果, "
            "不会重复登记; 同一键和不同内容 → 409",
        ),
    ] = None,
) -> JSONResponse:
    """登记一件投诉 (第十三条), 与 `tousu register` 相同的字段和校验。"""
    from services.intake import idempotency
    from services.intake.form import registration_of
    from services.lifecycle.registration import register as do_register

    values = schemas.given(body)
    username = str(user["username"])
    if idempotency_key is not None:
        replay = idempotency.claim(
            ctx,
            username=username,
            key=idempotency_key,
            body_hash=idempotency.request_hash(values),
        )
        if replay is not None:
            return JSONResponse(
                replay.body, status_code=replay.status_code, headers={"Idempotent-Replayed": "true"}
            )
    try:
        done = do_register(ctx, registration_of(values, tz=ctx.tz), actor=username)
    except BaseException:
        if idempotency_key is not None:
            idempotency.release(ctx, username=username, key=idempotency_key)
        raise
    out = _registered_body(ctx, done)
    if idempotency_key is not None:
        idempotency.finish(
            ctx,
            username=username,
            key=idempotency_key,
            status_code=201,
            body=out,
            number=done.number,
        )
    return JSONResponse(out, status_code=201)


# ---- Lifecycle actions ----------------------------------------------------------------------


def _action_route(act: Action) -> Callable[..., JSONResponse]:
    model = schemas.action_model(act.trigger)

    def run(number: Number, body: model, ctx: Ctx, user: User) -> JSONResponse:  # type: ignore[valid-type]
        from services.lifecycle.actions import take
        from services.lifecycle.queries import deadlines_of

        given = body.model_dump()  # type: ignore[attr-defined]
        at = _at(given.pop("at"), ctx)
        expected = given.pop("expected_version")
        result = take(
            ctx,
            number,
            act.trigger,
            actor=str(user["username"]),
            fields=act.complete(given),
            at=at,
            expected_version=expected,
        )
        return _json(
            ctx,
            {
                "number": result.number,
                "action": result.action,
                "from_state": result.from_state,
                "state": result.state,
                "version": result.version,
                "event_id": result.event_id,
                "deadlines": deadlines_of(ctx, number),
            },
        )

    run.__name__ = act.trigger
    run.__doc__ = f"{act.help or act.label}\n\n可执行角色: " + "、".join(r.label for r in act.roles)
    return run


for _path, _act in schemas.api_actions().items():
    router.add_api_route(
        f"/complaints/{{number}}/{_path}",
        _action_route(_act),
        methods=["POST"],
        summary=f"{_act.label} ({_act.command})",
        operation_id=f"action_{_act.trigger}",
        responses={
            403: {"description": "角色、状态或条件不允许"},
            404: {"description": "投诉不存在"},
            409: {"description": "expected_version 与当前版本不符 (他人已修改)"},
        },
    )


@router.post("/complaints/{number}/{action}", include_in_schema=False)
def unknown_action(number: Number, action: str, user: User) -> None:
    """An action no row declares: 404 in the API's shape, naming the ones there are."""
    from states.errors import NotFound

    known = ", ".join(schemas.api_actions())
    raise NotFound(f"没有名为「{action}」的操作; 可用: {known}")


# ---- Reading --------------------------------------------------------------------------------


def _deliberate(request: Request, what: str) -> None:
    """A GET that writes to the audit trail in the user's name (a reveal of personal data, a
    search recorded in each complaint found). With a bearer token it is the caller's own
    request; with the session cookie a link on another site could make the browser send it
    (a top-level navigation carries a SameSite=Lax cookie), so it needs `X-CSRF-Token`, as
    the workspace asks for a reveal by a form with its token."""
    import hmac

    from web import auth

    if auth._bearer(request) is not None:
        return  # api_user proved the token (an invalid one is a 401 before this)
    info = auth._session(request)
    given = request.headers.get(auth.CSRF_HEADER, "")
    if info is None or not given or not hmac.compare_digest(given, info.csrf):
        raise Forbidden(
            f"以登录会话{what}须带 {auth.CSRF_HEADER} 请求头 (记入日志的操作, 防止他站链接代为操作)"
        )


@router.get("/complaints/{number}", summary="查看投诉 (默认脱敏)")
def show(
    request: Request,
    number: Number,
    ctx: Ctx,
    user: User,
    reveal: Annotated[
        bool, Query(description="显示完整个人信息 (仅受理员、投诉对接人、主管; 记入事件日志)")
    ] = False,
) -> JSONResponse:
    """与 `tousu show --json` 相同: 时限、升级级别、当事人 (默认脱敏)、时间线、您可执行的操作。"""
    from cli.cases import show_json
    from services.lifecycle.queries import complaint_view

    if reveal:
        _deliberate(request, "查看完整个人信息")
    view = complaint_view(ctx, number, actor=user, reveal=reveal)
    return _json(ctx, show_json(view))


@router.get("/queue", summary="工作队列")
def queue(
    ctx: Ctx,
    user: User,
    scope: Annotated[
        str, Query(description="mine(我的) team(本组) branch(本机构) all(全部); 非 mine 仅限主管")
    ] = "mine",
    team: Annotated[str | None, Query(description="小组 (scope=team)")] = None,
    branch: Annotated[str | None, Query(description="机构代码")] = None,
    handler: Annotated[str | None, Query(description="负责人用户名 (主管)")] = None,
    state: Annotated[list[str] | None, Query(description="状态代码 (可重复)")] = None,
    priority: Annotated[str | None, Query(description="normal key major")] = None,
    category: Annotated[str | None, Query(description="投诉类别代码或名称")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 50,
) -> JSONResponse:
    """与 `tousu queue --json` 相同: 按最近时限排序的在办投诉。"""
    from services.casefile.quiet import quiet_days
    from services.lifecycle.queries import queue as load_queue

    found = load_queue(
        ctx,
        actor=user,
        scope=scope,
        team=team,
        branch=branch,
        handler=handler,
        states=state,
        priority=priority,
        category=category,
        limit=limit,
    )
    quiet = quiet_days(ctx, found["items"])
    for item in found["items"]:
        item["days_without_contact"] = quiet.get(item["id"])
    return _json(ctx, found)


@router.get("/search", summary="按联系电话、证件号码或保单号查找投诉")
def search(
    request: Request,
    ctx: Ctx,
    user: User,
    phone: Annotated[str | None, Query(description="投诉人或代理人的联系电话")] = None,
    id_number: Annotated[str | None, Query(description="身份证号码 / 统一社会信用代码")] = None,
    policy: Annotated[str | None, Query(description="保单号")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JSONResponse:
    """与 `tousu find --json` 相同 (受理员、投诉对接人、主管); 每件查到的投诉记录本次查找。"""
    from services.lifecycle import lookup

    _deliberate(request, "查找投诉")
    found = lookup.find(
        ctx, actor=user, phone=phone, id_number=id_number, policy=policy, limit=limit
    )
    return _json(ctx, {"complaints": found})


# ---- Ledger and reports -----------------------------------------------------------------------


@router.get("/ledger", summary="重复投诉与积案台账")
def ledger_list(
    ctx: Ctx,
    user: User,
    status: Annotated[str | None, Query(description="open(化解中) | resolved(已化解)")] = None,
    kind: Annotated[str | None, Query(description="repeat | backlog | dissatisfied")] = None,
    owner: Annotated[str | None, Query(description="责任人用户名")] = None,
) -> JSONResponse:
    """与 `tousu ledger list --json` 相同。"""
    from services.automatic import ledger

    return _json(ctx, {"matters": ledger.list_matters(ctx, status=status, kind=kind, owner=owner)})


@router.get("/ledger/export", summary="台账 Excel 下载")
def ledger_export(
    ctx: Ctx,
    user: User,
    status: Annotated[str | None, Query(description="只导出 open 或 resolved")] = None,
) -> FileResponse:
    """与 `tousu ledger export` 相同的工作簿 (一行一个事项, 投诉人姓名脱敏)。"""
    from services.reporting import ledger_export as export

    folder = Path(tempfile.mkdtemp(prefix="tousu-ledger-"))
    try:
        path = export.export(ctx, folder / "ledger.xlsx", status=status)
    except BaseException:  # a refused status: no empty folder left behind per request
        _remove(folder)
        raise
    return FileResponse(
        path,
        filename="台账.xlsx",
        media_type=XLSX,
        background=BackgroundTask(_remove, folder),
    )


@router.get("/ledger/{matter}", summary="台账事项")
def ledger_show(
    matter: Annotated[str, PathParam(description="台账编号, 如 TZ000001", max_length=32)],
    ctx: Ctx,
    user: User,
) -> JSONResponse:
    """与 `tousu ledger show --json` 相同: 全部投诉、责任人、分类、措施与变更记录。"""
    from services.automatic import ledger

    return _json(ctx, ledger.show(ctx, matter))


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPORT_TYPES = {".xlsx": XLSX, ".html": "text/html; charset=utf-8"}


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def _report_files(ctx: Context) -> list[Path]:
    from services.reporting import reports

    folder = reports.output_dir(ctx)
    if not folder.is_dir():
        return []
    return sorted(
        (p for p in folder.iterdir() if p.is_file() and p.suffix in REPORT_TYPES),
        key=lambda p: p.name,
        reverse=True,
    )


def _may_read_reports(ctx: Context, user: dict[str, Any]) -> None:
    from services.reporting.files import REPORT_ROLES, authorize

    authorize(ctx, str(user["username"]), REPORT_ROLES, "查看统计报告")


@router.get("/reports", summary="统计报告文件列表")
def reports_list(ctx: Ctx, user: User) -> JSONResponse:
    """已生成的期间报告 (`tousu report` 与每月/每季流程写入 [reports] dir), 最新的在前;
    与生成报告相同的角色可查看。"""
    _may_read_reports(ctx, user)
    files = [
        {
            "name": p.name,
            "url": f"/api/v1/reports/{p.name}",
            "bytes": p.stat().st_size,
            "kind": p.suffix.lstrip("."),
        }
        for p in _report_files(ctx)
    ]
    return _json(ctx, {"reports": files})


@router.get("/reports/{name}", summary="下载统计报告文件")
def report_file(
    name: Annotated[str, PathParam(description="文件名, 见 GET /reports", max_length=200)],
    ctx: Ctx,
    user: User,
) -> FileResponse:
    """一个报告文件 (Excel 或 HTML)。"""
    from states.errors import NotFound

    _may_read_reports(ctx, user)
    found = next((p for p in _report_files(ctx) if p.name == name), None)
    if found is None:
        raise NotFound(f"报告文件 {name} 不存在")
    return FileResponse(found, filename=found.name, media_type=REPORT_TYPES[found.suffix])


# ---- The regulator's transfers (12378) --------------------------------------------------------


@router.post(
    "/transfers/12378",
    summary="导入 12378 监管转办清单 (CSV/XLSX)",
    responses={200: {"description": "全部登记或已导入过"}, 400: {"description": "有被拒行"}},
)
def transfers_import(
    ctx: Ctx,
    user: User,
    file: Annotated[UploadFile, File(description="转办清单: .csv (GB18030/UTF-8) 或 .xlsx")],
    dry_run: Annotated[bool, Query(description="只校验, 不写入")] = False,
    encoding: Annotated[str | None, Query(description="CSV 的编码 (默认自动识别)")] = None,
) -> JSONResponse:
    """与 `tousu transfers import` 相同: 按 config/transfers_12378.toml 的列映射逐行校验
    并登记; 同一清单重复导入不会重复登记。被拒行 (个人信息已脱敏) 在 `rejects` 中列出,
    有被拒行时状态码 400 (退出码 2)。"""
    import csv

    from services.intake import transfers

    name = Path(file.filename or "").name
    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".txt", ".tsv", ".xlsx", ".xlsm"):
        raise InvalidInput(
            "file", f"只支持 CSV(.csv/.txt/.tsv)或 XLSX 文件: {name or '(无文件名)'}"
        )
    folder = Path(tempfile.mkdtemp(prefix="tousu-12378-"))
    try:
        path = folder / f"upload{suffix}"
        size = 0
        with path.open("wb") as fh:
            while chunk := file.file.read(1024 * 1024):
                size += len(chunk)
                if size > UPLOAD_LIMIT:
                    raise InvalidInput("file", f"文件过大: 最多 {UPLOAD_LIMIT // 1024 // 1024} MB")
                fh.write(chunk)
        res = transfers.import_list(
            ctx,
            path,
            actor=str(user["username"]),
            rejects=folder,
            encoding=encoding,
            dry_run=dry_run,
        )
        body = transfers.summary(res)
        body["file"] = name
        body["rejects"] = []
        if res.rejects_file is not None:
            with res.rejects_file.open(encoding="utf-8-sig", newline="") as fh:
                for line in csv.DictReader(fh):
                    body["rejects"].append(
                        {
                            "line": int(line["行号"]),
                            "column": line["列"],
                            "field": line["字段"],
                            "value": line["读到的值"],
                            "reason": line["原因"],
                        }
                    )
    finally:
        _remove(folder)
    if res.rejected:
        body.update(
            error="invalid_input",
            exit_code=InvalidInput.exit_code,
            message=f"{res.rejected} 行被拒, 见 rejects",
            field="file",
        )
    return _json(ctx, body, status_code=400 if res.rejected else 200)


@router.get("/transfers/12378", summary="导出 12378 转办的办理结果 (XLSX/CSV)")
def transfers_export(
    ctx: Ctx,
    user: User,
    start: Annotated[str, Query(alias="from", description="收到日期自 YYYY-MM-DD")],
    end: Annotated[str, Query(alias="to", description="收到日期至 YYYY-MM-DD (含)")],
    format: Annotated[str, Query(description="xlsx 或 csv")] = "xlsx",  # noqa: A002
    encoding: Annotated[str, Query(description="CSV 的编码: utf-8-sig 或 gb18030")] = "utf-8-sig",
) -> FileResponse:
    """与 `tousu transfers export` 相同: 清单原有的列 (个人信息脱敏), 其后为办理结果。"""
    from services.intake import transfers
    from states import validation as v

    if format not in ("xlsx", "csv"):
        raise InvalidInput("format", "format 取值: xlsx, csv")
    low, high = v.iso_date(start, "from"), v.iso_date(end, "to")
    folder = Path(tempfile.mkdtemp(prefix="tousu-12378-"))
    try:
        path = folder / f"12378-results-{low:%Y%m%d}-{high:%Y%m%d}.{format}"
        transfers.export(ctx, low, high, path, actor=str(user["username"]), encoding=encoding)
    except BaseException:
        _remove(folder)
        raise
    media = XLSX if format == "xlsx" else f"text/csv; charset={encoding.removesuffix('-sig')}"
    return FileResponse(
        path, filename=path.name, media_type=media, background=BackgroundTask(_remove, folder)
    )
