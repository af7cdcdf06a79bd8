"""Retention: personal data erased past `[retention] years` (services/automatic/retention.py).

Schedule (Asia/Shanghai): `retention` 03:30 daily, concurrency 1."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from flows.runtime import flow_context
from services.automatic import retention


@flow(name="retention", description="个人信息保存期限: 删除办结已满保存年限投诉的个人信息")
def retention_sweep(database_url: str | None = None) -> dict[str, Any]:
    with flow_context(database_url) as ctx:
        result = retention.erase_expired(ctx)
    get_run_logger().info(
        "保存期限: 删除 %d 件投诉的个人信息 (%d 名当事人), 办结早于 %s",
        len(result.erased),
        result.parties,
        result.cutoff.astimezone(ctx.tz).date().isoformat(),
    )
    return {"erased": result.erased, "parties": result.parties}
