"""The complaint lifecycle, declared once as data.

Words (English code ↔ Chinese term): complaint 投诉, register 登记, accept 受理,
investigate 调查, negotiate 协商, appraisal 外部鉴定/检测/评估, joint consultation 会商,
decision 处理决定, notify 告知, review 核查, mediation 调解, close 办结, withdraw 撤回投诉,
decline 不予办理, merge 合并, reopen 重新处理, escalate 升级, ledger 台账, callback 回访.

The table `ACTIONS` is the single source: the `transitions` machine, role checks
(`authorize`), "what can I do now" (`allowed_actions`) and docs/lifecycle.md (Mermaid) all
derive from it. Guards here are pure functions of the complaint snapshot and the action's
fields; checks that need the database (e.g. the merge target is open) live in services/.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from transitions import Machine

from states.errors import Forbidden, InvalidInput
from states.fields import Field, Kind


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
    State.withdrawn: "已撤回投诉",
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

CASE_GUARDS: set[Guard] = set()
"""Guards that read the complaint alone (`@on_case`): "what can I do now" (`allowed_actions`
with the case) leaves out an action whose case guard refuses it."""


def on_case(guard: Guard) -> Guard:
    CASE_GUARDS.add(guard)
    return guard


@on_case
def _decision_by_branch(case: Mapping[str, Any], _: Mapping[str, Any]) -> str | None:
    """核查仅适用于分支机构作出的处理决定 (第二十条)"""
    if not case.get("decided_by_branch"):
        return "核查仅适用于分支机构作出的处理决定(第二十条)"
    return None


def _decline_ground(_: Mapping[str, Any], fields: Mapping[str, Any]) -> str | None:
    """不予办理的唯一理由是投诉人不具备投诉资格 (第十八条第四款)"""
    if fields.get("ground") not in DECLINE_GROUNDS:
        return "不予办理的唯一理由是投诉人不具备投诉资格(第十八条第四款)"
    return None


def _remedies_listed(_: Mapping[str, Any], fields: Mapping[str, Any]) -> str | None:
    """处理决定须告知救济途径 (第十九条)"""
    remedies = set(fields.get("remedies") or ())
    if not remedies or not remedies <= REMEDIES.keys():
        return f"处理决定须告知救济途径, 取值: {', '.join(REMEDIES)}(第十九条)"
    return None


@on_case
def _extension_left(case: Mapping[str, Any], _: Mapping[str, Any]) -> str | None:
    """至多延长至 60 日 (第十八条); the length asked for and its approval are checked with the
    configured lengths (`[deadlines.decision] extensions`, services/lifecycle/effects.py)"""
    if int(case.get("extension_level") or 0) >= 2:
        return "处理期限已延长至 60 日, 不能再延长(第十八条)"
    return None


def _mediation_channel(_: Mapping[str, Any], fields: Mapping[str, Any]) -> str | None:
    """调解渠道须为行业、人民或司法调解"""
    if fields.get("channel") not in MEDIATION_CHANNELS:
        return f"调解渠道取值: {', '.join(MEDIATION_CHANNELS)}"
    return None


def _notice_channel(_: Mapping[str, Any], fields: Mapping[str, Any]) -> str | None:
    """告知方式须为书面、短信、电子邮件、电话或当面 (第二十一条)"""
    if fields.get("channel") not in NOTICE_CHANNELS:
        return f"告知方式取值: {', '.join(NOTICE_CHANNELS)}(第二十一条)"
    return None


@on_case
def _not_media_yet(case: Mapping[str, Any], _: Mapping[str, Any]) -> str | None:
    """已标记涉及舆情的投诉不再重复标记"""
    if case.get("media_involved"):
        return "该投诉已标记涉及舆情, 舆情应急预案已启动"
    return None


@on_case
def _media_marked(case: Mapping[str, Any], _: Mapping[str, Any]) -> str | None:
    """舆情风险评估仅适用于涉及舆情的投诉"""
    if not case.get("media_involved"):
        return "该投诉未标记涉及舆情, 没有舆情风险评估任务"
    return None


def _priority_value(_: Mapping[str, Any], fields: Mapping[str, Any]) -> str | None:
    """人工设定的优先级须为 normal/key/major"""
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
    """One move of the lifecycle, declared once: who, from where, to where, what it takes, what
    it changes. `dest=None` is an internal move (the state stays).

    `command` is the CLI command ("appraisal start" for a subcommand; "" for a move only the
    system makes); `help` is its one-line description. Column effects and follow-ups are
    described in states/fields.py.
    """

    trigger: str
    label: str
    sources: tuple[State, ...]
    dest: State | None
    roles: tuple[Role, ...]
    fields: tuple[Field, ...] = ()
    guards: tuple[Guard, ...] = ()
    clock: str = ""  # what the move does to the deadlines, read by states/deadlines.py
    note: str = ""  # the legal basis or the rule, shown in docs/lifecycle.md
    command: str = ""
    help: str = ""
    stamps: tuple[str, ...] = ()  # complaint columns set to the action's time
    clears: tuple[str, ...] = ()  # complaint columns set to empty
    copies: tuple[tuple[str, str], ...] = ()  # (column, field): the column takes the field
    increments: tuple[str, ...] = ()  # complaint columns counted up by one
    effects: tuple[
        str, ...
    ] = ()  # named column effects needing I/O (services/lifecycle/effects.py)
    follow_ups: tuple[str, ...] = ()  # published after the move (services/lifecycle/events.py)

    @property
    def requires(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @property
    def person(self) -> str | None:
        """The field naming a user the action needs (e.g. the new owner), if any: loaded with
        the case in the same round trip."""
        return next((f.name for f in self.fields if f.kind is Kind.user), None)

    def complete(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The row's fields taken from `given`; a missing one takes its declared default."""
        values: dict[str, Any] = {}
        for f in self.fields:
            value = given.get(f.name)
            if (value is None or (f.kind is Kind.many and not value)) and f.default is not None:
                value = f.default
            values[f.name] = list(value) if f.kind is Kind.many and value is not None else value
        return values


# Fields several actions share.
REASON = Field("reason", "理由", example="需调取外院病历")
RESULT = Field("result", "结果")
COMPLAINANT_TOLD = Field(
    "complainant_told", "告知投诉人", "告知投诉人的时间和方式", example="2026-03-05电话告知"
)
ANALYSIS: tuple[Field, ...] = tuple(
    Field(name, label, f"五维度分析: {label}", example=example)
    for (name, label), example in zip(
        FIVE_DIMENSIONS.items(),
        ("退休教师", "理赔时效", "调查协商", "保险法第二十三条", "补足赔款"),
        strict=True,
    )
)
ROOT_CAUSE = Field(
    "root_cause", "溯源整改", "溯源整改: 根本原因与整改措施", example="理赔时效监控缺失"
)
OWNER_ROLES = (Role.liaison, Role.supervisor, Role.investigator, Role.intake_clerk)
# Art. 17 recusal: the owner or investigator who is the employee complained about (or in that
# employee's team, `[recusal] same_team`) needs a supervisor's override with a reason.
RECUSAL_OVERRIDE = Field(
    "recusal_override",
    "回避例外理由",
    "负责人或调查人为被投诉员工 (或同组) 时, 主管批准由其办理的理由 (第十七条)",
    required=False,
)
RECUSAL_ROLES: tuple[Role, ...] = (Role.supervisor,)

# Registration (登记) creates the case, so it has no source state; who may do it, and what
# follows it in the same transaction (services/lifecycle/registration.py publishes these):
REGISTER_ROLES: frozenset[Role] = frozenset(
    {Role.intake_clerk, Role.liaison, Role.supervisor, Role.system}
)
REGISTER_FOLLOW_UPS: tuple[str, ...] = (
    "escalate_on_arrival",
    "opinion_plan_on_arrival",
    "detect_repeat",
)

ACTIONS: tuple[Action, ...] = (
    Action(
        "accept",
        "受理",
        (State.registered,),
        State.accepted,
        (Role.intake_clerk, Role.liaison, Role.supervisor),
        fields=(
            Field(
                "category",
                "投诉类别",
                "投诉类别代码或名称, 如 claims / 理赔纠纷",
                Kind.choice,
                choices="categories",
                example="claims",
            ),
            Field(
                "product",
                "险种",
                "险种代码或名称, 如 medical / 医疗保险",
                Kind.choice,
                choices="products",
                example="medical",
            ),
            Field(
                "owner",
                "负责人",
                "负责到底的投诉对接人用户名 (首问负责)",
                Kind.user,
                example="li.duijie",
            ),
            Field(
                "priority",
                "优先级",
                "人工设定优先级 normal/key/major",
                Kind.choice,
                required=False,
                choices=PRIORITIES,
            ),
            Field("priority_reason", "设定理由", "人工设定优先级的理由", required=False),
            RECUSAL_OVERRIDE,
        ),
        guards=(_priority_value,),
        clock="accepted",
        note="首问负责: owner 为负责到底的投诉对接人; 第十七条: 被投诉员工回避",
        command="accept",
        help="受理: 确定类别、险种和负责人 (受理时限 24 小时)。",
        stamps=("accepted_at",),
        effects=("take_owner", "recuse_owner", "classify", "assess_priority"),
        follow_ups=("escalate_if_major", "message_complainant"),
    ),
    Action(
        "assign",
        "转派/交接",
        OPEN,
        None,
        (Role.supervisor, Role.liaison),
        fields=(
            Field("owner", "新负责人", "新负责人用户名", Kind.user, example="wu.duijie"),
            Field("reason", "交接理由", example="休假交接"),
            RECUSAL_OVERRIDE,
        ),
        note="首问负责: 只能显式交接; 第十七条: 被投诉员工回避",
        command="assign",
        help="转派/交接: 首问负责制下只能显式交接。",
        effects=("take_owner", "recuse_owner"),
    ),
    Action(
        "investigate",
        "开始调查",
        (State.accepted, State.reopened),
        State.investigating,
        (Role.investigator, *HANDLERS),
        fields=(Field("note", "备注", required=False), RECUSAL_OVERRIDE),
        note="第十七条: 被投诉员工回避, 不得调查",
        command="investigate",
        help="开始调查核实。",
        effects=("recuse_investigator",),
    ),
    Action(
        "negotiate",
        "进入协商",
        (State.investigating, State.consulting),
        State.negotiating,
        (Role.investigator, Role.coordinator, *HANDLERS),
        fields=(Field("findings", "调查核实结果", example="住院属实, 材料齐全"),),
        clock="investigated",
        command="negotiate",
        help="记录调查结果并进入协商。",
    ),
    Action(
        "start_appraisal",
        "外部鉴定/检测/评估",
        (State.investigating, State.negotiating),
        State.appraisal,
        (Role.investigator, *HANDLERS),
        fields=(
            Field("body", "鉴定机构", "鉴定/检测/评估机构", example="某司法鉴定所"),
            COMPLAINANT_TOLD,
        ),
        clock="pause",
        note="第十八条第二款: 鉴定期间不计入, 须告知投诉人",
        command="appraisal start",
        help="开始外部鉴定 (暂停计时, 须告知投诉人)。",
    ),
    Action(
        "end_appraisal",
        "鉴定结束",
        (State.appraisal,),
        State.investigating,
        (Role.investigator, *HANDLERS),
        fields=(Field("result", "鉴定结论", example="伤残八级"),),
        clock="resume",
        command="appraisal end",
        help="鉴定结束, 恢复计时。",
    ),
    Action(
        "consult",
        "提请会商",
        (State.accepted, State.investigating, State.negotiating, State.reopened, State.reviewing),
        State.consulting,
        (Role.coordinator, *HANDLERS, Role.committee, Role.system),
        fields=(
            Field("reason", "会商理由", "提请会商的理由", example="重复投诉"),
            Field(
                "departments",
                "参会部门",
                "参会部门 (可重复)",
                Kind.many,
                required=False,
                option="--department",
                default=(),
                example="理赔",
            ),
        ),
        note="疑难、重复投诉会商 (docs/rules.md §4)",
        follow_ups=("record_consultation",),
        command="consult",
        help="提请会商 (疑难、重复投诉)。",
    ),
    Action(
        "conclude_consultation",
        "会商结论",
        (State.consulting,),
        State.negotiating,
        (Role.coordinator, *HANDLERS, Role.committee),
        fields=(Field("resolution", "会商结论", example="同意补付"),),
        command="consult-end",
        help="记录会商结论, 回到协商。",
    ),
    Action(
        "new_facts",
        "补充新事实/理由",
        OPEN,
        None,
        (Role.intake_clerk, *HANDLERS, Role.system),
        fields=(Field("summary", "新事实摘要", "新事实或理由摘要", example="补充出院小结"),),
        clock="restart",
        note="第十八条第三款: 自收到新材料之日起重新计算",
        command="new-facts",
        help="补充新事实/理由: 处理时限自收到之日起重新计算 (第十八条第三款)。",
    ),
    Action(
        "extend",
        "延长处理期限",
        HANDLING + (State.appraisal, State.decided),
        None,
        HANDLERS,
        fields=(
            Field(
                "to",
                "延长至(日)",
                "延长后的处理期限总日数: 30 或 60 (第十八条)",
                Kind.integer,
                example="30",
            ),
            Field("reason", "延长理由", "延长理由 (情况复杂)", example="需调取外院病历"),
            Field(
                "approver",
                "审批人",
                "延至 60 日的审批人 (上级机构或总公司高级管理人员)",
                required=False,
            ),
            Field(
                "complainant_told",
                "告知投诉人",
                "延至 60 日时告知投诉人的时间和方式",
                required=False,
            ),
        ),
        guards=(_extension_left,),
        clock="extend",
        note="第十八条: 延至 30 日须说明理由; 延至 60 日 (直接或自 30 日) 须审批并告知投诉人",
        command="extend",
        help="延长处理期限至 --to 30 或 60 日; 延至 60 日须审批并告知投诉人 (第十八条)。",
        effects=("extend_decision",),
        follow_ups=("message_complainant",),
    ),
    Action(
        "decide",
        "作出处理决定",
        (State.investigating, State.negotiating, State.reopened),
        State.decided,
        HANDLERS,
        fields=(
            Field("facts", "核实的情况", example="住院属实"),
            Field("basis", "依据", example="保险合同第五条"),
            Field("reasons", "理由", example="属于保险责任"),
            Field(
                "remedies",
                "救济途径",
                "告知的救济途径 (可重复): review mediation arbitration litigation; 默认全部",
                Kind.many,
                choices=REMEDIES,
                option="--remedy",
                default=tuple(REMEDIES),
            ),
            Field(
                "institution",
                "决定机构",
                "作出决定的机构代码, 如 beijing / 北京分公司; 默认为投诉所涉机构。"
                "分支机构的决定可申请核查 (第二十条)",
                Kind.choice,
                required=False,
                choices="branches",
                example="beijing",
            ),
        ),
        guards=(_remedies_listed,),
        clock="decided",
        note="第十九条: 核实情况、依据和理由、救济途径; 记录决定机构 (第二十条)",
        command="decide",
        help="作出处理决定 (第十九条: 核实情况、依据和理由、救济途径)。",
        stamps=("decided_at",),
        effects=("record_decider",),
        follow_ups=("message_complainant",),
    ),
    Action(
        "notify",
        "告知处理决定",
        (State.decided,),
        State.notified,
        HANDLERS,
        fields=(
            Field(
                "channel",
                "告知方式",
                "告知方式: letter(书面) sms(短信) email(电子邮件) phone(电话) in_person(当面)",
                Kind.choice,
                choices=NOTICE_CHANNELS,
                example="sms",
            ),
            Field("proof", "告知凭证", "告知凭证 (回执、通话记录等)", example="短信回执"),
        ),
        guards=(_notice_channel,),
        clock="notified",
        note="第二十一条: 告知并留存凭证; 随后安排满意度回访",
        command="notify",
        help="告知处理决定并留存凭证 (第二十一条)。\n\n提醒发件箱的命令也在这里: "
        "tousu notify dispatch | status | test 标签 | digest (同 tousu notifications ...)。",
        stamps=("notified_at",),
        follow_ups=("schedule_callback",),
    ),
    Action(
        "request_review",
        "受理核查申请",
        (State.notified,),
        State.reviewing,
        (Role.intake_clerk, *HANDLERS),
        fields=(Field("request", "核查申请", "核查申请 (书面, 收到日期)", example="书面申请"),),
        guards=(_decision_by_branch,),
        clock="review_requested",
        note="第二十条: 分支机构的处理决定可申请核查",
        command="review request",
        help="受理核查申请 (分支机构的决定, 30 日内)。",
    ),
    Action(
        "conclude_review",
        "核查决定(维持)",
        (State.reviewing,),
        State.notified,
        (Role.supervisor,),
        fields=(Field("conclusion", "核查结论", "核查结论 (维持原决定)", example="维持"),),
        clock="reviewed",
        note="第二十条: 由作出决定的机构的上级机构核查; 同级或下级机构不得作出核查决定",
        command="review conclude",
        help="作出核查决定 (维持; 须为决定机构的上级机构); 改变原决定请用 tousu reopen。",
        effects=("check_reviewer",),
    ),
    Action(
        "mediate",
        "转调解",
        (State.investigating, State.negotiating, State.decided, State.notified, State.reopened),
        State.mediating,
        (*HANDLERS, Role.system),
        fields=(
            Field(
                "channel",
                "调解渠道",
                "调解渠道: industry(行业调解) people(人民调解) judicial(司法调解)",
                Kind.choice,
                choices=MEDIATION_CHANNELS,
                example="industry",
            ),
            Field("organisation", "调解组织", example="北京保险行业协会调解委员会"),
        ),
        guards=(_mediation_channel,),
        clock="pause",
        note="第二十三条: 调解期间不计入",
        command="mediate",
        help="转调解 (第二十三条: 调解期间不计入处理时限)。",
    ),
    Action(
        "end_mediation",
        "调解未成",
        (State.mediating,),
        State.negotiating,
        (*HANDLERS, Role.system),
        fields=(Field("result", "调解结果", "调解未成的情况", example="双方未达成一致"),),
        clock="resume",
        command="mediate-end",
        help="调解未成, 恢复计时并回到协商。",
    ),
    Action(
        "settle",
        "调解成功办结",
        (State.mediating,),
        State.closed,
        HANDLERS,
        fields=(Field("agreement", "调解协议", example="调解书"), *ANALYSIS, ROOT_CAUSE),
        clock="closed",
        note="调解协议即告知的处理结果: 随后安排满意度回访",
        command="settle",
        help="调解成功办结 (记录协议与五维度分析)。",
        stamps=("closed_at",),
        follow_ups=("schedule_callback",),
    ),
    Action(
        "close",
        "办结",
        (State.notified,),
        State.closed,
        HANDLERS,
        fields=(*ANALYSIS, ROOT_CAUSE),
        clock="closed",
        note="五维度分析与溯源整改 (docs/rules.md §4)",
        command="close",
        help="办结: 五维度分析与溯源整改。",
        stamps=("closed_at",),
    ),
    Action(
        "withdraw",
        "撤回投诉",
        OPEN,
        State.withdrawn,
        (Role.intake_clerk, *HANDLERS),
        fields=(
            Field(
                "reason",
                "撤回情况",
                "撤回投诉的情况 (收到撤回的方式)",
                example="投诉人来电撤回投诉",
            ),
        ),
        clock="ended",
        note="第十五条: 投诉人撤回投诉的, 自收到撤回之日起终止办理",
        command="withdraw",
        help="撤回投诉: 自收到投诉人撤回之日起终止办理 (第十五条)。",
        stamps=("closed_at",),
    ),
    Action(
        "decline",
        "不予办理",
        (State.registered, State.accepted),
        State.declined,
        HANDLERS,
        fields=(
            Field(
                "ground",
                "理由",
                "理由代码: not_entitled (投诉人不具备投诉资格, 唯一法定理由)",
                Kind.choice,
                choices=DECLINE_GROUNDS,
                default="not_entitled",
            ),
            Field("explanation", "说明", "向投诉人的说明", example="投诉人与保单无关"),
        ),
        guards=(_decline_ground,),
        clock="ended",
        note="第十八条第四款: 仅限投诉人不具备投诉资格",
        command="decline",
        help="不予办理 (第十八条第四款: 仅限投诉人不具备投诉资格)。",
        stamps=("closed_at",),
    ),
    Action(
        "merge",
        "合并至在办投诉",
        (State.registered, State.accepted, State.investigating),
        State.merged,
        (Role.intake_clerk, *HANDLERS, Role.system),
        fields=(
            Field("into", "并入投诉", "并入的在办投诉编号", Kind.case, example="TS202603010000009"),
            Field(
                "new_facts",
                "带来新事实",
                "带来新事实或理由 (重新计时)",
                Kind.flag,
                required=False,
                default=False,
            ),
        ),
        clock="ended",
        note="第十八条第三款",
        command="merge",
        help="合并重复投诉至在办投诉 (第十八条第三款)。",
        stamps=("closed_at",),
        effects=("merge_into",),
        follow_ups=("restart_target_clock",),
    ),
    Action(
        "link",
        "关联重复投诉",
        (State.registered,),
        None,
        (Role.system,),
        fields=(Field("master", "原投诉", "原投诉编号", Kind.case),),
        note="原投诉已决定或终结、或为监管转办件时另立新案并关联, 单独计数 (docs/rules.md §4)",
        effects=("link_to_master",),
        follow_ups=("reassess_priority", "escalate_on_change"),
    ),
    Action(
        "reopen",
        "重新处理",
        (State.notified, State.reviewing, State.closed),
        State.reopened,
        (Role.supervisor, Role.system),
        fields=(Field("reason", "重新处理的理由", example="回访不满意"),),
        clock="reopened",
        note="回访不满意或核查改变原决定",
        command="reopen",
        help="重新处理 (回访不满意或核查改变原决定; 主管)。",
        clears=("closed_at",),
    ),
    Action(
        "escalate",
        "升级",
        OPEN,
        None,
        (Role.coordinator, *HANDLERS, Role.committee, Role.system),
        fields=(
            Field("reason", "升级理由", example="涉及舆情"),
            Field(
                "level",
                "升至级别",
                "升至的级别 (默认加一级)",
                Kind.integer,
                required=False,
                low=1,
                high=9,
            ),
        ),
        note="人工升级或时限巡检自动升级(系统); 人工升级通知所达级别的对象",
        command="escalate",
        help="人工升级: 通知升级所达级别的对象 (升级阶梯)。",
        effects=("raise_escalation_level",),
        follow_ups=("alert_escalation",),
    ),
    Action(
        "report_media",
        "涉及舆情",
        OPEN,
        None,
        (*STAFF, Role.committee),
        fields=(
            Field(
                "source",
                "舆情来源",
                "舆情来源: 媒体或网络平台及报道情况",
                example="某短视频平台发布投诉视频",
            ),
            Field(
                "assessor",
                "风险评估负责人",
                "负责风险评估的高级管理层用户名 (主管或消委会委员); "
                "默认取配置 public_opinion.assessor",
                Kind.user,
                required=False,
                example="committee",
            ),
        ),
        guards=(_not_media_yet,),
        note="舆情 (docs/rules.md §4): 立即启动舆情应急预案, 报高级管理层风险评估并升级",
        command="media",
        help="标记涉及舆情: 立即启动舆情应急预案 (风险评估任务), 重新评估优先级并立即升级。",
        effects=("mark_media",),
        follow_ups=("reassess_priority", "start_opinion_plan"),
    ),
    Action(
        "assess_opinion",
        "舆情风险评估结论",
        OPEN,
        None,
        (Role.supervisor, Role.committee),
        fields=(
            Field(
                "outcome",
                "评估结论",
                "风险评估结论与应对措施",
                example="风险可控, 由分公司统一回应",
            ),
        ),
        guards=(_media_marked,),
        note="舆情应急预案的风险评估任务: 记录结论 (docs/rules.md §4)",
        command="opinion",
        help="记录舆情风险评估结论 (完成舆情应急预案的风险评估任务)。",
        effects=("record_opinion_outcome",),
    ),
    Action(
        "update_facts",
        "更新案件要素",
        OPEN,
        None,
        (Role.intake_clerk, *HANDLERS),
        fields=(
            Field("reason", "更新理由", "更新理由 (信息来源)", example="投诉人补充材料"),
            Field("group_size", "涉及人数", "涉及人数", Kind.integer, required=False),
            Field("amount", "涉及金额", "涉及金额 (元)", required=False, example="120000"),
            Field(
                "regulator_ref",
                "监管转办编号",
                "监管转办编号 (投诉由监管机构转办时)",
                required=False,
                example="12378-2026-000001",
            ),
            Field(
                "vulnerable",
                "特殊群体消费者",
                "标记为特殊群体消费者",
                Kind.flag,
                required=False,
                default=False,
            ),
        ),
        note="优先级依据的要素变化时重新评估优先级 (docs/rules.md §4)",
        command="facts",
        help="更新涉及人数、金额、监管转办或特殊群体: 重新评估优先级, 需要时立即升级。",
        effects=("update_facts",),
        follow_ups=("reassess_priority", "escalate_on_change"),
    ),
    Action(
        "reprioritize",
        "调整优先级",
        OPEN,
        None,
        (Role.supervisor, Role.system),
        fields=(
            Field(
                "priority",
                "优先级",
                "人工设定优先级 normal/key/major; 不填则按案件要素重新评估",
                Kind.choice,
                required=False,
                choices=PRIORITIES,
            ),
            Field("reason", "理由", "调整理由", example="涉及金额更正"),
        ),
        guards=(_priority_value,),
        note="优先级随案件要素变化重新评估, 每次变化记入时间线 (docs/rules.md §4)",
        command="priority",
        help="调整优先级: 人工设定, 或按案件要素重新评估 (主管)。",
        effects=("assess_priority",),
        follow_ups=("escalate_on_change",),
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


@cache
def machine() -> Machine:
    """The shared machine, built on first use (commands that take no action never pay for it)."""
    return _build_machine()


class Snapshot:
    """The adapter `transitions` moves: a plain object holding only the state."""

    def __init__(self, state: str) -> None:
        self.state = state


def action(trigger: str) -> Action:
    try:
        return ACTIONS_BY_TRIGGER[trigger]
    except KeyError:
        raise InvalidInput("action", f"未知操作 {trigger}") from None


def allowed_actions(
    state: State | str,
    role: Role | str | None = None,
    case: Mapping[str, Any] | None = None,
) -> list[Action]:
    """The moves possible from `state`, optionally only those `role` may take and, given the
    complaint, only those its case guards (`@on_case`) allow now."""
    st = State(state)
    return [
        a
        for a in ACTIONS
        if st in a.sources
        and (role is None or Role(role) in a.roles)
        and (case is None or all(g(case, {}) is None for g in a.guards if g in CASE_GUARDS))
    ]


def offered(act: Action) -> str:
    """An action as a person reads it in a list: the command typed and its label."""
    return f"{act.command or act.trigger}({act.label})"


def describe_allowed(state: State) -> str:
    """The commands people may type from `state` (the system's own moves left out)."""
    names = [offered(a) for a in allowed_actions(state) if a.command]
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
    if not machine().events[act.trigger].trigger(snap):
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
