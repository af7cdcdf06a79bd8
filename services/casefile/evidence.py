"""Evidence and attachments (证据材料): files attached to a complaint, kept encrypted outside the
database (services/casefile/evidence_store.py: a directory, or an S3-compatible object store), by
SHA-256 and size.

Owns: `attach` (every file checked against `[evidence]` limits first: a rejected file, or
one bad file among several, writes nothing), `list_for`, `get` (the decrypted file written
where the handler asks, logged in the history like a view of personal data), `verify`
(recomputes each file's hash and size and compares them with the `attach` event, which the
append-only history keeps), and `erase_cases` for the retention flow (the files of a case
past its retention period are deleted, with an event). Tamper-evidence rests on two things:
Fernet authenticates the encrypted file (a changed byte no longer decrypts), and the hash in
the event log cannot be rewritten.

Must not import cli/, flows/, notifications/ or services/automatic/.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from services.casefile import evidence_store, history
from services.context import Context
from states import casefile as cf
from states import lifecycle as lc
from states.errors import InvalidInput, NotFound
from storage import records
from storage.db import raw_reads, read_only
from storage.evidence import Evidence
from storage.rows import ComplaintRow, UserRow
from storage.schema import table_of
from storage.timeutil import from_db, to_db, utcnow

EVIDENCE = table_of(Evidence)
ROLES = (
    lc.Role.intake_clerk,
    lc.Role.investigator,
    lc.Role.coordinator,
    lc.Role.liaison,
    lc.Role.supervisor,
    lc.Role.committee,
)
NOTE_MAX = 1000
# verify's outcomes, with what a handler reads
VERDICTS = {
    "ok": "完好",
    "missing": "文件缺失",
    "tampered": "文件被改动或无法用本系统密钥解密",
    "mismatch": "内容与事件日志记录的摘要或大小不符",
    "erased": "已按保存期限删除",
}


@dataclass(frozen=True)
class Candidate:
    """One file checked and read, ready to be stored."""

    path: Path
    data: bytes
    sha256: str
    media_type: str


def settings(ctx: Context) -> dict[str, Any]:
    raw = ctx.config.section("evidence")
    return {
        "max_bytes": int(raw.get("max_bytes", 50 * 1024 * 1024)),
        "allowed_types": tuple(raw.get("allowed_types", ())),
    }


def media_type_of(path: Path, data: bytes) -> str:
    """By content where the bytes say (a renamed file is known by what it is), else by the
    file name's extension."""
    import filetype  # type: ignore[import-untyped]

    sniffed = filetype.guess_mime(data[:8192])
    if sniffed:
        return str(sniffed)
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def _size_text(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n} 字节"


def check_files(ctx: Context, paths: Sequence[Path]) -> list[Candidate]:
    """Every file read and checked; the first bad one refused (InvalidInput on `file`)."""
    if not paths:
        raise InvalidInput("file", "须至少指定一个文件")
    cfg = settings(ctx)
    out: list[Candidate] = []
    for path in paths:
        if not path.is_file():
            raise InvalidInput("file", f"文件不存在或不是普通文件: {path}")
        size = path.stat().st_size
        if size == 0:
            raise InvalidInput("file", f"文件为空: {path.name}")
        if size > cfg["max_bytes"]:
            raise InvalidInput(
                "file",
                f"文件 {path.name} 大小 {_size_text(size)} 超过上限 "
                f"{_size_text(cfg['max_bytes'])} ([evidence] max_bytes)",
            )
        data = path.read_bytes()
        media = media_type_of(path, data)
        if cfg["allowed_types"] and media not in cfg["allowed_types"]:
            raise InvalidInput(
                "file",
                f"文件 {path.name} 类型 {media} 不在允许范围 ([evidence] allowed_types)",
            )
        out.append(Candidate(path, data, hashlib.sha256(data).hexdigest(), media))
    return out


def attach(
    ctx: Context,
    number: str,
    files: Sequence[Path],
    *,
    actor: str,
    kind: str = "other",
    note: str | None = None,
) -> list[dict[str, Any]]:
    """Attach files to complaint `number`: stored encrypted, one `attach` event each with the
    file's SHA-256 and size. All or nothing."""
    if kind not in cf.EVIDENCE_KINDS:
        choices = ", ".join(f"{k}({v})" for k, v in cf.EVIDENCE_KINDS.items())
        raise InvalidInput("kind", f"材料类别取值: {choices}")
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise InvalidInput("note", f"说明不超过 {NOTE_MAX} 字")
    now = utcnow()
    with read_only(ctx.engine) as conn:  # refuse early, before reading any file
        user = history.acting_user(conn, actor, ROLES, "添加证据材料")
        case = records.load_case(conn, number)
        history.in_scope(ctx, conn, case, user)
        held = set(
            conn.execute(
                select(EVIDENCE.c.sha256).where(
                    EVIDENCE.c.complaint_id == case["id"], EVIDENCE.c.erased_at.is_(None)
                )
            ).scalars()
        )
    candidates = check_files(ctx, files)
    seen: set[str] = set()
    for c in candidates:
        if c.sha256 in held or c.sha256 in seen:
            raise InvalidInput("file", f"文件 {c.path.name} 的内容已在本投诉的证据材料中")
        seen.add(c.sha256)
    written = [c.sha256 for c in candidates if evidence_store.put(ctx, c.sha256, c.data)]
    try:
        return _record(ctx, number, candidates, actor=actor, kind=kind, note=note, now=now)
    except BaseException:
        for sha in written:  # a failed attach leaves no file it wrote behind
            evidence_store.delete(ctx, sha)
        raise


def _record(
    ctx: Context,
    number: str,
    candidates: Sequence[Candidate],
    *,
    actor: str,
    kind: str,
    note: str | None,
    now: datetime,
) -> list[dict[str, Any]]:
    with ctx.transaction() as conn:
        user = history.acting_user(conn, actor, ROLES, "添加证据材料")
        case = records.load_case(conn, number)
        history.in_scope(ctx, conn, case, user)
        return record_in(conn, case, user, candidates, kind=kind, note=note, now=now)


def record_in(
    conn: Connection,
    case: ComplaintRow,
    user: UserRow,
    candidates: Sequence[Candidate],
    *,
    kind: str,
    note: str | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """The rows and `attach` events of files already stored (`evidence_store.put`), in the
    caller's transaction (letters store what they render this way)."""
    out = []
    for c in candidates:
        values = {
            "complaint_id": case["id"],
            "kind": kind,
            "filename": c.path.name[:255],
            "media_type": c.media_type[:100],
            "size": len(c.data),
            "sha256": c.sha256,
            "note": note,
            "actor": user["username"],
            "attached_at": to_db(now),
        }
        eid = records.inserted_id(conn.execute(insert(EVIDENCE).values(values)))
        event_id = history.append(
            conn,
            case,
            actor=user["username"],
            role=user["role"],
            action=cf.ATTACH,
            at=now,
            now=now,
            reason=f"{cf.EVIDENCE_KINDS[kind]}: {values['filename']}"
            + (f" ({note})" if note else ""),
            details={
                "evidence_id": eid,
                "filename": values["filename"],
                "kind": kind,
                "media_type": values["media_type"],
                "size": values["size"],
                "sha256": c.sha256,
            },
        )
        conn.execute(update(EVIDENCE).where(EVIDENCE.c.id == eid).values(event_id=event_id))
        out.append({**values, "id": eid, "event_id": event_id, "attached_at": now})
    return out


_OF_CASE = (
    select(EVIDENCE).where(EVIDENCE.c.complaint_id == bindparam("cid")).order_by(EVIDENCE.c.id)
)


def _rows(conn: Connection, complaint_id: int) -> list[dict[str, Any]]:
    return _typed(conn.execute(_OF_CASE, {"cid": complaint_id}).mappings())


def _typed(rows: Iterable[Mapping[Any, Any]]) -> list[dict[str, Any]]:
    return [
        {**r, "attached_at": from_db(r["attached_at"]), "erased_at": from_db(r["erased_at"])}
        for r in rows
    ]


def list_for(ctx: Context, number: str, *, actor: str) -> list[dict[str, Any]]:
    with read_only(ctx.engine) as conn:
        user = history.acting_user(conn, actor, ROLES, "查看证据材料")
        case = records.load_case(conn, number)
        history.in_scope(ctx, conn, case, user)
        return _rows(conn, case["id"])


def list_of(ctx: Context, case: Mapping[str, Any], user: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`list_for` where the caller has read the case and holds the proven user's row (the
    case page, from its session): the same role and scope checks, without reading either
    again. The rows are one raw read (storage/db.py `raw_reads`; no column here needs more
    typing than its two times)."""
    history.check_role(user, ROLES, "查看证据材料")
    with read_only(ctx.engine) as conn:  # one's own case: nothing read (services/access.py)
        history.in_scope(ctx, conn, cast(ComplaintRow, case), cast(UserRow, user))
    with raw_reads(ctx.engine, snapshot=False) as reads:
        return _typed(reads.all(_OF_CASE, {"cid": case["id"]}))


def get(
    ctx: Context, number: str, evidence_id: int, *, actor: str, out_dir: Path
) -> dict[str, Any]:
    """Write the decrypted file into `out_dir` (never over an existing file); the view is
    recorded in the history. Refused when the file fails its check."""
    if not out_dir.is_dir():
        raise InvalidInput("out", f"目录不存在: {out_dir}")
    now = utcnow()
    with ctx.transaction() as conn:
        user = history.acting_user(conn, actor, ROLES, "查看证据材料")
        case = records.load_case(conn, number)
        history.in_scope(ctx, conn, case, user)
        row = next((r for r in _rows(conn, case["id"]) if r["id"] == evidence_id), None)
        if row is None:
            raise NotFound(f"投诉 {number} 没有证据材料 #{evidence_id}")
        verdict = _verdict(ctx, conn, row)
        if verdict != "ok":
            raise InvalidInput("id", f"证据材料 #{evidence_id} {VERDICTS[verdict]}, 无法取出")
        data = evidence_store.read_plain(ctx, row["sha256"])
        assert data is not None  # _verdict read it a moment ago
        target = out_dir / row["filename"]
        if target.exists():
            target = out_dir / f"{evidence_id}-{row['filename']}"
        if target.exists():
            raise InvalidInput("out", f"文件已存在, 不覆盖: {target}")
        history.append(
            conn,
            case,
            actor=user["username"],
            role=user["role"],
            action=cf.VIEW_EVIDENCE,
            at=now,
            now=now,
            reason=f"取出证据材料 #{evidence_id} {row['filename']}",
            details={"evidence_id": evidence_id, "sha256": row["sha256"]},
        )
        target.write_bytes(data)
    return {**row, "path": str(target)}


def _recorded(conn: Connection, event_id: int | None) -> dict[str, Any]:
    """What the append-only history says was attached."""
    if event_id is None:
        return {}
    details = conn.execute(
        select(records.EVENT.c.details).where(records.EVENT.c.id == event_id)
    ).scalar()
    return dict(details or {})


def _verdict(ctx: Context, conn: Connection, row: dict[str, Any]) -> str:
    if row["erased_at"] is not None:
        return "erased"
    logged = _recorded(conn, row["event_id"])
    if logged.get("sha256") != row["sha256"] or logged.get("size") != row["size"]:
        return "mismatch"  # the row no longer says what the history recorded
    if not evidence_store.exists(ctx, row["sha256"]):
        return "missing"
    data = evidence_store.read_plain(ctx, row["sha256"])
    if data is None:
        return "tampered"
    if hashlib.sha256(data).hexdigest() != row["sha256"] or len(data) != row["size"]:
        return "mismatch"
    return "ok"


def verify(ctx: Context, number: str, *, actor: str) -> list[dict[str, Any]]:
    """Each evidence file of `number` with its verdict (`VERDICTS`)."""
    with read_only(ctx.engine) as conn:
        user = history.acting_user(conn, actor, ROLES, "核验证据材料")
        case = records.load_case(conn, number)
        history.in_scope(ctx, conn, case, user)
        rows = _rows(conn, case["id"])
        return [{**r, "verdict": _verdict(ctx, conn, r)} for r in rows]


# ---- Key rotation: for services/keys.py `rotate` (issue 14) -----------------------------------


def reseal_files(ctx: Context, rotate: Callable[[bytes], bytes]) -> int:
    """Re-encrypt every kept evidence file with `rotate` (the rotation's MultiFernet.rotate),
    so that the files stay readable once the old key is retired. Safe to run again: a file
    already sealed with the new key is simply sealed again. Returns the files rewritten."""
    with read_only(ctx.engine) as conn:
        shas = conn.execute(
            select(EVIDENCE.c.sha256).where(EVIDENCE.c.erased_at.is_(None)).distinct()
        ).scalars()
        wanted = sorted(set(shas))
    return sum(evidence_store.reseal(ctx, sha, rotate) for sha in wanted)


# ---- Retention: for the retention flow (issue 13 item 11) -------------------------------------


def store_ready(ctx: Context) -> str:
    """Where the files are kept, once the store answers; `evidence_store.StoreUnavailable`
    (exit 6) when it does not. The retention flow asks before it erases anything."""
    return evidence_store.check(ctx)


def erase_cases(ctx: Context, complaint_ids: Iterable[int], *, now: datetime | None = None) -> int:
    """Delete the evidence files of complaints past their retention period (the caller, the
    retention flow, decides which), each case with one `evidence_erased` event by the system
    actor. A file whose content another complaint still keeps stays on disk. Rows are kept,
    marked `erased_at`, so the history still says what was held. Returns files erased."""
    now = now or utcnow()
    ids = list(complaint_ids)
    if ids:
        store_ready(ctx)  # an unreachable store refuses before any erasure is recorded
    erased = 0
    for cid in ids:
        with ctx.transaction() as conn:
            shas = _erase_case(conn, cid, now)
            still_held = set(
                conn.execute(
                    select(EVIDENCE.c.sha256).where(
                        EVIDENCE.c.sha256.in_(shas), EVIDENCE.c.erased_at.is_(None)
                    )
                ).scalars()
            )
        # after the commit: a rolled-back erasure must not have lost its files
        for sha in set(shas) - still_held:
            evidence_store.delete(ctx, sha)
        erased += len(shas)
    return erased


def _erase_case(conn: Connection, complaint_id: int, now: datetime) -> list[str]:
    rows = conn.execute(
        select(EVIDENCE.c.id, EVIDENCE.c.sha256).where(
            EVIDENCE.c.complaint_id == complaint_id, EVIDENCE.c.erased_at.is_(None)
        )
    ).all()
    if not rows:
        return []
    conn.execute(
        update(EVIDENCE).where(EVIDENCE.c.id.in_([r.id for r in rows])).values(erased_at=to_db(now))
    )
    case = records.load_case_by_id(conn, complaint_id)
    history.append(
        conn,
        case,
        actor="system",
        role=lc.Role.system.value,
        action=cf.EVIDENCE_ERASED,
        at=now,
        now=now,
        reason=f"证据材料 {len(rows)} 件超过保存期限, 已删除",
        details={"evidence_ids": [r.id for r in rows]},
    )
    return [r.sha256 for r in rows]
