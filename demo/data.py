"""Realistic demo complaints (Faker zh_CN): registrations plus the timeline each case follows.

Used by `make demo`, the import sample and the benchmarks. Shares follow what the regulator's
bulletins show for a mixed life/property insurer: claims and sales disputes lead, about 10%
arrive forwarded by the regulator (12378), about 8% repeat an earlier complaint of the same
person on the same policy, amounts are log-normal, and receipt times spread over the last 13
months. Only names and addresses come from Faker (a small pool, because Faker costs ~100 µs a
call); resident IDs and mobiles are built here so that a 1,000,000-row build stays fast. The
generator draws no I/O and imports nothing of storage: callers decide how rows are written.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from services.lifecycle.registration import Person, Registration

CHANNELS = {
    "hotline": 45,
    "online": 22,
    "counter": 8,
    "letter": 2,
    "email": 3,
    "regulator": 10,
    "media": 3,
    "other": 7,
}
CATEGORIES = {
    "claims": 38,
    "sales": 22,
    "surrender": 12,
    "policy_service": 7,
    "renewal": 5,
    "service_quality": 7,
    "telemarketing": 4,
    "underwriting": 2,
    "information_security": 1,
    "other": 2,
}
PRODUCTS = {
    "motor": 30,
    "medical": 18,
    "life": 10,
    "critical_illness": 10,
    "investment_linked": 12,
    "accident": 6,
    "property": 6,
    "guarantee": 4,
    "other": 4,
}
BRANCHES = {
    "head_office": 5,
    "beijing": 20,
    "shanghai": 18,
    "guangdong": 27,
    "sichuan": 13,
    "zhejiang": 17,
}
# Resident-ID area codes (GB/T 2260) per branch, so that an ID fits the branch's province.
AREAS = {
    "beijing": ("110105", "110108", "110102"),
    "shanghai": ("310104", "310115", "310110"),
    "guangdong": ("440106", "440304", "440604"),
    "sichuan": ("510104", "510107", "510603"),
    "zhejiang": ("330106", "330102", "330205"),
    "head_office": ("110101", "110105"),
}
POLICY_PREFIX = {
    "motor": "PDAA",
    "property": "PQAA",
    "guarantee": "PGAA",
    "life": "PL",
    "critical_illness": "PJ",
    "medical": "PM",
    "accident": "PE",
    "investment_linked": "PU",
    "other": "PO",
}
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "158",
    "159",
    "166",
    "177",
    "180",
    "182",
    "186",
    "187",
    "188",
    "189",
    "198",
    "199",
)
CLAIMS = {
    "claims": (
        "要求按合同赔付住院医疗费用",
        "住院出院后提交理赔材料, 逾 30 日未获赔付, 多次催办无果",
    ),
    "sales": ("要求全额退还保费", "业务员销售时承诺保本高收益, 未说明犹豫期和退保损失"),
    "surrender": ("要求按现金价值足额退保", "申请退保时被告知扣除手续费, 对退保金额有异议"),
    "policy_service": ("要求尽快办理保全变更", "申请变更受益人, 两周未办理完毕"),
    "renewal": ("要求恢复保单效力并续保", "续期扣款失败未收到提醒, 保单进入宽限期后失效"),
    "service_quality": ("要求道歉并改进服务", "客服电话长时间无人接听, 柜面人员态度生硬"),
    "telemarketing": ("要求停止电话营销", "一周内接到多次营销电话, 已明确拒绝仍被拨打"),
    "underwriting": ("要求说明拒保理由", "投保时被要求加费承保, 未告知核保依据"),
    "information_security": ("要求说明个人信息泄露原因", "投保后频繁接到第三方推销电话"),
    "other": ("要求给予合理解释", "对保单条款理解存在分歧"),
}


def weighted(rng: random.Random, shares: Mapping[str, float], allowed: Mapping[str, str]) -> str:
    """Draw a code by share, limited to the codes the taxonomy knows."""
    codes = [c for c in shares if c in allowed] or list(allowed)
    weights = [shares.get(c, 1) for c in codes]
    return rng.choices(codes, weights)[0]


def resident_id(rng: random.Random, area: str, born: date) -> str:
    """A GB 11643 resident ID with the correct check digit."""
    body = f"{area}{born:%Y%m%d}{rng.randint(0, 999):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"


@dataclass
class Timeline:
    """What happens to one case after registration; times are aware UTC, all before `now`."""

    stage: str  # registered | accepted | investigating | decided | notified | closed |
    #             settled | withdrawn | consulting | mediating
    accepted: datetime | None = None
    decided: datetime | None = None
    notified: datetime | None = None
    closed: datetime | None = None
    consulted: datetime | None = None
    mediated: datetime | None = None
    mediation_ended: datetime | None = None
    escalated: datetime | None = None
    withdrawn: datetime | None = None


@dataclass
class DemoCase:
    index: int
    registration: Registration
    age: int
    timeline: Timeline
    repeat_of: int | None = None


class Generator:
    """Deterministic for a seed. `cases(n)` yields DemoCase in receipt order."""

    def __init__(
        self,
        taxonomy: Any,
        *,
        now: datetime,
        seed: int = 7,
        months: int = 13,
        regulator_share: float = 0.10,
        repeat_share: float = 0.08,
        name_pool: int = 2000,
    ) -> None:
        from faker import Faker  # imported lazily: ~0.3 s and only generators need it

        self.tax, self.now, self.months = taxonomy, now, months
        self.rng = random.Random(seed)
        self.regulator_share, self.repeat_share = regulator_share, repeat_share
        fake = Faker("zh_CN")
        fake.seed_instance(seed)
        self.names = [fake.name() for _ in range(name_pool)]
        self.addresses = [fake.address().rsplit(" ", 1)[0] for _ in range(max(name_pool // 4, 1))]

    def _received(self) -> datetime:
        # Working hours dominate (hotline 9-18), a little volume at night and weekends.
        span = self.months * 30.4
        day = self.now - timedelta(days=self.rng.random() * span)
        hour = self.rng.choice((9, 10, 10, 11, 11, 14, 14, 15, 15, 16, 17, 20))
        local = day.astimezone(timezone(timedelta(hours=8))).replace(
            hour=hour, minute=self.rng.randint(0, 59), second=self.rng.randint(0, 59), microsecond=0
        )
        return min(local.astimezone(UTC), self.now - timedelta(minutes=5))

    def _person(self, branch: str) -> tuple[Person, int]:
        rng = self.rng
        age = max(18, min(90, int(rng.gauss(46, 14))))
        born = date(self.now.year - age, rng.randint(1, 12), rng.randint(1, 28))
        area = rng.choice(AREAS.get(branch, AREAS["head_office"]))
        return Person(
            name=rng.choice(self.names),
            id_number=resident_id(rng, area, born),
            phone=mobile(rng),
            address=rng.choice(self.addresses),
        ), age

    def _timeline(self, received: datetime) -> Timeline:
        rng, now = self.rng, self.now
        t = Timeline(stage="registered")

        def until(moment: datetime) -> bool:
            return moment < now - timedelta(minutes=1)

        accept = received + timedelta(
            hours=rng.expovariate(1 / 6) if rng.random() < 0.93 else 24 + rng.random() * 48
        )
        if rng.random() < 0.03 and until(received + timedelta(days=2)):
            t.stage, t.withdrawn = "withdrawn", received + timedelta(days=1 + rng.random())
            return t
        if not until(accept):
            return t
        t.stage, t.accepted = "investigating", accept
        days = rng.lognormvariate(math.log(6), 0.7)
        decide = received + timedelta(days=days)
        if rng.random() < 0.05 and until(accept + timedelta(days=1)):
            t.consulted = accept + timedelta(days=1)
            t.stage = "consulting"
            decide = max(decide, t.consulted + timedelta(days=2))
        if rng.random() < 0.04 and until(accept + timedelta(hours=12)):
            t.escalated = accept + timedelta(hours=12)
        if rng.random() < 0.04 and until(decide + timedelta(days=1)):
            t.mediated = decide + timedelta(days=1)
            t.stage = "mediating"
            end = t.mediated + timedelta(days=rng.randint(5, 30))
            if until(end):
                t.mediation_ended = end
                t.stage = "settled" if rng.random() < 0.6 else "mediation_failed"
                if t.stage == "settled":
                    t.closed = end
            return t
        if not until(decide):
            return t
        t.stage, t.decided = "decided", decide
        notify = decide + timedelta(hours=rng.uniform(1, 20))
        if not until(notify):
            return t
        t.stage, t.notified = "notified", notify
        close = notify + timedelta(days=rng.uniform(1, 5))
        if until(close):
            t.stage, t.closed = "closed", close
        return t

    def cases(self, n: int) -> Iterator[DemoCase]:
        rng, tax = self.rng, self.tax
        times = sorted(self._received() for _ in range(n))
        earlier: list[DemoCase] = []
        for i, received in enumerate(times):
            repeat_of = None
            first = rng.choice(earlier[-400:]) if earlier else None
            if (
                first is not None
                and rng.random() < self.repeat_share
                and received - (first.registration.received_at or received) < timedelta(days=150)
            ):
                repeat_of = first.index
                reg0 = first.registration
                person, age = reg0.complainant, first.age
                branch, category, product = reg0.branch, reg0.category, reg0.product
                policy, amount = reg0.policy_no, reg0.amount
            else:
                branch = weighted(rng, BRANCHES, tax.branches)
                person, age = self._person(branch)
                category = weighted(rng, CATEGORIES, tax.categories)
                product = weighted(rng, PRODUCTS, tax.products)
                policy = (
                    POLICY_PREFIX.get(product, "P")
                    + f"{received.year - rng.randint(0, 6)}"
                    + f"{rng.randint(0, 10**10 - 1):010d}"
                )
                amount = (
                    round(rng.lognormvariate(math.log(8000), 1.2), 2)
                    if rng.random() < 0.85
                    else None
                )
            forwarded = rng.random() < self.regulator_share
            channel = (
                "regulator"
                if forwarded
                else weighted(
                    rng, {k: v for k, v in CHANNELS.items() if k != "regulator"}, tax.channels
                )
            )
            claim, facts = CLAIMS.get(category or "other", CLAIMS["other"])
            reg = Registration(
                complainant=person,
                claim=claim,
                facts=facts,
                channel=channel,
                received_at=received,
                branch=branch,
                category=category,
                product=product,
                policy_no=policy,
                amount=amount,
                regulator_ref=f"12378-{received:%Y%m%d}-{i:06d}" if forwarded else None,
                regulator_forwarded_on=(
                    received - timedelta(days=rng.randint(1, 7)) if forwarded else None
                ),
                vulnerable=age >= 70 and rng.random() < 0.5,
                media_involved=rng.random() < 0.01,
                group_size=1 if rng.random() < 0.995 else rng.randint(5, 25),
            )
            case = DemoCase(
                index=i,
                registration=reg,
                age=age,
                timeline=self._timeline(received),
                repeat_of=repeat_of,
            )
            earlier.append(case)
            if len(earlier) > 2000:
                del earlier[:1000]
            yield case


# The columns of a legacy complaint spreadsheet as insurers keep them (sample for import).
SHEET_HEADERS = [
    "工单号",
    "投诉人姓名",
    "证件号码",
    "联系电话",
    "联系地址",
    "投诉请求",
    "事实与理由",
    "投诉渠道",
    "收到时间",
    "机构",
    "投诉类别",
    "产品",
    "保单号",
    "涉及金额",
    "监管转办编号",
    "监管转办日期",
    "特殊群体",
]


def sheet_row(case: DemoCase, taxonomy: Any, tz: Any) -> list[Any]:
    """One spreadsheet row in SHEET_HEADERS order: Chinese labels, local times."""
    reg, p = case.registration, case.registration.complainant
    received = reg.received_at.astimezone(tz) if reg.received_at else None
    forwarded = reg.regulator_forwarded_on.astimezone(tz) if reg.regulator_forwarded_on else None
    channel = "12378转办" if reg.channel == "regulator" else taxonomy.channels[reg.channel]
    return [
        f"LG{case.index + 1:08d}",
        p.name,
        p.id_number,
        p.phone,
        p.address,
        reg.claim,
        reg.facts,
        channel,
        f"{received:%Y-%m-%d %H:%M:%S}" if received else "",
        taxonomy.branches[reg.branch],
        taxonomy.categories.get(reg.category or "", ""),
        taxonomy.products.get(reg.product or "", ""),
        reg.policy_no,
        "" if reg.amount is None else f"{reg.amount:.2f}",
        reg.regulator_ref or "",
        f"{forwarded:%Y-%m-%d}" if forwarded else "",
        "是" if reg.vulnerable else "",
    ]
