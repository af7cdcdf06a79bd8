"""Chinese message templates, one per alert kind, for email (subject + HTML; Apprise adds the
text alternative), WeCom (markdown ≤ 4096 bytes) and plain-text channels.

Every message names the case number, its state, the deadline and what the recipient must do.
Every rendered string passes `scrub()`, which masks any phone or ID number that slipped into a
payload (2022 Order No. 9); masking itself is services/privacy.py, shared with the CLI.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from notifications.plugins import fit_bytes
from services.privacy import mask_id, mask_name, mask_phone
from states.lifecycle import PRIORITIES, STATE_LABELS, State

# Not preceded or followed by a letter or digit: case numbers (TS2026030200000123) stay.
_PHONE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86[- ]?)?1[3-9]\d{9}(?![0-9A-Za-z])")
_LANDLINE = re.compile(r"(?<![0-9A-Za-z])0\d{2,3}-\d{7,8}(?![0-9A-Za-z])")
_ID18 = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
_ID15 = re.compile(r"(?<![0-9A-Za-z])\d{15}(?![0-9A-Za-z])")
# Payload keys that hold a person's name or contact, masked before they reach a template.
_NAME_KEYS = ("complainant", "complainant_name", "name", "agent")


def scrub(text: str) -> str:
    text = _ID18.sub(lambda m: mask_id(m.group()) or "", text)
    text = _ID15.sub(lambda m: mask_id(m.group()) or "", text)
    text = _PHONE.sub(lambda m: mask_phone(m.group()[-11:]) or "", text)
    return _LANDLINE.sub(lambda m: mask_phone(m.group()) or "", text)


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str
    markdown: str


@dataclass(frozen=True)
class _Spec:
    title: str  # 【…】 prefix
    action: str  # what the recipient must do


# Escalation ladder levels (config escalation.levels): what each level's recipient must do.
LEVEL_ACTIONS = {
    1: "请经办人核对进度,在时限内完成本阶段工作。",
    2: "请组长督办:确认经办人、排除障碍,必要时申请延期(第十八条)或启动会商。",
    3: "请部门负责人立即介入,指定专人限时办结,并说明超时原因。",
    4: "请消委会指导处置:研判风险,决定会商、调解或上报事项。",
}

SPECS: dict[str, _Spec] = {
    "deadline_warning": _Spec(
        "时限预警", "请在到期前完成该时限对应的工作;确需延期的,按第十八条报批并告知投诉人。"
    ),
    "deadline_breach": _Spec("已超时", "时限已届满:请立即处理,记录超时原因并报告主管。"),
    "escalation": _Spec("升级督办", ""),
    "consultation_invite": _Spec("会商邀请", "请按时参加会商,并提前准备本部门意见与材料。"),
    "consultation_reminder": _Spec("会商提醒", "会商尚未形成决定:请尽快参加或提交本部门意见。"),
    "mediation_referral": _Spec(
        "调解转介", "请跟进调解进展并登记结果;调解期间处理时限暂停(第二十三条)。"
    ),
    "immediate_escalation": _Spec(
        "立即升级", "请立即介入督办:按标题所示事项启动相应预案,并在系统中记录处置情况。"
    ),
    "callback_overdue": _Spec("回访逾期", "回访已逾期未登记:请督促回访人今日完成回访并登记结果。"),
    "callback_due": _Spec(
        "回访到期", "请在工作时间内完成满意度回访(满意/基本满意/不满意及 NPS)并登记结果。"
    ),
    "daily_digest": _Spec("每日汇总", "请逐件督办以下未结升级与超时投诉。"),
    "test": _Spec("测试消息", "这是一条路由测试消息,无需处理。"),
}
GENERIC = _Spec("投诉提醒", "请登录投诉处理系统查看并处理。")


def _local(value: Any, tz: ZoneInfo) -> str:
    if not value:
        return "—"
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    at = at.astimezone(tz) if at.tzinfo else at
    if at.hour == 0 and at.minute == 0:
        # A day-counted deadline ends at 24:00 of its last day (Civil Code Art. 201).
        return (at - timedelta(days=1)).strftime("%Y-%m-%d 24:00")
    return at.strftime("%Y-%m-%d %H:%M")


def _state(value: Any) -> str:
    try:
        return STATE_LABELS[State(str(value))]
    except ValueError:
        return str(value or "—")


def _facts(
    payload: Mapping[str, Any], deadline_labels: Mapping[str, str], tz: ZoneInfo
) -> list[tuple[str, str]]:
    deadline = payload.get("deadline") or payload.get("deadline_name")
    rows = [
        ("案件编号", str(payload.get("number") or "—")),
        ("当前状态", _state(payload.get("state"))),
    ]
    if deadline:
        rows.append(("时限", deadline_labels.get(str(deadline), str(deadline))))
    due = payload.get("due") or payload.get("due_at")
    if due or deadline:
        rows.append(("到期时间", _local(due, tz)))
    if payload.get("priority") in PRIORITIES:
        rows.append(("优先级", PRIORITIES[payload["priority"]]))
    if payload.get("media_involved"):
        rows.append(("舆情", "涉及媒体/网络舆情,已启动舆情应急预案"))
    if payload.get("level"):
        label = payload.get("level_label") or ""
        rows.append(("升级级别", f"第 {payload['level']} 级 {label}".strip()))
    if payload.get("meeting_at"):
        rows.append(("会商时间", _local(payload["meeting_at"], tz)))
    if payload.get("departments"):
        rows.append(("参会部门", "、".join(map(str, payload["departments"]))))
    if payload.get("organisation"):
        rows.append(("调解组织", str(payload["organisation"])))
    for key in _NAME_KEYS:
        if payload.get(key):
            rows.append(("投诉人", mask_name(str(payload[key])) or ""))
            break
    if payload.get("assignee"):
        rows.append(("回访人", str(payload["assignee"])))
    if payload.get("reason") or payload.get("note"):
        rows.append(("说明", str(payload.get("reason") or payload.get("note"))))
    return rows


def render(
    kind: str, payload: Mapping[str, Any], *, deadline_labels: Mapping[str, str], tz: ZoneInfo
) -> Message:
    if kind == "daily_digest":
        return _digest(payload, deadline_labels, tz)
    spec = SPECS.get(kind, GENERIC)
    title = spec.title if kind in SPECS else str(payload.get("title") or spec.title)
    action = str(payload.get("action") or spec.action)
    if kind == "escalation":
        level = int(payload.get("level") or 0)
        action = str(payload.get("action") or LEVEL_ACTIONS.get(level, LEVEL_ACTIONS[3]))
        title = f"升级督办·第{level}级" if level else title
    elif kind == "immediate_escalation" and payload.get("title"):
        # 重大 / 舆情 / 监管转办: the sweep names what happened and to whom it goes.
        title = str(payload["title"])
    number = payload.get("number") or ""
    subject = scrub(f"【{title}】投诉 {number} {payload.get('level_label') or ''}".strip())
    facts = [(k, scrub(v)) for k, v in _facts(payload, deadline_labels, tz)]
    action = scrub(action)
    text = "\n".join([subject, *(f"{k}: {v}" for k, v in facts), f"请您: {action}"])
    md = "\n".join(
        [
            f"### {_md(subject)}",
            *(f'> {k}: <font color="comment">{_md(v)}</font>' for k, v in facts),
            f'**请您**: <font color="warning">{_md(action)}</font>',
        ]
    )
    body = "".join(
        f"<tr><th align=left>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in facts
    )
    page = (
        f"<h3>{html.escape(subject)}</h3><table>{body}</table>"
        f"<p><b>请您:</b>{html.escape(action)}</p>"
        '<p style="color:#888">本邮件由投诉处理系统自动发送,个人信息已脱敏。</p>'
    )
    return Message(subject=subject, text=text, html=page, markdown=fit_bytes(md))


def _digest(
    payload: Mapping[str, Any], deadline_labels: Mapping[str, str], tz: ZoneInfo
) -> Message:
    items = list(payload.get("items") or [])
    day = payload.get("day", "")
    subject = f"【每日汇总】{day} 待督办投诉 {len(items)} 件"
    lines, rows, md = [], [], []
    for it in items:
        dl = deadline_labels.get(str(it.get("deadline")), str(it.get("deadline") or "—"))
        cells = [
            str(it.get("number") or "—"),
            _state(it.get("state")),
            dl,
            _local(it.get("due"), tz),
            str(it.get("status") or ""),
        ]
        cells = [scrub(c) for c in cells]
        lines.append(" | ".join(cells))
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        md.append(
            f"- {_md(cells[0])} {_md(cells[1])} · {_md(cells[2])} 到期 {cells[3]} "
            f'<font color="warning">{_md(cells[4])}</font>'
        )
    action = SPECS["daily_digest"].action if items else "今日无待督办事项。"
    text = "\n".join(
        [subject, "案件编号 | 状态 | 时限 | 到期时间 | 情况", *lines, f"请您: {action}"]
    )
    page = (
        f"<h3>{html.escape(subject)}</h3><table><tr><th>案件编号</th><th>状态</th>"
        f"<th>时限</th><th>到期时间</th><th>情况</th></tr>{''.join(rows)}</table>"
        f"<p><b>请您:</b>{html.escape(action)}</p>"
    )
    # WeCom refuses > 4096 bytes: list as many as fit and say how many more there are.
    head, tail = f"### {subject}", f"**请您**: {action}"
    shown: list[str] = []
    for i, line in enumerate(md):
        candidate = "\n".join([head, *shown, line, f"…另有 {len(md) - i - 1} 件,详见邮件", tail])
        if len(candidate.encode("utf-8")) > 4000:
            shown.append(f"…另有 {len(md) - i} 件,详见邮件或 tousu queue")
            break
        shown.append(line)
    return Message(
        subject=subject, text=text, html=page, markdown=fit_bytes("\n".join([head, *shown, tail]))
    )


def _md(value: str) -> str:
    return value.replace("<", "＜").replace(">", "＞")
