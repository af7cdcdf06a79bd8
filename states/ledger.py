"""Pure rules of the repeat/backlog ledger (台账) and of satisfaction callbacks (回访).

Words: matter 台账事项 (one complainant matter with all its complaints), backlog 积案,
resolution class 分类化解, measure 化解措施, complainant stopped 停访息诉,
special attention 特别关注客户, callback 回访, satisfaction 满意度.
No database and no I/O here; the services apply these to rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from states.calendar import WorkCalendar

# docs/rules.md §4 (分类化解): how a matter is resolved depends on what kind of claim it is.
RESOLUTION_CLASSES: dict[str, str] = {
    "reasonable": "合理诉求",  # resolve promptly
    "unreasonable": "不合理诉求",  # listen, explain the policy patiently
    "hardship": "困难帮扶",  # assistance so the complainant can stop
    "malicious": "恶意投诉",  # education; unlawful acts go the judicial route
}
MATTER_KINDS: dict[str, str] = {
    "repeat": "重复投诉",
    "backlog": "积案",
    "dissatisfied": "回访不满意",
}
MATTER_STATUSES: dict[str, str] = {"open": "化解中", "resolved": "已化解"}
# docs/rules.md §4 (重复投诉): what made a complaint a repeat of its matter. The identifiers
# (`[repeat] identifiers`) come first, then the other `[repeat] match` keys.
MATCH_KEYS: dict[str, str] = {
    "id_number": "证件号码",
    "phone": "联系电话",
    "policy_name": "保单号+姓名",
    "policy": "同一保单",
    "category": "同一投诉类别",
}


def matched_label(keys: tuple[str, ...] | list[str] | str | None) -> str:
    """("phone", "policy") or the stored "phone,policy" → 联系电话、同一保单."""
    if not keys:
        return "—"
    items = keys.split(",") if isinstance(keys, str) else list(keys)
    return "、".join(MATCH_KEYS.get(k, k) for k in items)


# docs/rules.md §4 (多元共治): measures a ledger records.
MEASURES: dict[str, str] = {
    "resolve": "解决合理诉求",
    "explain": "政策解释与疏导",
    "assist": "困难帮扶",
    "educate": "教育疏导",
    "legal": "依法处置(司法途径)",
    "industry_mediation": "行业调解",
    "people_mediation": "人民调解",
    "judicial_mediation": "司法调解",
    "lawyer": "律师参与",
    "psychologist": "心理咨询师参与",
    "consultation": "会商",
    "visit": "走访/约见",
    "other": "其他",
}
RELATIONS: dict[str, str] = {"master": "主投诉", "merged": "合并", "linked": "关联(单独计数)"}

SATISFACTION: dict[str, str] = {
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
}
DISSATISFIED_OUTCOMES: dict[str, str] = {
    "reopen": "重新处理",
    "review": "转核查",
    "mediation": "转调解",
    "ledger": "纳入台账",
}
CALLBACK_STATUSES: dict[str, str] = {
    "scheduled": "待回访",
    "reached": "已回访",
    "unreachable": "未接通",
    "cancelled": "已取消",
}


def local_days_between(earlier: datetime, later: datetime, tz: ZoneInfo) -> int:
    """Whole local calendar days from `earlier` to `later` (Art. 43: days are calendar days)."""
    return (later.astimezone(tz).date() - earlier.astimezone(tz).date()).days


def in_repeat_window(earlier: datetime, later: datetime, tz: ZoneInfo, window_days: int) -> bool:
    """'Within 180 days' includes day 180 (docs/rules.md §1: 以内 includes the number)."""
    return 0 <= local_days_between(earlier, later, tz) <= window_days


def is_backlog_by_age(received: datetime, now: datetime, tz: ZoneInfo, open_days: int) -> bool:
    """'Open beyond 60 days': day 60 is not backlog yet, day 61 is."""
    return local_days_between(received, now, tz) > open_days


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def callback_slot(
    calendar: WorkCalendar, tz: ZoneInfo, after: datetime, working_days: int, start: time, end: time
) -> tuple[datetime, datetime, bool]:
    """(due, end of window, calendar verified): `working_days` working days after the local
    day of `after` (that day not counted), from the start to the end of working hours."""
    day, verified = calendar.add_working_days(after.astimezone(tz).date(), working_days)
    due = datetime.combine(day, start, tz).astimezone(UTC)
    return due, datetime.combine(day, end, tz).astimezone(UTC), verified


def overdue_at(
    calendar: WorkCalendar, tz: ZoneInfo, due: datetime, working_days: int, end: time
) -> datetime:
    """When an unrecorded callback is overdue: end of working hours, N working days later."""
    day, _ = calendar.add_working_days(due.astimezone(tz).date(), working_days)
    return datetime.combine(day, end, tz).astimezone(UTC)


def validate_nps(value: int | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, int) or not 0 <= value <= 10:
        return "NPS 取值 0–10 的整数"
    return None
