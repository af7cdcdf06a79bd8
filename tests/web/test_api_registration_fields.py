"""The registration declaration (states/intake_fields.py) and its one conversion to a
`Registration` (services/intake/form.py), which the form, the API and the CLI share."""

from __future__ import annotations

import inspect
from datetime import datetime

import pytest

from services.intake.form import choices_of, registration_of
from services.lifecycle import registration as reg_service
from services.lifecycle.registration import Registration, register
from states.errors import InvalidInput
from states.intake_fields import GROUPS, REGISTRATION_FIELDS
from tests.conftest import SHANGHAI


def test_every_registration_input_is_declared_once_and_grouped_once():
    names = [f.name for f in REGISTRATION_FIELDS]
    grouped = [n for _, _, group in GROUPS for n in group]
    assert len(names) == len(set(names))
    assert sorted(grouped) == sorted(names)
    for f in REGISTRATION_FIELDS:
        assert f.label and f.help, f.name
    # every attribute of a Registration is reachable from a declared field
    attrs = set(inspect.signature(Registration).parameters) - {"complainant", "agent", "extra"}
    assert attrs <= set(names)


def test_values_as_a_form_sends_them_become_a_registration():
    reg = registration_of(
        {
            "name": "赵六",
            "phone": "13800138000",
            "claim": "要求赔付",
            "facts": "30 日未获答复",
            "channel": "hotline",
            "received_at": "2026-11-20T09:15",
            "regulator_forwarded_on": "2026-11-19",
            "group_size": "3",
            "media_involved": "on",
            "vulnerable": "否",
            "heir": ["钱七", " "],
            "agent_name": "孙八",
            "on_behalf_of": "赵五",
        },
        tz=SHANGHAI,
    )
    assert reg.complainant.name == "赵六" and reg.complainant.kind == "person"
    assert reg.received_at == datetime(2026, 11, 20, 9, 15, tzinfo=SHANGHAI)
    assert reg.regulator_forwarded_on == datetime(2026, 11, 19, tzinfo=SHANGHAI)
    assert reg.media_involved is True and reg.vulnerable is False
    assert reg.capacity == "consumer" and reg.branch == "head_office"
    assert reg.agent is not None and reg.agent.name == "孙八"
    assert reg.extra == {"on_behalf_of": "赵五", "heirs": ["钱七"]}
    assert reg.group_size == "3"  # registration's own check turns it into a number


def test_an_unknown_field_or_a_bad_time_is_refused_naming_the_field():
    with pytest.raises(InvalidInput) as unknown:
        registration_of({"nmae": "x"}, tz=SHANGHAI)
    assert unknown.value.field == "nmae"
    with pytest.raises(InvalidInput) as bad_time:
        registration_of({"received_at": "昨天"}, tz=SHANGHAI)
    assert bad_time.value.field == "received_at"
    with pytest.raises(InvalidInput) as bad_flag:
        registration_of({"vulnerable": "也许"}, tz=SHANGHAI)
    assert bad_flag.value.field == "vulnerable"


def test_choices_come_from_the_fixed_table_or_the_configured_taxonomy(ctx):
    tax = ctx.config.taxonomy
    assert choices_of("channel", tax) == tax.channels
    assert choices_of("kind", tax) == {"person": "个人", "organisation": "单位"}
    assert choices_of("capacity", tax) == reg_service.CAPACITIES


def test_a_converted_registration_is_registered_with_the_services_rules(ctx, now):
    reg = registration_of(
        {
            "name": "赵六",
            "phone": "13800138000",
            "claim": "要求赔付",
            "facts": "30 日未获答复",
            "channel": "客服热线",
            "group_size": "2",
        },
        tz=ctx.tz,
    )
    done = register(ctx, reg, actor="clerk")
    assert done.number.startswith("TS")
    bad = registration_of(
        {"name": "赵六", "claim": "x", "facts": "y", "channel": "hotline"}, tz=ctx.tz
    )
    with pytest.raises(InvalidInput) as missing:
        register(ctx, bad, actor="clerk")
    assert missing.value.field == "phone"


def test_tousu_register_takes_one_option_per_declared_field():
    from cli.cases import REGISTER_ALIASES, command

    cmd = command("register")
    options = {p.name: set(p.opts) | set(p.secondary_opts) for p in cmd.params}
    for f in REGISTRATION_FIELDS:
        names = REGISTER_ALIASES.get(f.name, tuple(f.flag_name.split("/")))
        assert set(names) == options.pop(f.name), f.name
    assert set(options) == {"prompt", "user", "as_json"}
