"""The complaint lifecycle, declared once as data.

Words (English code ↔ Chinese term): complaint 投诉, register 登记, accept 受理,
investigate 调查, negotiate 协商, appraisal 外部鉴定/检测/评估, joint consultation 会商,
decision 处理决定, notify 告知, review 核查, mediation 调解, close 办结, withdraw 撤诉,
decline 不予办理, merge 合并, reopen 重新处理, escalate 升级, ledger 台账, callback 回访.

The table `ACTIONS` is the single source: the `transitions` machine, role checks
(`authorize`), "what can I do now" (`allowed_actions`) and docs/lifecycle.md (Mermaid) all
derive from it. Guards here are pure functions of the complaint snapshot and the action's
fields; checks that need the database (e.g. the merge target is open) live in services/.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from transitions import Machine

from states.errors import Forbidden, InvalidInput


class State(StrEnum):
    registered = "registered"
    accepted = "accepted"
    investigating = "investigating"
    negotiating = "negotiating"
    appraisal = "appraisal"
    consulting = "consulting"
    decided = "decided"
    notified = "notified"
    reviewing = "reviewing"
    mediating = "mediating"
    reopened = "reopened"
    closed = "closed"
    withdrawn = "withdrawn"
    declined = "declined"
    merged = "merged"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS: dict[State, str] = {
    State.registered: "已登记",
    State.accepted: "已受理",
    State.investigating: "调查中",
    State.negotiating: "协商中",
    State.appraisal: "外部鉴定中(暂停计时)",
    State.consulting: "会商中",
    State.decided: "已作出处理决定",
    State.notified: "已告知处理决定",
    State.reviewing: "核查中",
    State.mediating: "调解中(暂停计时)",
    State.reopened: "重新处理",
    State.closed: "已办结",
    State.withdrawn: "已撤诉",
    State.declined: "不予办理",
    State.merged: "已合并",
}

TERMINAL: frozenset[State] = frozenset({State.withdrawn, State.declined, State.merged})
# `closed` is final for handling but may be reopened after a dissatisfied callback.
FINISHED: frozenset[State] = TERMINAL | {State.closed}
PAUSED: frozenset[State] = frozenset({State.appraisal, State.mediating})


class Role(StrEnum):
    intake_clerk = "intake_clerk"
    investigator = "investigator"
    coordinator = "coordinator"
    liaison = "liaison"
    supervisor = "supervisor"
    committee = "committee"
    admin = "admin"
    system = "system"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.intake_clerk: "受理员",
    Role.investigator: "调查员",
    Role.coordinator: "协调员",
    Role.liaison: "投诉对接人",
    Role.supervisor: "主管",
    Role.committee: "消委会委员",
    Role.admin: "系统管理员",
    Role.system: "系统(自动)",
}

# Roles that may see personal data unmasked (2022 Order No. 9: tiered access).
PII_ROLES: frozenset[Role] = frozenset({Role.intake_clerk, Role.liaison, Role.supervisor})

PRIORITIES: dict[str, str] = {"normal": "一般", "key": "重点", "major": "重大"}
REMEDIES: dict[str, str] = {
    "review": "核查",
    "mediation": "调解",
    "arbitration": "仲裁",
    "litigation": "诉讼",
}
MEDIATION_CHANNELS: dict[str, str] = {
    "industry": "行业调解",
    "people": "人民调解",
    "judicial": "司法调解",
}
# Art. 21: proof of notice; written when posted, SMS/email when sent, phone when the call is placed.
NOTICE_CHANNELS: dict[str, str] = {
    "letter": "书面",
    "sms": "短信",
    "email": "电子邮件",
    "phone": "电话",
    "in_person": "当面",
}
# Art. 14/18 ¶4: the only ground to decline is a complainant who may not complain.
DECLINE_GROUNDS: dict[str, str] = {"not_entitled": "投诉人非消费者本人、法定代理人、受托人或继承人"}
# Seed 000: five-dimension case analysis (五维度).
FIVE_DIMENSIONS: dict[str, str] = {
    "background": "消费者背景",
    "content": "投诉内容",
    "process": "处理过程",
    "rules": "相关法律法规",
    "outcome": "处理结果",
}

Guard = Callable[[Mapping[str, Any], Mapping[str, Any]], str | None]
"""A guard takes (complaint snapshot, action fields) and returns None or the refusal reason."""


def _decision_by_branch(case: Mapping[str, Any], _: Mapping[str, Any]) -> str | None:
    if not case.get("decided_by_branch"):
        return "核查仅适用于分支机构作出的处理决定(第二十条)"
    return None


def _decline_ground(_: Mapping[str, Any], fields: Mapping[str, Any]) -> str | None:
    if fields.get("ground") not in DECLINE_GROUNDS:
        return "不予办理的唯一理由是投诉人不具备投诉资格(第十八条第四款)"
    return None


def _remedies_listed(_: Mapping[str, Any], fields: Mapping[str, Any]) -> str | None:
    remedies = set(fields.get("remedies") or ())
    if not remedies or not remedies <= REMEDIES.keys():
        return f"处理决定须告知救济途径, 取值: {', '.join(REMEDIES)}(第十九条)"
    return None


def _extension_allowed(case: Mapping[str, Any], fields: Mapping[str, Any]) -> str | None:
    level = int(case.get("extension_level") or 0)
    if level >= 2:
        return "处理期限已延长至 60 日, 不能再延长(第十八条)"
    if level == 1 and not (fields.get("approver") and fields.get("complainant_told")):
        return "延长至 60 日须记录上级机构或总公司高级管理人员审批并告知投诉人(第十八条)"
    return None


def _mediation_channel(_: Mapping[str, Any], fields: Mapping[str, Any]) -> str | None:
    if fields.get("channel") not in MEDIATION_CHANNELS:
        return f"调解渠道取值: {', '.join(MEDIATION_CHANNELS)}"
    return None


def _notice_channel(_: Mapping[str, Any], fields: Mapping[str, Any]) -> str | None:
    if fields.get("channel") not in NOTICE_CHANNELS:
        return f"告知方式取值: {', '.join(NOTICE_CHANNELS)}(第二十一条)"
    return None


def _priority_value(_: Mapping[str, Any], fields: Mapping[str, Any]) -> str | None:
    if fields.get("priority") not in (None, *PRIORITIES):
        return f"优先级取值: {', '.join(PRIORITIES)}"
    return None


OPEN: tuple[State, ...] = (
    State.registered,
    State.accepted,
    State.investigating,
    State.negotiating,
    State.appraisal,
    State.consulting,
    State.decided,
    State.notified,
    State.reviewing,
    State.mediating,
    State.reopened,
)
HANDLING: tuple[State, ...] = (
    State.accepted,
    State.investigating,
    State.negotiating,
    State.consulting,
    State.reopened,
)
HANDLERS = (Role.liaison, Role.supervisor)
STAFF = (Role.intake_clerk, Role.investigator, Role.coordinator, Role.liaison, Role.supervisor)


@dataclass(frozen=True)
class Action:
    """One move of the lifecycle. `dest=None` is an internal move (the state stays)."""

    trigger: str
    label: str
    sources: tuple[State, ...]
    dest: State | None
    roles: tuple[Role, ...]
    requires: tuple[str, ...] = ()
    guards: tuple[Guard, ...] = ()
    clock: str = ""  # what the move does to the deadlines, read by states/deadlines.py
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# Registration (登记) creates the case, so it has no source state; who may do it:
REGISTER_ROLES: frozenset[Role] = frozenset(
    {Role.intake_clerk, Role.liaison, Role.supervisor, Role.system}
)

ACTIONS: tuple[Action, ...] = (
    Action(
        "accept",
        "受理",
        (State.registered,),
        State.accepted,
        (Role.intake_clerk, Role.liaison, Role.supervisor),
        requires=("category", "product", "owner"),
        guards=(_priority_value,),
        clock="accepted",
        note="首问负责: owner 为负责到底的投诉对接人",
    ),
    Action(
        "assign",
        "转派/交接",
        OPEN,
        None,
        (Role.supervisor, Role.liaison),
        requires=("owner", "reason"),
        note="首问负责: 只能显式交接",
    ),
    Action(
        "investigate",
        "开始调查",
        (State.accepted, State.reopened),
        State.investigating,
        (Role.investigator, *HANDLERS),
    ),
    Action(
        "negotiate",
        "进入协商",
        (State.investigating, State.consulting),
        State.negotiating,
        (Role.investigator, Role.coordinator, *HANDLERS),
        requires=("findings",),
        clock="investigated",
    ),
    Action(
        "start_appraisal",
        "外部鉴定/检测/评估",
        (State.investigating, State.negotiating),
        State.appraisal,
        (Role.investigator, *HANDLERS),
        requires=("body", "complainant_told"),
        clock="pause",
        note="第十八条第二款: 鉴定期间不计入, 须告知投诉人",
    ),
    Action(
        "end_appraisal",
        "鉴定结束",
        (State.appraisal,),
        State.investigating,
        (Role.investigator, *HANDLERS),
        requires=("result",),
        clock="resume",
    ),
    Action(
        "consult",
        "提请会商",
        (State.accepted, State.investigating, State.negotiating, State.reopened, State.reviewing),
        State.consulting,
        (Role.coordinator, *HANDLERS, Role.committee, Role.system),
        requires=("reason",),
        note="疑难、重复投诉会商(seed 002)",
    ),
    Action(
        "conclude_consultation",
        "会商结论",
        (State.consulting,),
        State.negotiating,
        (Role.coordinator, *HANDLERS, Role.committee),
        requires=("resolution",),
    ),
    Action(
        "new_facts",
        "补充新事实/理由",
        OPEN,
        None,
        (Role.intake_clerk, *HANDLERS, Role.system),
        requires=("summary",),
        clock="restart",
        note="第十八条第三款: 自收到新材料之日起重新计算",
    ),
    Action(
        "extend",
        "延长处理期限",
        HANDLING + (State.appraisal, State.decided),
        None,
        HANDLERS,
        requires=("reason",),
        guards=(_extension_allowed,),
        clock="extend",
        note="第十八条: 延至 30 日须说明理由; 延至 60 日须审批并告知投诉人",
    ),
    Action(
        "decide",
        "作出处理决定",
        (State.investigating, State.negotiating, State.reopened),
        State.decided,
        HANDLERS,
        requires=("facts", "basis", "reasons", "remedies"),
        guards=(_remedies_listed,),
        clock="decided",
        note="第十九条: 核实情况、依据和理由、救济途径",
    ),
    Action(
        "notify",
        "告知处理决定",
        (State.decided,),
        State.notified,
        HANDLERS,
        requires=("channel", "proof"),
        guards=(_notice_channel,),
        clock="notified",
    ),
    Action(
        "request_review",
        "受理核查申请",
        (State.notified,),
        State.reviewing,
        (Role.intake_clerk, *HANDLERS),
        requires=("request",),
        guards=(_decision_by_branch,),
        clock="review_requested",
    ),
    Action(
        "conclude_review",
        "核查决定(维持)",
        (State.reviewing,),
        State.notified,
        (Role.supervisor,),
        requires=("conclusion",),
        clock="reviewed",
    ),
    Action(
        "mediate",
        "转调解",
        (State.investigating, State.negotiating, State.decided, State.notified, State.reopened),
        State.mediating,
        (*HANDLERS, Role.system),
        requires=("channel", "organisation"),
        guards=(_mediation_channel,),
        clock="pause",
        note="第二十三条: 调解期间不计入",
    ),
    Action(
        "end_mediation",
        "调解未成",
        (State.mediating,),
        State.negotiating,
        (*HANDLERS, Role.system),
        requires=("result",),
        clock="resume",
    ),
    Action(
        "settle",
        "调解成功办结",
        (State.mediating,),
        State.closed,
        HANDLERS,
        requires=("agreement", *FIVE_DIMENSIONS, "root_cause"),
        clock="closed",
    ),
    Action(
        "close",
        "办结",
        (State.notified,),
        State.closed,
        HANDLERS,
        requires=(*FIVE_DIMENSIONS, "root_cause"),
        clock="closed",
        note="五维度分析与溯源整改(seed 000)",
    ),
    Action(
        "withdraw",
        "撤诉",
        OPEN,
        State.withdrawn,
        (Role.intake_clerk, *HANDLERS),
        requires=("reason",),
        clock="ended",
        note="第十五条: 自收到撤诉之日起终止",
    ),
    Action(
        "decline",
        "不予办理",
        (State.registered, State.accepted),
        State.declined,
        HANDLERS,
        requires=("ground", "explanation"),
        guards=(_decline_ground,),
        clock="ended",
    ),
    Action(
        "merge",
        "合并至在办投诉",
        (State.registered, State.accepted, State.investigating),
        State.merged,
        (Role.intake_clerk, *HANDLERS, Role.system),
        requires=("into",),
        clock="ended",
        note="第十八条第三款",
    ),
    Action(
        "link",
        "关联重复投诉",
        (State.registered,),
        None,
        (Role.system,),
        requires=("master",),
        note="RULES.md §4: 原投诉已决定或终结、或为监管转办件时另立新案并关联, 单独计数",
    ),
    Action(
        "reopen",
        "重新处理",
        (State.notified, State.reviewing, State.closed),
        State.reopened,
        (Role.supervisor, Role.system),
        requires=("reason",),
        clock="reopened",
        note="回访不满意或核查改变原决定",
    ),
    Action(
        "escalate",
        "升级",
        OPEN,
        None,
        (Role.coordinator, *HANDLERS, Role.committee, Role.system),
        requires=("reason",),
        note="人工升级或时限巡检自动升级(系统)",
    ),
)

ACTIONS_BY_TRIGGER: dict[str, Action] = {a.trigger: a for a in ACTIONS}


def _build_machine() -> Machine:
    """One shared machine, no model bound (STACK_NOTES: pydantic rows reject Machine attrs)."""
    transitions_spec: list[dict[str, Any]] = []
    for action in ACTIONS:
        for source in action.sources:
            transitions_spec.append(
                {
                    "trigger": action.trigger,
                    "source": source.value,
                    "dest": action.dest.value if action.dest else None,
                }
            )
    return Machine(
        model=None,
        states=[s.value for s in State],
        transitions=transitions_spec,
        initial=State.registered.value,
        auto_transitions=False,
        ignore_invalid_triggers=False,
    )


MACHINE = _build_machine()


class Snapshot:
    """The adapter `transitions` moves: a plain object holding only the state."""

    def __init__(self, state: str) -> None:
        self.state = state


def action(trigger: str) -> Action:
    try:
        return ACTIONS_BY_TRIGGER[trigger]
    except KeyError:
        raise InvalidInput("action", f"未知操作 {trigger}") from None


def allowed_actions(state: State | str, role: Role | str | None = None) -> list[Action]:
    """The moves possible from `state`, optionally only those `role` may take."""
    st = State(state)
    return [a for a in ACTIONS if st in a.sources and (role is None or Role(role) in a.roles)]


def describe_allowed(state: State) -> str:
    names = [f"{a.trigger}({a.label})" for a in allowed_actions(state)]
    return ", ".join(names) if names else "无(终结状态)"


def authorize(act: Action, role: Role | str) -> None:
    """Deny by default: the role must be named on the move."""
    if Role(role) not in act.roles:
        allowed = "、".join(r.label for r in act.roles)
        raise Forbidden(f"角色「{Role(role).label}」无权执行「{act.label}」, 可执行角色: {allowed}")


def check(act: Action, case: Mapping[str, Any], fields: Mapping[str, Any]) -> None:
    """Required fields and guards; raises a named error, never returns False."""
    state = State(case["state"])
    if state not in act.sources:
        raise Forbidden(
            f"当前状态「{state.label}」({state.value})不能执行「{act.label}」"
            f"({act.trigger}); 可执行操作: {describe_allowed(state)}"
        )
    for name in act.requires:
        value = fields.get(name)
        if value is None or value == "" or value == [] or value == ():
            raise InvalidInput(name, f"「{act.label}」需要填写 {name}")
    for guard in act.guards:
        reason = guard(case, fields)
        if reason:
            raise Forbidden(reason)


def fire(act: Action, state: State) -> State:
    """Move the state with the shared machine; returns the new state."""
    snap = Snapshot(state.value)
    if not MACHINE.events[act.trigger].trigger(snap):
        raise Forbidden(f"当前状态「{state.label}」不能执行「{act.label}」")
    return State(snap.state)


def mermaid() -> str:
    """docs/lifecycle.md body, generated from the table."""
    lines = ["stateDiagram-v2", "    [*] --> registered: register 登记"]
    for s in State:
        lines.append(f'    state "{s.value}<br/>{s.label}" as {s.value}')
    for a in ACTIONS:
        if a.dest is None:
            continue
        for src in a.sources:
            lines.append(f"    {src.value} --> {a.dest.value}: {a.trigger} {a.label}")
    for s in sorted(TERMINAL):
        lines.append(f"    {s.value} --> [*]")
    return "\n".join(lines) + "\n"
