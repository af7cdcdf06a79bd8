"""Mediation referral (调解转介, Arts. 23–24; 2022 Order No. 9 Art. 16).

When a case is referred (`refer`, or a plain `mediate` action the flow picks up with
`prepare_pending`): the mediation organisation is chosen from `[mediation]` by channel
(行业/人民/司法调解) and the case's branch, a case summary without needless personal data is
prepared, the organisation's contact is notified through the outbox, and the clock stays
paused (the lifecycle's `mediate` pauses it; only a recorded result resumes or stops it).
`follow_up` reminds when mediation runs past its configured days; `record_result` moves the
case on: agreement → 调解成功办结 (settle); failure → back to handling (end_mediation), with
arbitration/litigation advice to give the complainant when that is the way forward.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection

from services.automatic import alerts
from services.context import Context
from services.lifecycle.actions import perform
from states import lifecycle as lc
from states.errors import InvalidInput, NotFound
from storage import records
from storage.mediation_referral import MediationReferral
from storage.records import COMPLAINT, EVENT
from storage.rows import ComplaintRow
from storage.schema import table_of
from storage.timeutil import from_db, to_db, utcnow

MEDIATION_REFERRAL = table_of(MediationReferral)
ADVICE = {"arbitration": "仲裁", "litigation": "诉讼"}


@dataclass
class CycleResult:
    prepared: int = 0
    followed_up: int = 0


def settings(ctx: Context) -> dict[str, Any]:
    raw = ctx.config.section("mediation")
    return {
        "follow_up_days": int(raw.get("follow_up_days", 30)),
        "repeat_days": int(raw.get("follow_up_repeat_days", 7)),
        "contact": str(raw.get("default_contact", "role:mediation_contact")),
        "organisations": list(raw.get("organisations", [])),
    }


def choose_organisation(ctx: Context, channel: str, branch: str) -> dict[str, Any]:
    """The configured organisation for this channel: one naming the branch wins over "*"."""
    if channel not in lc.MEDIATION_CHANNELS:
        raise InvalidInput("channel", f"调解渠道取值: {', '.join(lc.MEDIATION_CHANNELS)}")
    cfg = settings(ctx)
    found = [o for o in cfg["organisations"] if o.get("channel") == channel]
    exact = [o for o in found if branch in o.get("branches", [])]
    anywhere = [o for o in found if "*" in o.get("branches", [])]
    pick = (exact or anywhere or [None])[0]
    if pick is None:
        raise InvalidInput(
            "channel",
            f"配置 [mediation] 未为「{lc.MEDIATION_CHANNELS[channel]}」"
            f"和机构 {branch} 指定调解组织",
        )
    return {
        "name": pick["name"],
        "contact": pick.get("contact", cfg["contact"]),
        "follow_up_days": int(pick.get("follow_up_days", cfg["follow_up_days"])),
    }


def _organisation_named(ctx: Context, name: str, channel: str, branch: str) -> dict[str, Any]:
    cfg = settings(ctx)
    for o in cfg["organisations"]:
        if o.get("name") == name:
            return {
                "name": name,
                "contact": o.get("contact", cfg["contact"]),
                "follow_up_days": int(o.get("follow_up_days", cfg["follow_up_days"])),
            }
    try:
        return {**choose_organisation(ctx, channel, branch), "name": name}
    except InvalidInput:
        return {"name": name, "contact": cfg["contact"], "follow_up_days": cfg["follow_up_days"]}


def _latest_decision(conn: Connection, complaint_id: int) -> dict[str, Any]:
    """The fields of the case's latest 处理决定, from its event log."""
    found = conn.execute(
        select(EVENT.c.details)
        .where(EVENT.c.complaint_id == complaint_id, EVENT.c.action == "decide")
        .order_by(EVENT.c.seq.desc())
        .limit(1)
    ).scalar()
    return dict(found or {})


def summary_of(ctx: Context, case: ComplaintRow, *, conn: Connection) -> dict[str, Any]:
    """What a mediator needs to take the case on; no names, ID numbers, phones or addresses
    (2022 Order No. 9: collect and pass on personal data only for a stated purpose)."""
    tax = ctx.config.taxonomy
    received = from_db(case["received_at"])
    decided = _latest_decision(conn, case["id"])
    policy = case["policy_no"] or ""
    return {
        "number": case["number"],
        "received_on": received.astimezone(ctx.tz).date().isoformat() if received else None,
        "channel": tax.channels.get(case["channel"], case["channel"]),
        "branch": tax.branches.get(case["branch"], case["branch"]),
        "category": tax.categories.get(case["category"] or "", case["category"]),
        "product": tax.products.get(case["product"] or "", case["product"]),
        "policy_tail": policy[-4:] if policy else None,
        "amount": case["amount"],
        "claim": case["claim"],
        "facts": case["facts"],
        "decision": {k: decided.get(k) for k in ("facts", "basis", "reasons") if decided.get(k)},
        "complainant": "由调解组织在双方申请后直接联系(本摘要不含个人信息)",
    }


def _prepare(
    ctx: Context,
    case: ComplaintRow,
    *,
    conn: Connection,
    seq: int,
    channel: str,
    organisation: dict[str, Any],
    now: datetime,
    referred_at: datetime,
) -> dict[str, Any]:
    row = {
        "complaint_id": case["id"],
        "event_seq": seq,
        "channel": channel,
        "organisation": organisation["name"],
        "contact": organisation["contact"],
        "summary": summary_of(ctx, case, conn=conn),
        "status": "referred",
        "referred_at": to_db(referred_at),
        "followed_up": 0,
        "follow_up_at": to_db(referred_at + timedelta(days=organisation["follow_up_days"])),
    }
    row["id"] = records.inserted_id(conn.execute(insert(MEDIATION_REFERRAL).values(row)))
    label = lc.MEDIATION_CHANNELS[channel]
    records.enqueue_alert(
        conn,
        dedupe_key=f"mediation:{row['id']}:referral",
        kind="mediation_referral",
        audience=organisation["contact"],
        complaint_id=case["id"],
        event_id=None,
        urgent=False,
        now=now,
        payload=alerts.payload(
            ctx,
            case,
            organisation=organisation["name"],
            channel=label,
            summary=row["summary"],
            title=f"调解转介({label}): 投诉 {case['number']} 转{organisation['name']}",
        ),
    )
    return row


def refer(
    ctx: Context, number: str, *, actor: str, channel: str, at: datetime | None = None
) -> dict[str, Any]:
    """Refer a case to mediation: the organisation from configuration, the clock paused."""
    with ctx.engine.begin() as conn:
        case = records.load_case(conn, number)
        org = choose_organisation(ctx, channel, case["branch"])
        perform(
            ctx,
            number,
            "mediate",
            actor=actor,
            at=at,
            conn=conn,
            fields={"channel": channel, "organisation": org["name"]},
        )
        case = records.load_case(conn, number)
        return _prepare(
            ctx,
            case,
            conn=conn,
            seq=case["event_count"],
            channel=channel,
            organisation=org,
            now=utcnow(),
            referred_at=from_db(case["last_event_at"]) or utcnow(),
        )


def prepare_pending(ctx: Context, *, now: datetime | None = None) -> int:
    """Referrals for cases moved to 调解中 by the plain action (CLI, callbacks) without one."""
    now = now or utcnow()
    open_ref = and_(
        MEDIATION_REFERRAL.c.complaint_id == COMPLAINT.c.id,
        MEDIATION_REFERRAL.c.status == "referred",
    )
    with ctx.engine.connect() as conn:
        numbers = [
            r.number
            for r in conn.execute(
                select(COMPLAINT.c.number)
                .select_from(COMPLAINT.outerjoin(MEDIATION_REFERRAL, open_ref))
                .where(
                    COMPLAINT.c.state == lc.State.mediating.value, MEDIATION_REFERRAL.c.id.is_(None)
                )
            )
        ]
    done = 0
    for number in numbers:
        with ctx.engine.begin() as conn:
            case = records.load_case(conn, number)
            ev = (
                conn.execute(
                    select(EVENT)
                    .where(EVENT.c.complaint_id == case["id"], EVENT.c.action == "mediate")
                    .order_by(EVENT.c.seq.desc())
                )
                .mappings()
                .first()
            )
            if (
                ev is None
                or conn.execute(
                    select(MEDIATION_REFERRAL.c.id).where(
                        MEDIATION_REFERRAL.c.complaint_id == case["id"],
                        MEDIATION_REFERRAL.c.event_seq == ev["seq"],
                    )
                ).first()
            ):
                continue
            details = ev["details"] or {}
            channel = details.get("channel", "industry")
            org = _organisation_named(
                ctx, details.get("organisation") or "", channel, case["branch"]
            )
            _prepare(
                ctx,
                case,
                conn=conn,
                seq=ev["seq"],
                channel=channel,
                organisation=org,
                now=now,
                referred_at=from_db(ev["at"]) or now,
            )
            done += 1
    return done


def follow_up(ctx: Context, *, now: datetime | None = None) -> int:
    """Remind the mediation contact and the case owner when mediation runs past its time."""
    now = now or utcnow()
    cfg = settings(ctx)
    count = 0
    with ctx.engine.begin() as conn:
        rows = (
            conn.execute(
                select(MEDIATION_REFERRAL).where(
                    MEDIATION_REFERRAL.c.status == "referred",
                    MEDIATION_REFERRAL.c.follow_up_at <= to_db(now),
                )
            )
            .mappings()
            .all()
        )
        for ref in rows:
            case = records.load_case_by_id(conn, ref["complaint_id"])
            if lc.State(case["state"]) != lc.State.mediating:
                # Ended through the plain actions: the referral follows the case.
                status = "agreed" if case["state"] == lc.State.closed.value else "failed"
                conn.execute(
                    update(MEDIATION_REFERRAL)
                    .where(MEDIATION_REFERRAL.c.id == ref["id"])
                    .values(
                        status=status, result_at=to_db(now), result="案件已通过生命周期操作结束调解"
                    )
                )
                continue
            referred = from_db(ref["referred_at"]) or now
            days = (now - referred).days
            n = ref["followed_up"] + 1
            title = (
                f"调解跟进: 投诉 {case['number']} 已在{ref['organisation']}调解 {days} 日, "
                "请跟进结果"
            )
            for audience in (ref["contact"], f"user:{case['owner']}" if case["owner"] else None):
                if audience:
                    records.enqueue_alert(
                        conn,
                        dedupe_key=f"mediation:{ref['id']}:follow:{n}:{audience}",
                        kind="mediation_follow_up",
                        audience=audience,
                        complaint_id=case["id"],
                        event_id=None,
                        urgent=False,
                        now=now,
                        payload=alerts.payload(
                            ctx, case, organisation=ref["organisation"], days=days, title=title
                        ),
                    )
            conn.execute(
                update(MEDIATION_REFERRAL)
                .where(MEDIATION_REFERRAL.c.id == ref["id"])
                .values(followed_up=n, follow_up_at=to_db(now + timedelta(days=cfg["repeat_days"])))
            )
            count += 1
    return count


def record_result(
    ctx: Context,
    number: str,
    *,
    actor: str,
    outcome: str,
    result: str,
    agreement: str | None = None,
    analysis: dict[str, str] | None = None,
    root_cause: str | None = None,
    advice: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Record the mediation result and move the case on from it.

    outcome "agreement": 调解成功办结 (settle; the five-dimension analysis and root cause are
    required as for any closure). outcome "failure": back to handling (end_mediation), the
    clock resumes; `advice` ("arbitration"/"litigation") tells the owner which remedy to give
    the complainant (Art. 19)."""
    if outcome not in ("agreement", "failure"):
        raise InvalidInput("outcome", "调解结果取值: agreement(达成协议), failure(调解未成)")
    if advice is not None and advice not in ADVICE:
        raise InvalidInput("advice", f"建议途径取值: {', '.join(ADVICE)}")
    with ctx.engine.begin() as conn:
        case = records.load_case(conn, number)
        ref = (
            conn.execute(
                select(MEDIATION_REFERRAL)
                .where(
                    MEDIATION_REFERRAL.c.complaint_id == case["id"],
                    MEDIATION_REFERRAL.c.status == "referred",
                )
                .order_by(MEDIATION_REFERRAL.c.id.desc())
            )
            .mappings()
            .first()
        )
        if ref is None:
            raise NotFound(f"投诉 {number} 没有进行中的调解转介")
        if outcome == "agreement":
            res = perform(
                ctx,
                number,
                "settle",
                actor=actor,
                at=at,
                conn=conn,
                fields={
                    "agreement": agreement,
                    **(analysis or {}),
                    "root_cause": root_cause,
                    "mediation_result": result,
                },
            )
        else:
            res = perform(
                ctx,
                number,
                "end_mediation",
                actor=actor,
                at=at,
                conn=conn,
                fields={"result": result, "advice": advice},
            )
        now = utcnow()
        conn.execute(
            update(MEDIATION_REFERRAL)
            .where(MEDIATION_REFERRAL.c.id == ref["id"])
            .values(
                status="agreed" if outcome == "agreement" else "failed",
                result=result,
                advice=advice,
                result_at=to_db(at or now),
            )
        )
        if advice:
            fresh = records.load_case(conn, number)
            records.enqueue_alert(
                conn,
                dedupe_key=f"mediation:{ref['id']}:advice",
                kind="mediation_advice",
                audience=f"user:{fresh['owner']}" if fresh["owner"] else "role:handler",
                complaint_id=case["id"],
                event_id=res.event_id,
                urgent=False,
                now=now,
                payload=alerts.payload(
                    ctx,
                    fresh,
                    advice=advice,
                    title=(f"调解未成: 投诉 {number} 请告知投诉人可通过{ADVICE[advice]}途径解决"),
                ),
            )
    return {
        **dict(ref),
        "status": "agreed" if outcome == "agreement" else "failed",
        "state": res.state,
        "advice": advice,
    }


def cycle(ctx: Context, *, now: datetime | None = None) -> CycleResult:
    now = now or utcnow()
    return CycleResult(prepared=prepare_pending(ctx, now=now), followed_up=follow_up(ctx, now=now))


def referrals_of(ctx: Context, number: str) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        return records.rows_of_case(conn, MEDIATION_REFERRAL, number)
