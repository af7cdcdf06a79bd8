"""Notifications: the outbox dispatcher every minute and the daily digest per supervisor.

Schedules (Asia/Shanghai): `notify-dispatch` every minute, concurrency unlimited (deliveries
are claimed with FOR UPDATE SKIP LOCKED under a lease, so overlapping runs never send one
twice, and robots' rate budgets are shared in the database); `notify-digest` 08:30 daily,
concurrency 1. The rules are in notifications/."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from flows.runtime import flow_context


@flow(name="notify-dispatch", description="发送待发提醒: 重试、退避、备用渠道、免打扰时段")
def notify_dispatch(database_url: str | None = None) -> Any:
    """One dispatch pass. Channels left out for want of a secret do not fail the run every
    minute: the run completes with a warning naming what to set (said once a day, when the
    administrators' alert about it is queued; a plain line on the other runs), and Prefect
    shows the state's message. A real failure (database, a broken routing file) still fails."""
    from prefect.states import Completed

    from notifications.dispatch import dispatch
    from services.casefile.messages import deliver

    with flow_context(database_url) as ctx:
        report = dispatch(ctx)
        # Messages to the complainant due a (re)try, on the same schedule (issue 18).
        messages = deliver(ctx)
    logger = get_run_logger()
    if messages["sent"] or messages["failed"]:
        logger.info("投诉人告知消息: 成功 %d, 失败 %d", messages["sent"], messages["failed"])
    logger.info(
        "提醒发送: 成功 %d, 失败 %d, 暂缓 %d, 限流等待 %d, 免打扰顺延 %d, 无匹配渠道 %d, "
        "转备用渠道 %d (%.1f 秒)",
        report.sent,
        report.failed,
        report.held,
        report.throttled,
        report.deferred,
        report.unrouted,
        report.failed_over,
        report.seconds,
    )
    if not report.unavailable:
        return dict(vars(report))
    gap = f"{len(report.unavailable)} 个通知渠道缺少密钥, 已跳过: " + "; ".join(report.unavailable)
    if report.nothing_usable:
        gap = "没有可用的通知渠道, 提醒留在待发队列中。" + gap
    if report.admins_told:
        logger.warning("%s (已通知系统管理员; 设置后运行 tousu notifications test --all)", gap)
    else:
        logger.info("%s", gap)
    return Completed(message=gap, data=dict(vars(report)))


@flow(name="notify-digest", description="每日汇总: 每位主管一份待督办清单")
def notify_digest(database_url: str | None = None) -> int:
    from notifications.digest import compose_digests

    with flow_context(database_url) as ctx:
        made = compose_digests(ctx)
    get_run_logger().info("每日汇总: 新生成 %d 份", made)
    return made
