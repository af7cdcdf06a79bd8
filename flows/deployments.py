"""The deployments of the automatic side: one per flow, with schedule and concurrency.

prefect.yaml (work pool + workers) and `tousu serve` (one process) are both built from this
table; tests/flows check that they agree. Schedules are Asia/Shanghai wall-clock times."""

from __future__ import annotations

from dataclasses import dataclass

TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Deployment:
    name: str
    entrypoint: str  # module:function, as in prefect.yaml
    cron: str
    # 1 where two runs at once are unsafe or pointless. The sweep claims rows (SKIP LOCKED) and
    # acts once per key, so several runs and several workers may share it: no limit.
    concurrency: int | None
    description: str


DEPLOYMENTS: tuple[Deployment, ...] = (
    Deployment(
        "deadline-sweep",
        "flows/sweep.py:deadline_sweep",
        "*/5 * * * *",
        None,
        "每 5 分钟: 时限预警、超时升级、按时限比例自动会商",
    ),
    Deployment(
        "consultation-cycle",
        "flows/consultation.py:consultation_cycle",
        "*/15 * * * *",
        1,
        "每 15 分钟: 重大投诉会商召集、会前提醒、逾期升级",
    ),
    Deployment(
        "mediation-cycle",
        "flows/mediation.py:mediation_cycle",
        "0 9 * * *",
        1,
        "每天 09:00: 调解转介准备与超期跟进",
    ),
    Deployment(
        "report-monthly",
        "flows/reports.py:report_monthly",
        "0 6 1 * *",
        1,
        "每月 1 日 06:00: 上月投诉统计报告, 通知主管",
    ),
    Deployment(
        "report-quarterly",
        "flows/reports.py:report_quarterly",
        "30 6 1 1,4,7,10 *",
        1,
        "每季度首日 06:30: 上季度投诉统计报告, 通知主管",
    ),
    Deployment(
        "notify-dispatch",
        "flows/notify.py:notify_dispatch",
        "* * * * *",
        None,
        "每分钟: 发送待发提醒(重试、备用渠道、免打扰时段); 按租约认领, 可并行",
    ),
    Deployment(
        "notify-digest",
        "flows/notify.py:notify_digest",
        "30 8 * * *",
        1,
        "每天 08:30: 每位主管的待督办汇总",
    ),
    Deployment(
        "ledger-nightly",
        "flows/ledger.py:ledger_nightly",
        "0 2 * * *",
        1,
        "每天 02:00: 重复投诉与积案台账刷新、责任人、提请会商",
    ),
    Deployment(
        "ledger-weekly",
        "flows/ledger.py:ledger_weekly",
        "30 8 * * 1",
        1,
        "每周一 08:30: 台账周报发送主管",
    ),
    Deployment(
        "callback-sweep",
        "flows/callbacks.py:callback_sweep",
        "*/30 8-18 * * *",
        1,
        "工作时间每 30 分钟: 回访到期提醒与逾期升级",
    ),
    Deployment(
        "retention",
        "flows/retention.py:retention_sweep",
        "30 3 * * *",
        1,
        "每天 03:30: 删除办结已满保存年限投诉的个人信息 ([retention])",
    ),
)


def load_flow(entrypoint: str):  # type: ignore[no-untyped-def]
    import importlib

    path, func = entrypoint.split(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    return getattr(module, func)
