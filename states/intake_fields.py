"""What a registration (登记, Art. 13) takes, declared once as `states.fields.Field`s.

`tousu register`, the workspace's registration form and the API's registration schema all
derive from `REGISTRATION_FIELDS`; `services.intake.form.registration_of` turns a mapping of
these values into a `Registration`, whose every rule is checked by
`services.lifecycle.registration.problems`.

Field names are the names registration's errors carry (`InvalidInput.field`) and bulk
import's mapping uses (docs/import.md), so a form shows each error beside its input. `option`
is the CLI flag where it differs from `--name` (for a flag, Typer's "--yes/--no" pair).

Pure: no database, no configuration, no I/O. Must not import services/ or storage/.
"""

from __future__ import annotations

from states.fields import Field, Kind

# The complainant's kind and capacity (Art. 13, 14): fixed tables.
KINDS = {"person": "个人", "organisation": "单位"}
CAPACITIES = {
    "consumer": "消费者本人",
    "legal_rep": "法定代理人",
    "agent": "受托代理人",
    "heir": "继承人",
    "other": "其他",
}

# Groups, in the order a form shows them: (key, heading, field names).
GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "complainant",
        "投诉人",
        ("name", "kind", "id_number", "phone", "address", "credit_code", "legal_rep"),
    ),
    (
        "capacity",
        "身份与代理",
        (
            "capacity",
            "on_behalf_of",
            "agent_name",
            "agent_phone",
            "agent_id_number",
            "power_of_attorney",
            "heir",
        ),
    ),
    (
        "respondent",
        "被投诉机构和人员",
        ("institution", "branch", "employee_name", "employee_no"),
    ),
    (
        "complaint",
        "投诉内容",
        ("claim", "facts", "basis", "policy_no", "amount", "category", "product"),
    ),
    (
        "source",
        "来源",
        ("channel", "received_at", "regulator_ref", "regulator_forwarded_on", "external_ref"),
    ),
    ("marks", "标记", ("group_size", "media_involved", "vulnerable", "major_designated")),
)

REGISTRATION_FIELDS: tuple[Field, ...] = (
    Field("name", "投诉人姓名/名称", "投诉人姓名 / 单位名称", max_length=100, example="赵六"),
    Field(
        "kind",
        "投诉人类型",
        "投诉人类型: person(个人) organisation(单位)",
        kind=Kind.choice,
        choices=KINDS,
        default="person",
    ),
    Field(
        "id_number",
        "身份证号码",
        "居民身份证号码 (18 位, 校验位)",
        required=False,
        max_length=64,
        example="11010519491231002X",
    ),
    Field(
        "phone",
        "联系电话",
        "联系电话: 手机号或固定电话 (区号-号码); 电话和地址至少填一项",
        required=False,
        max_length=64,
        example="13800138000",
    ),
    Field("address", "联系地址", "联系地址 / 单位住所", required=False, max_length=200),
    Field(
        "credit_code",
        "统一社会信用代码",
        "统一社会信用代码 (单位投诉)",
        required=False,
        max_length=64,
    ),
    Field("legal_rep", "法定代表人", "法定代表人 (单位投诉)", required=False, max_length=100),
    Field(
        "capacity",
        "投诉人身份",
        "投诉人身份: consumer(本人) legal_rep(法定代理人) agent(受托代理人) heir(继承人) "
        "other(其他)",
        kind=Kind.choice,
        choices=CAPACITIES,
        default="consumer",
    ),
    Field(
        "on_behalf_of",
        "被代理人",
        "被代理 / 被继承的消费者姓名",
        required=False,
        max_length=100,
    ),
    Field("agent_name", "代理人姓名", "代理人姓名", required=False, max_length=100),
    Field("agent_phone", "代理人电话", "代理人电话", required=False, max_length=64),
    Field("agent_id_number", "代理人身份证号码", "代理人身份证号码", required=False, max_length=64),
    Field(
        "power_of_attorney",
        "授权委托书",
        "授权委托书 (编号或存档位置; 受托代理人必填, 第十四条)",
        required=False,
        max_length=200,
    ),
    Field(
        "heir",
        "其他继承人",
        "其他继承人姓名 (可重复)",
        kind=Kind.many,
        required=False,
        max_length=100,
    ),
    Field("institution", "被投诉机构", "被投诉机构名称", required=False, max_length=200),
    Field(
        "branch",
        "所属机构",
        "被投诉机构所属分支, 如 beijing",
        kind=Kind.choice,
        choices="branches",
        default="head_office",
    ),
    Field("employee_name", "被投诉员工", "被投诉员工姓名", required=False, max_length=100),
    Field("employee_no", "员工工号", "被投诉员工工号", required=False, max_length=40),
    Field("claim", "投诉请求", "投诉请求", max_length=2000, example="要求赔付医疗费用"),
    Field(
        "facts", "主要事实", "主要事实", max_length=10000, example="住院后申请理赔, 30 日未获答复"
    ),
    Field("basis", "相关依据", "相关依据", required=False, max_length=2000),
    Field("policy_no", "保单号", "保单号", required=False, max_length=64, example="P2026000123"),
    Field("amount", "涉及金额", "涉及金额 (元)", required=False, max_length=32, example="8600"),
    Field(
        "category",
        "投诉类别",
        "投诉类别代码或名称 (config/taxonomy.toml)",
        kind=Kind.choice,
        choices="categories",
        required=False,
    ),
    Field(
        "product",
        "险种",
        "险种代码或名称 (config/taxonomy.toml)",
        kind=Kind.choice,
        choices="products",
        required=False,
    ),
    Field(
        "channel",
        "投诉渠道",
        "投诉渠道: hotline counter online letter email regulator(12378/监管转办) media other",
        kind=Kind.choice,
        choices="channels",
        example="hotline",
    ),
    Field(
        "received_at",
        "收到时间",
        "本机构收到时间 (ISO, 不带时区按 Asia/Shanghai; 默认现在)",
        required=False,
        max_length=40,
        example="2026-03-02T10:30",
    ),
    Field(
        "regulator_ref",
        "监管转办编号",
        "监管转办编号 (12378 等; 监管转办投诉必填)",
        required=False,
        max_length=64,
    ),
    Field(
        "regulator_forwarded_on",
        "监管转办日期",
        "监管转办日期 (YYYY-MM-DD)",
        required=False,
        option="--forwarded-on",
        max_length=40,
    ),
    Field(
        "external_ref",
        "外部编号",
        "外部编号 (去重)",
        required=False,
        max_length=80,
    ),
    Field(
        "group_size",
        "投诉人数",
        "投诉人数 (群体投诉)",
        kind=Kind.integer,
        required=False,
        default=1,
        low=1,
        high=1_000_000,
    ),
    Field(
        "media_involved",
        "涉及舆情",
        "是否涉及舆情",
        kind=Kind.flag,
        required=False,
        option="--media/--no-media",
    ),
    Field(
        "vulnerable",
        "特殊群体",
        "特殊群体消费者 (老年人、残疾人等)",
        kind=Kind.flag,
        required=False,
        option="--vulnerable/--not-vulnerable",
    ),
    Field(
        "major_designated",
        "监管认定重大",
        "监管认定的重大投诉",
        kind=Kind.flag,
        required=False,
    ),
)

BY_NAME: dict[str, Field] = {f.name: f for f in REGISTRATION_FIELDS}
# Time fields: ISO text, local time in the configured zone without an offset.
TIME_FIELDS = frozenset({"received_at", "regulator_forwarded_on"})
