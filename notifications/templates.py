"""Chinese message templates, one per alert kind, for email (subject, an HTML page with the
key facts as a table, and a text alternative with one fact per line), robot markdown (WeCom
flavour; DingTalk/Feishu get it without colour tags) and plain-text channels.

Every message about a case names the case number, its state, priority, handler, the deadline
and its due time, and what the recipient must do; summaries (daily digest, weekly ledger,
report ready) carry their own figures. The dispatcher fills the case fields from the case row
as it is when the alert is sent (notifications/facts.py), not from the copy written when the
alert was queued. Every rendered string passes `scrub()`, which masks any phone or ID number
that slipped into a payload (2022 Order No. 9); masking itself is services/privacy.py, shared
with the CLI. Robot markdown is fitted to each channel's byte limit when it is sent
(notifications/plugins.py `fit_bytes`); long lists are shortened here first, saying how many
more there are. With `[web] base_url` set, a message about a case opens with a link to the case
page (the payload's `case_url`, which notifications/facts.py sets from the case row): a line in
the text, an anchor in the HTML, a markdown link for the robots, first so that no size limit
cuts it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from services.privacy import mask_name, mask_text
from states.ledger import MATTER_KINDS, RESOLUTION_CLASSES
from states.lifecycle import PRIORITIES, STATE_LABELS, State

# C0/C1 controls (but line breaks and tabs), bidi embeddings/overrides/isolates: a value a
# person typed must not drive a terminal or reorder what the recipient reads.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Internal references to the design notes ("(seed 002/004)") are not for the recipients.
_SEED = re.compile(r"\s*[（(]\s*seeds?\s[^)）]*[)）]", re.IGNORECASE)
# Payload keys that hold a person's name or contact, masked before they reach a template.
_NAME_KEYS = ("complainant", "complainant_name", "name", "agent")
MARKDOWN_BUDGET = 3900  # bytes a robot message's lists are shortened to (WeCom allows 4096)
# An address a link can carry in every format: http(s), no spaces, quotes, brackets or angle
# brackets (which would end a markdown link or an HTML attribute early).
LINKABLE = re.compile(r"https?://[^\s\"'<>()\[\]`\\]+", re.IGNORECASE)


def case_url(base: str, number: str) -> str:
    """The case page under `[web] base_url` (web/pages/case.py `GET /cases/{number}`)."""
    return f"{base.rstrip('/')}/cases/{quote(number, safe='')}"


def scrub(text: str) -> str:
    """Design-note references dropped, every phone and ID number masked (however spaced or
    hyphenated: services/privacy.mask_text), control characters other than line breaks
    dropped."""
    text = _SEED.sub("", text)
    text = _CONTROL.sub("", text)
    return mask_text(text) or ""


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str
    markdown: str
    # One line for a robot's @-mention message (WeCom mentions by mobile go as text).
    notice: str = ""
    # Files to attach to an email (report ready); the dispatcher caps their size.
    attachments: tuple[str, ...] = ()


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

# Kinds about one case: each names the case, its state, deadline and what to do.
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
    "mediation_follow_up": _Spec(
        "调解跟进", "请向调解组织了解进展,并在系统中登记调解结果(达成协议或调解不成)。"
    ),
    "mediation_advice": _Spec(
        "调解不成", "请告知投诉人可通过仲裁或诉讼途径解决,并在系统中记录告知情况。"
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
# Summaries: no single case.
SUMMARY_SPECS: dict[str, _Spec] = {
    "ledger_weekly": _Spec(
        "台账周报", "请督促各事项负责人落实化解措施;无负责人的事项请本周内指定负责人。"
    ),
    "report_ready": _Spec("统计报告", "请审阅报告,核对关键指标,并按要求报送。"),
    "notify_unavailable": _Spec(
        "提醒渠道不可用", "请系统管理员设置所列密钥(环境变量或密钥文件),恢复提醒发送。"
    ),
    "import_overdue": _Spec(
        "历史导入逾期汇总", "请逐件指定承办人并督办所列已逾期的在办投诉(导入时未逐件升级)。"
    ),
}
GENERIC = _Spec("投诉提醒", "请登录投诉处理系统查看并处理。")
KINDS = {**SPECS, **SUMMARY_SPECS}

# Report figures shown in the report-ready alert: (key, label, kind).
REPORT_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("volume", "投诉量", "count"),
    ("forwarded", "监管转办量", "count"),
    ("accepted_24h", "24 小时受理率", "share"),
    ("decided_15", "15 日内决定占比", "share"),
    ("beyond_30", "超 30 日件数", "count"),
    ("repeat_rate", "重复投诉率", "share"),
    ("backlog", "积案数", "count"),
    ("satisfaction", "满意率", "share"),
)


@dataclass
class _Table:
    heading: str
    columns: list[str]
    rows: list[list[str]]
    more: int = 0  # rows left out of a robot message (listed in the email)


@dataclass
class _Doc:
    label: str
    headline: str
    facts: list[tuple[str, str]]
    action: str
    tables: list[_Table] = field(default_factory=list)
    attachments: tuple[str, ...] = ()
    footnote: str = ""
    alarm: bool = False  # overdue or urgent: the deadline shows in red
    link: str = ""  # the case page ([web] base_url), shown right under the subject
    link_label: str = ""
    row_links: dict[str, str] = field(default_factory=dict)  # a row's first cell → its page


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


def _remaining(due: Any, now: datetime | None) -> tuple[str, bool]:
    """ "剩余 2 天 3 小时" or "已超时 5 小时", and whether it is overdue."""
    if not due or now is None:
        return "", False
    try:
        at = datetime.fromisoformat(str(due))
    except ValueError:
        return "", False
    if at.tzinfo is None:
        return "", False
    delta = at - now
    overdue = delta.total_seconds() <= 0
    left = abs(delta)
    days, hours = left.days, left.seconds // 3600
    span = f"{days} 天 {hours} 小时" if days else f"{hours} 小时 {left.seconds % 3600 // 60} 分"
    return (f"已超时 {span}" if overdue else f"剩余 {span}"), overdue


def _state(value: Any) -> str:
    try:
        return STATE_LABELS[State(str(value))]
    except ValueError:
        return str(value or "—")


def _case_facts(
    payload: Mapping[str, Any],
    deadline_labels: Mapping[str, str],
    tz: ZoneInfo,
    now: datetime | None,
) -> tuple[list[tuple[str, str]], bool]:
    deadline = payload.get("deadline") or payload.get("deadline_name")
    rows = [
        ("案件编号", str(payload.get("number") or "—")),
        ("当前状态", _state(payload.get("state"))),
    ]
    if payload.get("priority") in PRIORITIES:
        rows.append(("优先级", PRIORITIES[payload["priority"]]))
    if payload.get("category_label"):
        rows.append(("投诉类别", str(payload["category_label"])))
    if payload.get("branch_label") or payload.get("branch"):
        rows.append(("所属机构", str(payload.get("branch_label") or payload["branch"])))
    if payload.get("owner"):
        rows.append(("经办人", str(payload.get("owner_name") or payload["owner"])))
    overdue = False
    if deadline:
        rows.append(("时限", deadline_labels.get(str(deadline), str(deadline))))
    due = payload.get("due") or payload.get("due_at")
    if due or deadline:
        left, overdue = _remaining(due, now)
        rows.append(("到期时间", _local(due, tz) + (f"({left})" if left else "")))
    if payload.get("media_involved"):
        rows.append(("舆情", "涉及媒体/网络舆情,已启动舆情应急预案"))
    if payload.get("regulator_forwarded"):
        rows.append(("来源", "监管转办"))
    if payload.get("level"):
        label = payload.get("level_label") or ""
        rows.append(("升级级别", f"第 {payload['level']} 级 {label}".strip()))
    for key in _NAME_KEYS:
        if payload.get(key):
            rows.append(("投诉人", mask_name(str(payload[key])) or ""))
            break
    return rows, overdue


def _headline(kind: str, payload: Mapping[str, Any], label: str) -> str:
    """What happened, naming the case number once."""
    number = str(payload.get("number") or "")
    title = str(payload.get("title") or "")
    # Titles written by the sweeps may start with their own label ("调解跟进: …", "会商通知:
    # …"), which the subject already shows: drop it. Others ("舆情投诉: …") are the news.
    for sep in (":", ":"):
        head, found, rest = title.partition(sep)
        if found and head[:2] == label[:2] and rest.strip():
            title = rest.strip()
            break
    if title and number and number in title:
        return title
    if title:
        return f"投诉 {number} {title}".strip()
    return f"投诉 {number} {payload.get('level_label') or ''}".strip()


def _case_doc(
    kind: str,
    payload: Mapping[str, Any],
    deadline_labels: Mapping[str, str],
    tz: ZoneInfo,
    now: datetime | None,
    options: Mapping[str, Any],
) -> _Doc:
    spec = SPECS.get(kind, GENERIC)
    label = spec.title if kind in SPECS else str(payload.get("title") or spec.title)
    action = str(payload.get("action") or spec.action)
    if kind == "escalation":
        level = int(payload.get("level") or 0)
        action = str(payload.get("action") or LEVEL_ACTIONS.get(level, LEVEL_ACTIONS[3]))
        label = f"升级督办·第{level}级" if level else label
    facts, overdue = _case_facts(payload, deadline_labels, tz, now)
    headline = (
        _headline(kind, payload, label)
        if kind in SPECS
        else f"投诉 {payload.get('number') or ''}".strip()
    )
    tables: list[_Table] = []
    extra: list[tuple[str, str]] = []
    if kind in ("consultation_invite", "consultation_reminder"):
        extra.append(("会商时间", _local(payload.get("meeting_at"), tz)))
        minutes = payload.get("meeting_minutes") or options.get("meeting_minutes")
        if minutes:
            extra.append(("时长", f"{minutes} 分钟"))
        extra.append(("地点", str(payload.get("place") or options.get("place") or "另行通知")))
        members = list(payload.get("departments") or [])
        if payload.get("owner"):
            members.append(f"经办人 {payload.get('owner_name') or payload['owner']}")
        if members:
            extra.append(("参会人员", "、".join(map(str, members))))
        agenda = [
            f"议题: {payload.get('reason') or '研究该投诉的处理意见'}",
            "听取经办人汇报案情与调查情况",
            "各部门发表意见,形成处理决定或下一步措施",
        ]
        tables.append(
            _Table("会商议程", ["序号", "事项"], [[str(i + 1), a] for i, a in enumerate(agenda)])
        )
    elif kind.startswith("mediation_"):
        if payload.get("organisation"):
            extra.append(("调解组织", str(payload["organisation"])))
        if payload.get("channel"):
            extra.append(("调解方式", str(payload["channel"])))
        if payload.get("days") is not None:
            extra.append(("已调解", f"{payload['days']} 日"))
        if payload.get("advice"):
            advice = {"arbitration": "仲裁", "litigation": "诉讼"}.get(str(payload["advice"]))
            extra.append(("建议途径", advice or str(payload["advice"])))
        summary = payload.get("summary")
        if isinstance(summary, Mapping):
            sent = [
                ("受理日期", summary.get("received_on")),
                ("投诉渠道", summary.get("channel")),
                ("机构", summary.get("branch")),
                ("类别", summary.get("category")),
                ("产品", summary.get("product")),
                ("保单尾号", summary.get("policy_tail")),
                ("涉及金额", f"{summary['amount']:,.2f} 元" if summary.get("amount") else None),
                ("诉求", summary.get("claim")),
                ("事实与理由", summary.get("facts")),
                ("投诉人信息", summary.get("complainant")),
            ]
            tables.append(
                _Table(
                    "已发送调解组织的摘要(不含个人信息)",
                    ["项目", "内容"],
                    [[k, str(v)] for k, v in sent if v],
                )
            )
    elif kind.startswith("callback_"):
        if payload.get("attempt"):
            extra.append(("回访次数", f"第 {payload['attempt']} 次"))
        if payload.get("window_end"):
            extra.append(("回访窗口截止", _local(payload["window_end"], tz)))
        if payload.get("assignee"):
            extra.append(("回访人", str(payload["assignee"])))
        if payload.get("overdue_since"):
            extra.append(("逾期自", _local(payload["overdue_since"], tz)))
    if (payload.get("reason") or payload.get("note")) and not kind.startswith("consultation_"):
        extra.append(("说明", str(payload.get("reason") or payload.get("note"))))
    alarm = overdue or kind in ("deadline_breach", "immediate_escalation", "callback_overdue")
    return _Doc(label, headline, facts + extra, action, tables, alarm=alarm)


def _pct(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}%"


def _num(value: Any) -> str:
    if value is None:
        return "—"
    f = float(value)
    return f"{int(f):,}" if f == int(f) else f"{f:,.2f}"


def _ledger_doc(payload: Mapping[str, Any], options: Mapping[str, Any]) -> _Doc:
    spec = SUMMARY_SPECS["ledger_weekly"]
    week = str(payload.get("week") or "")
    facts = [
        ("周次", week or "—"),
        ("在册未化解事项", f"{payload.get('open', 0)} 件"),
        ("本周新增", f"{payload.get('new_this_week', 0)} 件"),
        ("本周化解", f"{payload.get('resolved_this_week', 0)} 件"),
        ("逾期未化解(超过积案期限)", f"{payload.get('overdue', 0)} 件"),
        ("无负责人", f"{payload.get('unowned', 0)} 件"),
        ("涉及监管转办", f"{payload.get('regulator_items', 0)} 件"),
    ]
    tables = [
        _Table(
            "按类型",
            ["类型", "件数"],
            [[MATTER_KINDS.get(k, k), str(v)] for k, v in (payload.get("by_kind") or {}).items()],
        )
    ]
    if payload.get("by_class"):
        tables.append(
            _Table(
                "按化解分类",
                ["分类", "件数"],
                [
                    [RESOLUTION_CLASSES.get(k, k) if k else "未分类", str(v)]
                    for k, v in payload["by_class"].items()
                ],
            )
        )
    if payload.get("by_branch"):
        tables.append(
            _Table(
                "事项最多的机构",
                ["机构", "未化解件数"],
                [
                    [str(b.get("branch_label") or b.get("branch")), str(b.get("open"))]
                    for b in payload["by_branch"]
                ],
            )
        )
    if payload.get("top"):
        tables.append(
            _Table(
                "投诉最多的事项",
                ["事项", "类型", "投诉件数", "负责人"],
                [
                    [
                        str(t.get("matter")),
                        MATTER_KINDS.get(str(t.get("kind")), str(t.get("kind"))),
                        str(t.get("complaints")),
                        str(t.get("owner") or "未指定"),
                    ]
                    for t in payload["top"]
                ],
            )
        )
    return _Doc(
        spec.title,
        f"{week} 重复投诉与积案台账: 未化解 {payload.get('open', 0)} 件",
        facts,
        spec.action,
        tables,
        footnote="明细: tousu ledger list / tousu ledger export",
    )


def _report_doc(payload: Mapping[str, Any], options: Mapping[str, Any]) -> _Doc:
    spec = SUMMARY_SPECS["report_ready"]
    period = str(payload.get("period_title") or payload.get("period") or "")
    figures = dict(payload.get("figures") or {})
    figures.setdefault("volume", payload.get("volume"))
    facts = [("统计期间", period or "—")]
    for key, label, kind in REPORT_FIGURES:
        if key in figures and figures[key] is not None:
            facts.append((label, _pct(figures[key]) if kind == "share" else _num(figures[key])))
    files = [str(payload[k]) for k in ("excel", "html") if payload.get(k)]
    rows = [[Path(f).name, f] for f in files]
    return _Doc(
        spec.title,
        f"投诉统计报告 {period} 已生成",
        facts,
        spec.action,
        [_Table("报告文件", ["文件", "位置(服务器)"], rows)] if rows else [],
        attachments=tuple(files),
    )


def _unavailable_doc(payload: Mapping[str, Any]) -> _Doc:
    spec = SUMMARY_SPECS["notify_unavailable"]
    gone = [str(g) for g in payload.get("channels") or []]
    return _Doc(
        spec.title,
        f"{len(gone)} 个提醒渠道因缺少密钥无法发送",
        [("发现时间", str(payload.get("since") or "—"))],
        spec.action,
        [_Table("不可用的渠道", ["渠道与缺少的密钥"], [[g] for g in gone])],
        footnote="检查: tousu notifications status;设置后: tousu notifications test --all",
        alarm=True,
    )


def _digest_doc(
    payload: Mapping[str, Any], deadline_labels: Mapping[str, str], tz: ZoneInfo
) -> _Doc:
    items = list(payload.get("items") or [])
    day = str(payload.get("day", ""))
    overdue = sum(1 for it in items if str(it.get("status") or "").startswith("已超时"))
    rows = [
        [
            str(it.get("number") or "—"),
            _state(it.get("state")),
            deadline_labels.get(str(it.get("deadline")), str(it.get("deadline") or "—")),
            _local(it.get("due"), tz),
            str(it.get("status") or ""),
        ]
        for it in items
    ]
    action = SPECS["daily_digest"].action if items else "今日无待督办事项。"
    base = str(payload.get("case_base") or "")
    links = (
        {str(it["number"]): case_url(base, str(it["number"])) for it in items if it.get("number")}
        if LINKABLE.fullmatch(base)
        else {}
    )
    return _Doc(
        "每日汇总",
        f"{day} 待督办投诉 {len(items)} 件",
        [("日期", day or "—"), ("待督办", f"{len(items)} 件"), ("其中已超时", f"{overdue} 件")],
        action,
        [_Table("待督办投诉", ["案件编号", "状态", "时限", "到期时间", "情况"], rows)],
        footnote="完整清单: tousu queue --scope all",
        row_links=links,
    )


_FOOTER = "本消息由投诉处理系统自动发送,个人信息已脱敏;请勿直接回复。"


def _text(doc: _Doc, subject: str) -> str:
    lines = [subject, ""]
    if doc.link:  # first in the body: a channel's size limit cuts from the end
        lines += [f"{doc.link_label}: {doc.link}", ""]
    lines += [f"{k}: {_one_line(v)}" for k, v in doc.facts]  # one fact per line, always
    for t in doc.tables:
        lines += ["", f"{t.heading}:"]
        lines.append("  " + " | ".join(t.columns))
        lines += ["  " + " | ".join(r) + _suffix(doc.row_links.get(r[0])) for r in t.rows]
    lines += ["", f"请您: {doc.action}"]
    if doc.footnote:
        lines.append(doc.footnote)
    lines += ["", _FOOTER]
    return "\n".join(lines)


def _suffix(link: str | None) -> str:
    return f" {link}" if link else ""


def _html(doc: _Doc, subject: str) -> str:
    e = html.escape
    box = "border:1px solid #ccc;padding:6px 10px;text-align:left"
    cell = f'style="{box};vertical-align:top"'
    head = f'style="{box};background:#f4f6f8;white-space:nowrap"'
    rows = []
    for k, v in doc.facts:
        style = ' style="color:#c0392b;font-weight:bold"' if doc.alarm and k == "到期时间" else ""
        rows.append(
            f'<tr><th scope="row" {head}>{e(k)}</th><td {cell}><span{style}>{e(v)}</span></td></tr>'
        )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{e(subject)}</title></head>",
        "<body style=\"font-family:-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;"
        'font-size:14px;color:#222;line-height:1.6">',
        f'<h2 style="font-size:18px;margin:0 0 12px">{e(subject)}</h2>',
        '<table class="facts" style="border-collapse:collapse;margin-bottom:16px">'
        f"{''.join(rows)}</table>",
    ]
    if doc.link:
        parts.insert(
            -1,
            f'<p style="margin:0 0 12px"><a href="{e(doc.link)}" style="color:#1a5fb4">'
            f"{e(doc.link_label)}</a></p>",
        )
    for t in doc.tables:
        header = "".join(f'<th scope="col" {head}>{e(c)}</th>' for c in t.columns)

        def td(i: int, c: str) -> str:
            link = doc.row_links.get(c) if i == 0 else None
            return (
                f'<td {cell}><a href="{e(link)}">{e(c)}</a></td>'
                if link
                else f"<td {cell}>{e(c)}</td>"
            )

        body = "".join(
            "<tr>" + "".join(td(i, c) for i, c in enumerate(r)) + "</tr>" for r in t.rows
        )
        parts.append(f'<h3 style="font-size:15px;margin:16px 0 6px">{e(t.heading)}</h3>')
        parts.append(
            f'<table style="border-collapse:collapse"><thead><tr>{header}</tr></thead>'
            f"<tbody>{body}</tbody></table>"
        )
    parts.append(
        '<p style="margin-top:16px;padding:10px;background:#fff8e1;border-left:4px solid #f0ad4e">'
        f"<strong>请您:</strong>{e(doc.action)}</p>"
    )
    if doc.footnote:
        parts.append(f'<p style="color:#555">{e(doc.footnote)}</p>')
    parts.append(f'<p style="color:#888;font-size:12px">{e(_FOOTER)}</p></body></html>')
    return "\n".join(parts)


# Robot markdown: the characters that open a header, a link or image, a quote, a tag, code,
# a table or strike-through in WeCom/DingTalk/Feishu markdown, as their full-width twins.
# `*` and `_` stay: masks are written with `*` (138****8000), usernames hold `_`, and
# emphasis can change no link, heading or recipient.
_MD_SPECIAL = str.maketrans(
    {
        "<": "＜",
        ">": "＞",
        "[": "［",
        "]": "］",
        "(": "（",
        ")": "）",
        "`": "｀",
        "#": "＃",
        "~": "～",
        "|": "｜",
        "!": "！",
        "\\": "＼",
        "=": "＝",
    }
)


def _one_line(value: str) -> str:
    """A value kept on its own line: line breaks become spaces."""
    return (
        " ".join(value.split("\n")).replace("\r", " ") if "\n" in value or "\r" in value else value
    )


def _md(value: str) -> str:
    """A value for robot markdown: on one line, markup characters neutralised, and no bare
    address a client would turn into a link."""
    return _one_line(value).translate(_MD_SPECIAL).replace("://", "：//")


def _md_row(row: list[str], link: str | None) -> str:
    if not link:
        return f"- {_md(' · '.join(row))}"
    rest = f" · {_md(' · '.join(row[1:]))}" if row[1:] else ""
    return f"- [{_md(row[0])}]({link}){rest}"


def _markdown(doc: _Doc, subject: str, budget: int = MARKDOWN_BUDGET) -> str:
    """WeCom-flavoured markdown; long tables are shortened (from the end) to fit `budget`
    bytes, saying how many rows are left out."""
    tables = [_Table(t.heading, t.columns, list(t.rows), t.more) for t in doc.tables]

    def build() -> str:
        out = [f"### {_md(subject)}"]
        if doc.link:  # first under the heading: fit_bytes cuts from the end
            out.append(f"[{_md(doc.link_label)}]({doc.link})")
        for k, v in doc.facts:
            color = "warning" if doc.alarm and k == "到期时间" else "comment"
            out.append(f'> {_md(k)}: <font color="{color}">{_md(v)}</font>')
        for t in tables:
            out.append(f"**{_md(t.heading)}**")
            out += [_md_row(r, doc.row_links.get(r[0]) if r else None) for r in t.rows]
            if t.more:
                out.append(f"- …另有 {t.more} 项,详见邮件或系统")
        out.append(f'**请您**: <font color="warning">{_md(doc.action)}</font>')
        if doc.footnote:
            out.append(f'<font color="comment">{_md(doc.footnote)}</font>')
        return "\n".join(out)

    text = build()
    while len(text.encode("utf-8")) > budget:
        longest = max(tables, key=lambda t: len(t.rows), default=None)
        if longest is None or not longest.rows:
            break  # nothing left to shorten: fit_bytes cuts at send time
        drop = max(1, len(longest.rows) // 8)
        del longest.rows[-drop:]
        longest.more += drop
        text = build()
    return text


def _import_doc(payload: Mapping[str, Any], tz: ZoneInfo) -> _Doc:
    """Bulk import: the open imported complaints already past a deadline, told once."""
    spec = SUMMARY_SPECS["import_overdue"]
    total = int(payload.get("overdue") or 0)
    cases = list(payload.get("cases") or [])
    table = _Table(
        "已逾期的在办投诉",
        ["编号", "已逾期的期限", "最早到期"],
        [
            [str(c.get("number")), str(c.get("deadlines") or ""), _local(c.get("due"), tz)]
            for c in cases
        ],
        more=max(0, total - len(cases)),
    )
    return _Doc(
        spec.title,
        f"导入 {payload.get('source') or ''} 的在办投诉中 {total} 件已逾期",
        [("导入来源", str(payload.get("source") or "—")), ("已逾期件数", f"{total} 件")],
        spec.action,
        [table],
        footnote="明细: tousu queue --scope all",
        alarm=True,
    )


def render(
    kind: str,
    payload: Mapping[str, Any],
    *,
    deadline_labels: Mapping[str, str],
    tz: ZoneInfo,
    now: datetime | None = None,
    options: Mapping[str, Any] | None = None,
) -> Message:
    """The message of one alert. `now` (the dispatch time) adds the time left or overdue;
    `options`: `place` and `meeting_minutes` of consultations."""
    opts = options or {}
    if kind == "daily_digest":
        doc = _digest_doc(payload, deadline_labels, tz)
    elif kind == "ledger_weekly":
        doc = _ledger_doc(payload, opts)
    elif kind == "report_ready":
        doc = _report_doc(payload, opts)
    elif kind == "notify_unavailable":
        doc = _unavailable_doc(payload)
    elif kind == "import_overdue":
        doc = _import_doc(payload, tz)
    else:
        doc = _case_doc(kind, payload, deadline_labels, tz, now, opts)
        link = str(payload.get("case_url") or "")
        if link and payload.get("number") and LINKABLE.fullmatch(link):
            doc.link = link
            doc.link_label = f"在系统中打开案件 {payload['number']}"
    doc.facts = [(k, scrub(v)) for k, v in doc.facts]
    doc.link_label = scrub(doc.link_label)
    doc.action = scrub(doc.action)
    for t in doc.tables:
        t.rows = [[scrub(c) for c in r] for r in t.rows]
    subject = _one_line(scrub(f"【{doc.label}】{doc.headline}".strip()))
    number = str(payload.get("number") or "")
    notice = f"请及时查看: {subject}" if number or doc.alarm else f"请查看: {subject}"
    return Message(
        subject=subject,
        text=_text(doc, subject),
        html=_html(doc, subject),
        markdown=_markdown(doc, subject),
        notice=scrub(notice),
        attachments=doc.attachments,
    )
