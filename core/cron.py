"""Cron expressions as Airflow schedules them, checked without Airflow installed.

A config's `schedule.cron` is read on every machine, Airflow or not, so a
typo is reported when the config is loaded, naming the field, not when the
scheduler first parses the DAG. The rule is cron's: five fields (minute,
hour, day of month, month, day of week), each `*` or a comma list of values
and `a-b` ranges, each optionally `/step`; months and weekdays also by their
English three-letter names. Airflow's presets (`@daily`, ...) are accepted too.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Optional

# Airflow 2's schedule presets (airflow.utils.dates.cron_presets), which
# croniter also understands.
PRESETS = ("@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly", "@annually")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_ITEM = re.compile(r"^(?P<range>\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/(?P<step>[0-9]+))?$")


@dataclasses.dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    first_name_value: int = 0


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTHS, 1),
    # 7 is Sunday too, as in cron.
    _Field("day of week", 0, 7, _WEEKDAYS, 0),
)


def problem(expression: str) -> Optional[str]:
    """What is wrong with a cron expression, or None when it is valid.

    Args:
      expression: Five cron fields or one of PRESETS.

    Returns:
      One sentence naming the field and the part it cannot read.
    """
    text = expression.strip().lower()
    if text.startswith("@"):
        if text in PRESETS:
            return None
        return f"unknown preset {expression.strip()!r} (one of {', '.join(PRESETS)})"
    parts = text.split()
    if len(parts) != len(_FIELDS):
        return (
            f"expected 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts)}: {expression!r}"
        )
    for field, part in zip(_FIELDS, parts):
        for item in part.split(","):
            found = _field_problem(field, item)
            if found:
                return f"{field.name} field {part!r}: {found}"
    return None


def _field_problem(field: _Field, item: str) -> Optional[str]:
    """What is wrong with one comma-separated item of a field, or None."""
    match = _ITEM.match(item)
    if not match:
        return f"cannot read {item!r}"
    step = match.group("step")
    if step is not None and int(step) == 0:
        return "a step of 0"
    if match.group("range") == "*":
        return None
    bounds = match.group("range").split("-")
    values = []
    for bound in bounds:
        value = _value(field, bound)
        if value is None:
            return f"{bound!r} is not a valid {field.name} ({field.low}-{field.high})"
        values.append(value)
    if len(values) == 2 and values[0] > values[1]:
        return f"range {item!r} runs backwards"
    return None


def _value(field: _Field, text: str) -> Optional[int]:
    """A field value from digits or a name, or None when out of range or unknown."""
    if text.isdigit():
        value = int(text)
    elif text in field.names:
        value = field.names.index(text) + field.first_name_value
    else:
        return None
    return value if field.low <= value <= field.high else None
