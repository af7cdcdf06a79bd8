"""What an action takes and what it changes, as data the lifecycle table declares per row.

An action's fields (name, kind, Chinese label and help, required or not, choices) are declared
once, on its row in `states.lifecycle.ACTIONS`; the service function (services/lifecycle),
the CLI command (cli/actions.py), and the web form and API schema derive from that row.

An action's effects are declared next to it as well:
- column effects that need nothing but the action itself (`stamps`, `clears`, `copies`,
  `increments`) are applied by the service from the row;
- `effects` name the column effects that need the database or the configuration (for example
  "the owner must be a person who may own a case"); each name has one function in
  services/lifecycle/effects.py;
- `follow_ups` name what must happen after the move in the same transaction (a callback
  scheduled, an escalation fired, the merge target's clock restarted); the modules that do it
  subscribe to the name (services/lifecycle/events.py), so the lifecycle core never imports
  the automatic side.

Pure: no database, no configuration, no I/O. Must not import services/ or storage/.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """How a field's value is written and read."""

    text = "text"  # one line or more of free text
    choice = "choice"  # one code from `choices` (a fixed table or a taxonomy list)
    many = "many"  # several codes or texts (a CLI option given more than once)
    flag = "flag"  # yes/no
    integer = "integer"
    user = "user"  # a tousu username
    case = "case"  # a complaint number


# The longest value of each kind of text field unless the field declares its own.
TEXT_LIMITS = {Kind.text: 4000, Kind.user: 64, Kind.case: 32, Kind.many: 200, Kind.choice: 64}


@dataclass(frozen=True)
class Field:
    """One input of an action.

    `choices` is a fixed table (code → Chinese label) or the name of a taxonomy list in the
    configuration ("categories", "products"), resolved where the configuration is read.
    `option` is the CLI option's name when it differs from `--name` (e.g. `--remedy`, given
    once per remedy). `example` feeds the generated help examples.
    """

    name: str
    label: str
    help: str = ""
    kind: Kind = Kind.text
    required: bool = True
    choices: Mapping[str, str] | str | None = None
    option: str = ""
    default: Any = None
    example: str = ""
    # Limits, enforced by states/validation.fields_of before anything is written: the
    # longest text (0: the kind's default in TEXT_LIMITS below) and an integer's range.
    max_length: int = 0
    low: int = 0
    high: int = 2**31 - 1

    @property
    def limit(self) -> int:
        return self.max_length or TEXT_LIMITS.get(self.kind, 0)

    @property
    def flag_name(self) -> str:
        return self.option or "--" + self.name.replace("_", "-")
