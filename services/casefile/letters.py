"""Letters to the complainant (告知书): acceptance, extension, appraisal pause, decision,
decline, review conclusion and mediation referral (states/casefile.py LETTER_KINDS).

Owns: rendering one letter from its template (`[letters] templates`, Word documents with
docxtpl tags an administrator edits; the defaults come from scripts/letter_templates.py) as
DOCX and, through LibreOffice headless found at run time, as PDF (skipped, with the reason,
where LibreOffice is absent or fails); keeping both as case evidence (kind `letter`, hash and
size in the event log, like `tousu attach`); and recording the rendering in the history
(`render_letter`). A letter carries the complainant's real name and address: the one place
unmasked data leaves tousu, so it is rendered only by the roles that may reveal personal data
and logged like `show --reveal`.

The facts a letter states come from the event of the action it reports (the decision's facts,
basis and reasons; the extension's reason; ...): no letter is rendered before that action.
Must not import cli/, flows/, notifications/ or services/automatic/.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from services.casefile import contacts, evidence, evidence_store, history
from services.context import Context
from states import casefile as cf
from states import lifecycle as lc
from states.errors import InvalidInput
from storage import records
from storage.db import read_only
from storage.rows import ComplaintRow
from storage.timeutil import from_db, utcnow

ROLES = tuple(sorted(lc.PII_ROLES))  # who may see the unmasked name and address


def settings(ctx: Context) -> dict[str, Any]:
    from config import PROJECT_ROOT

    raw = ctx.config.section("letters")
    where = Path(str(raw.get("templates", "config/letters")))
    return {
        "templates": where if where.is_absolute() else PROJECT_ROOT / where,
        "letterhead": {
            "institution": str(raw.get("institution", "")),
            "address": str(raw.get("address", "")),
            "phone": str(raw.get("phone", "")),
        },
        "seal": str(raw.get("seal", "盖章")),
        "remedies": dict(raw.get("remedies", {})),
        "office": str(raw.get("office", "")),
        "timeout": int(raw.get("timeout_seconds", 120)),
    }


def _day(ctx: Context, moment: datetime | None) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(ctx.tz)
    return f"{local.year}年{local.month}月{local.day}日"


def _due_day(ctx: Context, due: datetime | None) -> str:
    """A deadline ends at local midnight: the letter names the last day, not the next."""
    return "" if due is None else _day(ctx, due - timedelta(microseconds=1))


def _latest(events: list[dict[str, Any]], action: str) -> dict[str, Any] | None:
    found = [e for e in events if e["action"] == action]
    return found[-1] if found else None


def _choices(trigger: str, field: str) -> dict[str, str]:
    """The labels of a lifecycle field's fixed choices (states/lifecycle.py)."""
    found = next(f for f in lc.ACTIONS_BY_TRIGGER[trigger].fields if f.name == field)
    return dict(found.choices) if isinstance(found.choices, Mapping) else {}


def context(
    ctx: Context,
    case: ComplaintRow,
    events: list[dict[str, Any]],
    *,
    complainant: dict[str, Any],
    owner_name: str,
    decision_due: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    """Every tag a template may use."""
    cfg = settings(ctx)
    tax = ctx.config.taxonomy
    details = {e["action"]: (e["details"] or {}) for e in events}
    ats = {e["action"]: from_db(e["at"]) for e in events}
    decide = details.get("decide", {})
    grounds = _choices("decline", "ground")
    channels = _choices("mediate", "channel")
    codes = decide.get("remedies") or list(lc.REMEDIES)
    deciding = decide.get("institution") or case["branch"]
    review = ctx.config.deadlines.get("review_request")
    review_days = str(review.amount) if review else ""
    return {
        "letterhead": cfg["letterhead"],
        "seal": cfg["seal"],
        "number": case["number"],
        "complainant": {
            "name": complainant.get("name") or "",
            "address": complainant.get("address") or "",
        },
        "owner_name": owner_name,
        "received_on": _day(ctx, from_db(case["received_at"])),
        "accepted_on": _day(ctx, ats.get("accept")),
        "decided_on": _day(ctx, ats.get("decide")),
        "decision_due_on": _due_day(ctx, decision_due),
        "today": _day(ctx, now),
        "extension_days": details.get("extend", {}).get("to", ""),
        "extension_reason": details.get("extend", {}).get("reason", ""),
        "appraisal_body": details.get("start_appraisal", {}).get("body", ""),
        "appraisal_on": _day(ctx, ats.get("start_appraisal")),
        "facts": decide.get("facts", ""),
        "basis": decide.get("basis", ""),
        "reasons": decide.get("reasons", ""),
        "deciding_institution": tax.branches.get(deciding, deciding),
        "remedies": [
            {
                "code": c,
                "label": lc.REMEDIES.get(c, c),
                "text": str(cfg["remedies"].get(c, "")).replace("{review_days}", review_days),
            }
            for c in codes
        ],
        "decline_ground": grounds.get(details.get("decline", {}).get("ground", ""), ""),
        "decline_explanation": details.get("decline", {}).get("explanation") or "",
        "review_conclusion": details.get("conclude_review", {}).get("conclusion", ""),
        "mediation_organisation": details.get("mediate", {}).get("organisation", ""),
        "mediation_channel": channels.get(details.get("mediate", {}).get("channel", ""), ""),
    }


def office_binary(ctx: Context) -> str | None:
    """LibreOffice's command, found at run time (`[letters] office` names it otherwise)."""
    named = settings(ctx)["office"]
    if named:
        return shutil.which(named) or (named if Path(named).is_file() else None)
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(ctx: Context, docx: Path) -> tuple[Path | None, str | None]:
    """The PDF beside `docx`, or None with the reason in Chinese."""
    office = office_binary(ctx)
    if office is None:
        return None, "未找到 LibreOffice (soffice), 仅生成 DOCX; 安装后可重新出具 PDF"
    profile = docx.parent / "lo-profile"
    try:
        done = subprocess.run(
            [
                office,
                f"-env:UserInstallation={profile.as_uri()}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(docx.parent),
                str(docx),
            ],
            capture_output=True,
            timeout=settings(ctx)["timeout"],
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"LibreOffice 转换 PDF 失败 ({type(exc).__name__}), 仅生成 DOCX"
    pdf = docx.with_suffix(".pdf")
    if done.returncode != 0 or not pdf.is_file():
        return None, f"LibreOffice 转换 PDF 失败 (退出码 {done.returncode}), 仅生成 DOCX"
    return pdf, None


def render(
    ctx: Context,
    number: str,
    kind: str,
    *,
    actor: str,
    out_dir: Path | None = None,
    pdf: bool = True,
    posted: bool = False,
) -> dict[str, Any]:
    """Render letter `kind` for complaint `number`, keep it as evidence, log it; the files
    are also written to `out_dir` when given. `posted`: the letter goes out now, and its
    proof of notice (Art. 21: a letter counts when posted) is recorded as a contact by
    letter with the letter's hash."""
    from docxtpl import DocxTemplate  # type: ignore[import-untyped]

    from services.lifecycle.queries import decrypt_party

    if kind not in cf.LETTER_KINDS:
        choices = ", ".join(f"{k}({v[0]})" for k, v in cf.LETTER_KINDS.items())
        raise InvalidInput("kind", f"告知书种类取值: {choices}")
    if out_dir is not None and not out_dir.is_dir():
        raise InvalidInput("out", f"目录不存在: {out_dir}")
    title, action = cf.LETTER_KINDS[kind]
    template = settings(ctx)["templates"] / f"{kind}.docx"
    if not template.is_file():
        from config import ConfigError

        raise ConfigError(f"告知书模板不存在: {template} ([letters] templates)")
    now = utcnow()
    with read_only(ctx.engine) as conn:
        user = history.acting_user(conn, actor, ROLES, "出具告知书 (含完整个人信息)")
        case = records.load_case(conn, number)
        history.in_scope(ctx, conn, case, user)
        events = [
            dict(e)
            for e in conn.execute(
                select(records.EVENT)
                .where(records.EVENT.c.complaint_id == case["id"])
                .order_by(records.EVENT.c.seq)
            ).mappings()
        ]
        if _latest(events, action) is None:
            label = lc.ACTIONS_BY_TRIGGER[action].label
            raise InvalidInput("kind", f"投诉 {number} 尚无「{label}」记录, 不能出具{title}")
        owner = (
            case["owner"]
            and conn.execute(
                select(records.USER.c.name).where(records.USER.c.username == case["owner"])
            ).scalar()
        )
        due = conn.execute(
            select(records.DEADLINE.c.due_at).where(
                records.DEADLINE.c.complaint_id == case["id"],
                records.DEADLINE.c.name == "decision",
            )
        ).scalar()
    person = decrypt_party(ctx, case["complainant_id"]) if case["complainant_id"] else {}
    if not person.get("name"):
        raise InvalidInput("number", f"投诉 {number} 的投诉人信息已删除或缺失, 不能出具{title}")
    values = context(
        ctx,
        case,
        events,
        complainant=person,
        owner_name=str(owner or case["owner"] or ""),
        decision_due=from_db(due),
        now=now,
    )
    with tempfile.TemporaryDirectory(prefix="tousu-letter-") as tmp:
        docx = Path(tmp) / f"{number}-{title}.docx"
        doc = DocxTemplate(str(template))
        doc.render(values, autoescape=True)
        doc.save(str(docx))
        made, why = to_pdf(ctx, docx) if pdf else (None, "未要求 PDF")
        files = [docx] + ([made] if made is not None else [])
        candidates = evidence.check_files(ctx, files)
        written = [c.sha256 for c in candidates if evidence_store.put(ctx, c.sha256, c.data)]
        try:
            with ctx.transaction() as conn:
                fresh = records.load_case(conn, number)
                kept = evidence.record_in(
                    conn, fresh, user, candidates, kind="letter", note=title, now=now
                )
                history.append(
                    conn,
                    fresh,
                    actor=user["username"],
                    role=user["role"],
                    action=cf.RENDER_LETTER,
                    at=now,
                    now=now,
                    reason=f"出具{title} (含投诉人姓名、地址)",
                    details={
                        "kind": kind,
                        "evidence_ids": [k["id"] for k in kept],
                        "sha256": {Path(k["filename"]).suffix[1:]: k["sha256"] for k in kept},
                        "parties": ["complainant"],
                    },
                )
                if posted:
                    sent = kept[-1]  # the PDF where there is one: what is printed and posted
                    contacts.record_in(
                        conn,
                        fresh,
                        user,
                        channel="letter",
                        direction="out",
                        text=f"寄出{title} (SHA-256 {sent['sha256']})",
                        ref=None,
                        flagged=False,
                        when=now,
                        now=now,
                        details={"letter": kind, "letter_sha256": sent["sha256"]},
                    )
        except BaseException:
            for sha in written:
                evidence_store.delete(ctx, sha)
            raise
        copies = []
        if out_dir is not None:
            for f in files:
                target = out_dir / f.name
                shutil.copyfile(f, target)
                copies.append(str(target))
    by_suffix = {Path(k["filename"]).suffix[1:]: k for k in kept}
    return {
        "number": number,
        "kind": kind,
        "title": title,
        "evidence": kept,
        "docx_sha256": by_suffix["docx"]["sha256"],
        "pdf_sha256": by_suffix["pdf"]["sha256"] if "pdf" in by_suffix else None,
        "pdf_skipped": why,
        "files": copies,
    }


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
