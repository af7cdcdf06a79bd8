"""The case file (卷宗) beside the lifecycle: contacts with the complainant (联系记录), evidence
files (证据材料) and rectification items (整改事项). Pure rules: codes with their Chinese labels,
the statuses an item may move between and the rungs of the overdue ladder. No database, no I/O.

- Contacts (Art. 17: communicate with the complainant in time; Art. 7: reception recorded on
  audio/video, of which tousu keeps the recording's reference, docs/rules.md §3).
- Evidence (Art. 28: the handling record is kept): the file itself is kept encrypted outside
  the database; the event log keeps its SHA-256 and size.
- Rectification (以案促改, docs/rules.md §4): root causes found in a case become items with an
  owning department and a due date; overdue items climb `[[rectification.ladder]]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# ---- Events these records append to the complaint's history --------------------------------

CONTACT = "contact"
ATTACH = "attach"
EVIDENCE_ERASED = "evidence_erased"
VIEW_EVIDENCE = "view_evidence"
RENDER_LETTER = "render_letter"
RECTIFY_ADD = "rectify_add"
RECTIFY_UPDATE = "rectify_update"
RECTIFY_OVERDUE = "rectify_overdue"
CONTACT_ADDRESS = "contact_address"  # the complainant's e-mail recorded (messages)
MESSAGE_DISMISSED = "message_dismissed"  # unsent messages to the complainant given up

# The acceptance-notice deadline (`[deadlines.acceptance_notice]`, internal, optional): met
# when the acceptance notice is given, by a message sent, the acceptance letter posted or a
# contact recorded as the acceptance notice (a contact whose details name it, below).
ACCEPTANCE_NOTICE = "acceptance_notice"


def gives_acceptance_notice(details: dict[str, object] | None) -> bool:
    """Whether a contact with these details is the acceptance notice."""
    d = details or {}
    return d.get("notice") == "acceptance" or d.get("letter") == "acceptance"


EVENT_LABELS: dict[str, str] = {
    CONTACT: "联系投诉人",
    ATTACH: "附件入卷",
    EVIDENCE_ERASED: "证据材料删除(超过保存期限)",
    VIEW_EVIDENCE: "取出证据材料",
    RENDER_LETTER: "出具告知书(含完整个人信息)",
    RECTIFY_ADD: "新增整改事项",
    RECTIFY_UPDATE: "更新整改事项",
    RECTIFY_OVERDUE: "整改逾期升级",
    CONTACT_ADDRESS: "登记投诉人电子邮箱",
    MESSAGE_DISMISSED: "撤销未发出的告知消息",
}

# ---- Contacts --------------------------------------------------------------------------------

CHANNELS: dict[str, str] = {
    "phone": "电话",
    "sms": "短信",
    "email": "电子邮件",
    "visit": "来访/面谈",
    "letter": "信函",
}
DIRECTIONS: dict[str, str] = {"out": "我方联系", "in": "投诉人来电/来访"}
# Channels the Art. 7 recording rule concerns: a call, or a conversation face to face.
RECORDED_CHANNELS = frozenset({"phone", "visit"})

# ---- Evidence --------------------------------------------------------------------------------

EVIDENCE_KINDS: dict[str, str] = {
    "recording": "录音录像",
    "letter": "书面函件",
    "id-document": "身份证明",
    "invoice": "票据/发票",
    "photo": "照片",
    "other": "其他",
}

# ---- Letters (告知书): kind → (title, the action whose event the letter reports) ------------

LETTER_KINDS: dict[str, tuple[str, str]] = {
    "acceptance": ("投诉受理告知书", "accept"),
    "extension": ("延长处理期限告知书", "extend"),  # Art. 18
    "appraisal": ("暂停处理期限告知书", "start_appraisal"),  # Art. 18: appraisal time not counted
    "decision": ("投诉处理决定告知书", "decide"),  # Art. 19
    "decline": ("不予办理告知书", "decline"),  # Art. 18 para. 4
    "review": ("核查结论告知书", "conclude_review"),  # Art. 20
    "mediation": ("调解转介告知书", "mediate"),  # Arts. 23-24
}

# ---- Rectification ---------------------------------------------------------------------------

OPEN_ITEM, IN_PROGRESS, DONE, CANCELLED = "open", "in_progress", "done", "cancelled"
ITEM_STATUSES: dict[str, str] = {
    OPEN_ITEM: "待整改",
    IN_PROGRESS: "整改中",
    DONE: "已完成",
    CANCELLED: "已撤销",
}
ITEM_MOVES: dict[str, frozenset[str]] = {
    OPEN_ITEM: frozenset({IN_PROGRESS, DONE, CANCELLED}),
    IN_PROGRESS: frozenset({DONE, CANCELLED, OPEN_ITEM}),
    DONE: frozenset({IN_PROGRESS}),  # reopened when the fix did not hold
    CANCELLED: frozenset(),
}
UNFINISHED = frozenset({OPEN_ITEM, IN_PROGRESS})


def may_move(status: str, to: str) -> bool:
    return to == status or to in ITEM_MOVES.get(status, frozenset())


@dataclass(frozen=True)
class Rung:
    """One step of the overdue ladder: `after_days` days past the due time, tell `to`."""

    level: int
    after_days: int
    to: str
    label: str


def rung_due(rungs: list[Rung], due_at: datetime, now: datetime, reached: int) -> Rung | None:
    """The highest rung past `due_at` by `now` that the item has not reached yet."""
    passed = [r for r in rungs if now >= due_at + timedelta(days=r.after_days)]
    top = max(passed, key=lambda r: r.level, default=None)
    return top if top is not None and top.level > reached else None


def completion_rate(done: int, due: int) -> float | None:
    """整改完成率: items done among the items that fell due (none due: no rate)."""
    return None if due == 0 else done / due
