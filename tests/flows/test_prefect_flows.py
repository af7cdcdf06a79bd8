"""The flows themselves, under the session-wide Prefect harness: they find the work and call
the services; the deployments in prefect.yaml match flows/deployments.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from flows.deployments import DEPLOYMENTS, TIMEZONE
from services.automatic import consultation, escalation
from services.context import Context
from services.lifecycle import actions as a
from tests import factories as f

pytestmark = pytest.mark.clock

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.usefixtures("prefect_harness")
def test_the_sweep_flow_escalates_what_is_due_and_then_nothing(ctx: Context, now: datetime) -> None:
    from flows.sweep import deadline_sweep

    f.registered(ctx, now - timedelta(hours=30))
    url = ctx.config.database_url
    assert deadline_sweep(database_url=url)["escalated"] == 1
    assert deadline_sweep(database_url=url)["escalated"] == 0


@pytest.mark.usefixtures("prefect_harness")
def test_the_consultation_and_mediation_flows_run_their_cycles(ctx: Context, now: datetime) -> None:
    from flows.consultation import consultation_cycle
    from flows.mediation import mediation_cycle

    number = f.registered(ctx, now - timedelta(hours=2))
    a.accept(
        ctx,
        number,
        actor="clerk",
        category="claims",
        product="medical",
        owner="liaison",
        priority="major",
        priority_reason="群体事件",
    )
    other = f.accepted(ctx, now - timedelta(days=2), policy_no="P2026777777", channel="online")
    a.investigate(ctx, other, actor="liaison")
    a.mediate(ctx, other, actor="liaison", channel="industry", organisation="调解中心")

    url = ctx.config.database_url
    assert consultation_cycle(database_url=url)["convened"] == 1
    assert mediation_cycle(database_url=url)["prepared"] == 1
    assert consultation.consultations_of(ctx, number)[0]["reason_code"] == "major"
    assert escalation.due_count(ctx) == 0


def test_prefect_yaml_has_one_deployment_per_flow_with_its_schedule() -> None:
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    found = {d["name"]: d for d in spec["deployments"]}
    assert set(found) == {d.name for d in DEPLOYMENTS}
    for d in DEPLOYMENTS:
        got = found[d.name]
        assert got["entrypoint"] == d.entrypoint
        assert got["schedules"][0]["cron"] == d.cron
        assert got["schedules"][0]["timezone"] == TIMEZONE
        assert got.get("concurrency_limit") == d.concurrency
        assert got["work_pool"]["name"] == spec["deployments"][0]["work_pool"]["name"]


@pytest.mark.usefixtures("prefect_harness")
def test_the_dispatch_flow_sends_what_it_can_and_completes_naming_a_missing_secret(
    ctx: Context, smtp, tmp_path: Path, monkeypatch, now: datetime
) -> None:  # type: ignore[no-untyped-def]
    from flows.notify import notify_dispatch
    from tests.notifications.conftest import alert

    path = tmp_path / "apprise.yaml"
    path.write_text(
        f"""version: 1
urls:
  - wecombot://${{UNSET_ROBOT_KEY}}:
      - tag: 1:role-team_lead
  - {smtp.url()}:
      - tag: 2:role-team_lead, supervisors
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("TOUSU_APPRISE_FILE", str(path))
    monkeypatch.delenv("UNSET_ROBOT_KEY", raising=False)
    alert(ctx, "c1:flow-missing-secret", audience="supervisors", urgent=True, now=now)

    # Not a failed run every minute: completed, its message naming what to set, and the
    # administrators told once by the channel that works (issue 16).
    state = notify_dispatch(database_url=ctx.config.database_url, return_state=True)
    assert state.is_completed() and "UNSET_ROBOT_KEY" in (state.message or "")
    subjects = sorted(str(m["Subject"]) for m in smtp.messages)
    assert len(subjects) == 2 and any("提醒渠道不可用" in s for s in subjects)
    again = notify_dispatch(database_url=ctx.config.database_url, return_state=True)
    assert again.is_completed() and len(smtp.messages) == 2  # said once
