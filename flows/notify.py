"""Notifications: the outbox dispatcher every minute and the daily digest per supervisor.

Schedules (Asia/Shanghai): `notify-dispatch` every minute, concurrency unlimited (deliveries
are claimed with FOR UPDATE SKIP LOCKED under a lease, so overlapping runs never send one
twice); `notify-digest` 08:30 daily, concurrency 1. The rules are in notifications/."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from flows.runtime import flow_context


@flow(name="notify-dispatch", description="发送待发提醒: 重试、退避、备用渠道、免打扰时段")
def notify_dispatch(database_url: str | None = None) -> dict[str, Any]:
    from notifications.dispatch import dispatch

    with flow_context(database_url) as ctx:
        report = dispatch(ctx)
    logger = get_run_logger()
    logger.info(
        "提醒发送: 成功 %d, 失败 %d, 暂缓 %d, 免打扰顺延 %d, 无匹配渠道 %d, "
        "转备用渠道 %d (%.1f 秒)",
        report.sent,
        report.failed,
        report.held,
        report.deferred,
        report.unrouted,
        report.failed_over,
        report.seconds,
    )
    if report.unavailable:
        # The other channels have sent; the run still fails so that the gap shows in the UI.
        from notifications.routing import RoutingError

        for gone in report.unavailable:
            logger.error("渠道不可用(已跳过, 请设置密钥): %s", gone)
        raise RoutingError(
            f"{len(report.unavailable)} 个通知渠道缺少密钥: " + "; ".join(report.unavailable)
        )
    return dict(vars(report))


@flow(name="notify-digest", description="每日汇总: 每位主管一份待督办清单")
def notify_digest(database_url: str | None = None) -> int:
    from notifications.digest import compose_digests

    with flow_context(database_url) as ctx:
        made = compose_digests(ctx)
    get_run_logger().info("每日汇总: 新生成 %d 份", made)
    return made
