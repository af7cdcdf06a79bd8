"""Request models built from the declarations, never written by hand: one per lifecycle action
from its row's fields (states/lifecycle.py ACTIONS), and the registration's from
states/intake_fields.py. So the OpenAPI schema lists each action's fields with the same
labels, help, choices and limits as the CLI's options and the workspace's forms.

Types only are checked here (text, number, yes/no, list); the values themselves are checked
by the services, with the CLI's messages (states/validation.fields_of, registration.problems).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model
from pydantic import Field as Pyd

from states.fields import Field, Kind
from states.intake_fields import REGISTRATION_FIELDS, TIME_FIELDS
from states.lifecycle import ACTIONS, Action


class Strict(BaseModel):
    """Unknown fields are refused (a misspelt field must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")


def path_of(act: Action) -> str:
    """The URL segment of an action: its CLI command, words joined by "-" ("appraisal-start")."""
    return act.command.replace(" ", "-")


def api_actions() -> dict[str, Action]:
    """URL segment → row, for every action people take (the rows with a CLI command)."""
    return {path_of(a): a for a in ACTIONS if a.command}


def _choices_text(f: Field) -> str:
    if isinstance(f.choices, Mapping):
        return "可选: " + ", ".join(f"{k}({v})" for k, v in f.choices.items())
    if isinstance(f.choices, str):
        return f"可选: 配置的分类表 {f.choices} 的代码或名称 (config/taxonomy.toml)"
    return ""


def _field(f: Field, *, time: bool = False) -> tuple[Any, Any]:
    """(annotation, pydantic FieldInfo) of one declared field."""
    base: Any
    if f.kind is Kind.flag:
        base = bool
    elif f.kind is Kind.many:
        base = list[str]
    elif f.kind is Kind.integer:
        base = int
    elif time:
        base = datetime | str
    else:
        base = str
    extra: dict[str, Any] = {"x-label": f.label, "x-kind": f.kind.value}
    if f.kind not in (Kind.flag, Kind.integer) and f.limit:
        extra["x-max-length"] = f.limit
    if isinstance(f.choices, Mapping):
        extra["x-choices"] = dict(f.choices)
    elif isinstance(f.choices, str):
        extra["x-taxonomy"] = f.choices
    description = " ".join(x for x in (f.help or f.label, _choices_text(f)) if x)
    examples = [f.example] if f.example else None
    numbers: dict[str, Any] = {"ge": f.low, "le": f.high} if f.kind is Kind.integer else {}
    if f.required and f.default is None:
        info = Pyd(
            ...,
            title=f.label,
            description=description,
            examples=examples,
            json_schema_extra=extra,
            **numbers,
        )
        return base, info
    default = list(f.default) if isinstance(f.default, tuple) else f.default
    if f.kind is Kind.flag and default is None:
        default = False
    info = Pyd(
        default,
        title=f.label,
        description=description,
        examples=examples,
        json_schema_extra=extra,
        **numbers,
    )
    return (base if default is not None else base | None), info


COMMON_HELP = {
    "at": "发生时间 (ISO 8601; 不带时区按配置的时区); 默认现在",
    "expected_version": "您看到的版本号 (GET 投诉返回的 complaint.version); 他人已修改时拒绝 (409)",
}


@cache
def action_model(trigger: str) -> type[BaseModel]:
    """The request body of one action: its declared fields, then `at` and
    `expected_version` (the CLI's --at and --expect-version)."""
    act = next(a for a in ACTIONS if a.trigger == trigger)
    fields: dict[str, Any] = {f.name: _field(f) for f in act.fields}
    fields["at"] = (datetime | str | None, Pyd(None, description=COMMON_HELP["at"]))
    fields["expected_version"] = (
        int | None,
        Pyd(None, ge=0, le=2**31 - 1, description=COMMON_HELP["expected_version"]),
    )
    name = "".join(part.capitalize() for part in trigger.split("_")) + "Request"
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        name,
        __base__=Strict,
        __doc__=f"{act.label}: {act.help or act.label}",
        **fields,
    )
    return model


@cache
def registration_model() -> type[BaseModel]:
    """The request body of a registration (登记, Art. 13)."""
    fields = {f.name: _field(f, time=f.name in TIME_FIELDS) for f in REGISTRATION_FIELDS}
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        "RegistrationRequest",
        __base__=Strict,
        __doc__="登记一件投诉 (第十三条): 投诉人、被投诉机构和人员、请求、事实和依据。",
        **fields,
    )
    return model


def given(body: BaseModel) -> dict[str, Any]:
    """The values a body carries, JSON-ready where they are times (for hashing, and for the
    services, which read ISO text as the CLI gives it). JSON may carry a lone surrogate
    ("\\ud800"), which no text can be stored or hashed as: refused, naming the field."""
    from states.errors import InvalidInput

    out = body.model_dump()
    for name, value in out.items():
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(t, str) and _SURROGATE.search(t) for t in texts):
            raise InvalidInput(name, "含无效字符 (孤立的 UTF-16 代理码点), 请检查文本的编码")
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in out.items()}


_SURROGATE = re.compile("[\ud800-\udfff]")
