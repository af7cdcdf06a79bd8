"""HTML forms built from declared fields (states/fields.py), and form data read back into the
values the services take. One description per field kind, nothing per action: the same row of
states/lifecycle.py ACTIONS that gives the CLI command its options gives the page its form.

- text → a one-line input, or a text area for long text (limit above 200 characters);
- choice → a select of the field's table or taxonomy list (config/taxonomy.toml);
- many → check boxes of its choices, or a text area with one value per line;
- flag → a check box; integer → a number input within the field's range;
- user → a text input offering the active users; case → a text input for a complaint number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from states.errors import InvalidInput
from states.fields import Field, Kind

LONG_TEXT = 200


@dataclass
class Input:
    """One input as a template draws it."""

    name: str
    label: str
    help: str
    # text | textarea | select | checkboxes | lines | checkbox | number | datetime-local | date
    widget: str
    required: bool
    options: list[tuple[str, str]] = field(default_factory=list)
    value: Any = None
    low: int | None = None
    high: int | None = None
    maxlength: int | None = None
    datalist: str = ""
    error: str = ""

    @property
    def values(self) -> list[str]:
        """The chosen values of a many-valued input."""
        if self.value is None:
            return []
        if isinstance(self.value, str):
            return [self.value]
        return [str(v) for v in self.value]


def options_of(f: Field, taxonomy: Any) -> list[tuple[str, str]]:
    """(code, label) pairs of a field's choices: a fixed table or a taxonomy list's name."""
    if f.choices is None:
        return []
    table = getattr(taxonomy, f.choices) if isinstance(f.choices, str) else f.choices
    return [(str(k), str(v)) for k, v in dict(table).items()]


def inputs(
    fields: Sequence[Field],
    taxonomy: Any,
    given: Mapping[str, Any] | None = None,
    widgets: Mapping[str, str] | None = None,
) -> list[Input]:
    """The inputs of `fields`, with what was typed (`given`) kept after a refusal; `widgets`
    names a widget for a field whose kind does not say it (a time: datetime-local, date)."""
    given = given or {}
    out = []
    for f in fields:
        options = options_of(f, taxonomy)
        value = given.get(f.name, f.default)
        common: dict[str, Any] = {
            "name": f.name,
            "label": f.label,
            "help": f.help,
            "required": f.required,
        }
        if widgets and f.name in widgets:
            item = Input(widget=widgets[f.name], value=value, **common)
        elif f.kind is Kind.flag:
            item = Input(widget="checkbox", value=bool(value), **common)
        elif f.kind is Kind.integer:
            item = Input(widget="number", value=value, low=f.low, high=f.high, **common)
        elif f.kind is Kind.many:
            widget = "checkboxes" if options else "lines"
            if widget == "lines" and isinstance(value, (list, tuple)):
                value = "\n".join(str(v) for v in value)
            item = Input(widget=widget, options=options, value=value, **common)
        elif options:
            item = Input(widget="select", options=options, value=value, **common)
        else:
            long = f.kind is Kind.text and f.limit > LONG_TEXT
            item = Input(
                widget="textarea" if long else "text",
                value=value,
                maxlength=f.limit or None,
                datalist="users" if f.kind is Kind.user else "",
                **common,
            )
        out.append(item)
    return out


# What a browser's form decoding leaves of bytes that are not UTF-8 (starlette decodes with
# errors="replace"): a form sent in another encoding (GBK) would be stored as mojibake.
REPLACEMENT = "\ufffd"
NOT_UTF8 = "表单编码须为 UTF-8 (内容含无法识别的字符), 请在本系统页面中重新填写"


def text_of(value: Any, name: str) -> str | None:
    """One submitted value as text (None when absent); refused when it was not UTF-8 or is
    a file."""
    if value is None:
        return None
    if not isinstance(value, str):  # a file (multipart) where text is declared
        raise InvalidInput(name, "此处须填写文字, 不能上传文件")
    text = value
    if REPLACEMENT in text:
        raise InvalidInput(name, NOT_UTF8)
    return text


def values(fields: Sequence[Field], form: Any) -> dict[str, Any]:
    """What a submitted form (starlette FormData: `get`, `getlist`) gives each field, as the
    CLI gives it: blank text is missing, a flag is present or not, many values are a list.
    Checking (limits, choices, ranges, required) is the service's (states/validation.py); a
    value that was not UTF-8 is refused here (InvalidInput naming the field)."""
    out: dict[str, Any] = {}
    for f in fields:
        if f.kind is Kind.flag:
            out[f.name] = text_of(form.get(f.name), f.name) in ("on", "true", "1", "yes")
        elif f.kind is Kind.many:
            raw = [str(text_of(v, f.name)) for v in form.getlist(f.name)]
            if len(raw) == 1 and not f.choices:
                raw = raw[0].splitlines()
            items = [v.strip() for v in raw if v.strip()]
            out[f.name] = items or None
        else:
            text = text_of(form.get(f.name), f.name)
            out[f.name] = text if text is not None and text.strip() else None
    return out
