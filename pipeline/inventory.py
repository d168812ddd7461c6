"""The data inventory: what each source is, what it cost, and who labelled it.

An optional `inventory:` section of the config, one entry per source:

    inventory:
      web:
        owner: growth-team
        description: sign-ups on the website
        collection_cost: 1200        # in `currency`, for the whole collection
        currency: USD                # default USD
        collection_days: 30          # time it took to collect
        labelling_method: in_house   # in_house | outsourced | crowd
        labeller_qualification: recruiters on the platform's staff
        collected_on: 2026-10-01

When the section is given, every source needs an entry and every entry a source.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any, Mapping, Optional, Protocol, Sequence

LABELLING_METHODS = ("in_house", "outsourced", "crowd")
# The feature CleanExamples adds to each row from its source's entry, so the
# Evaluator can slice by it (and the split can stratify by it).
LABELLING_METHOD_FEATURE = "labelling_method"
DEFAULT_CURRENCY = "USD"
# Every field of an entry, in the order the README documents them.
INVENTORY_FIELDS = (
    "owner",
    "description",
    "collection_cost",
    "currency",
    "collection_days",
    "labelling_method",
    "labeller_qualification",
    "collected_on",
)
_KEYS = set(INVENTORY_FIELDS)


class FieldReader(Protocol):
    """The config reader's typed accessors (see `pipeline.config`)."""

    def error(self, field: str, message: str) -> Exception: ...

    def mapping(self, value: Any, field: str) -> Mapping[str, Any]: ...

    def only_keys(self, value: Mapping[str, Any], field: str, allowed: set[str]) -> None: ...

    def string(self, value: Any, field: str) -> str: ...

    def number(self, value: Any, field: str, low: float, high: float) -> float: ...


@dataclasses.dataclass(frozen=True)
class SourceInventory:
    """What is declared about one source.

    Attributes:
      owner: Who is responsible for the source.
      description: What the data is.
      collection_cost: What collecting (and labelling) it cost, in `currency`.
      currency: The unit of `collection_cost`.
      collection_days: How long collecting it took.
      labelling_method: `in_house`, `outsourced` or `crowd`.
      labeller_qualification: Who the labellers are (e.g. subject-matter experts).
      collected_on: When the collection ended.
    """

    owner: str
    description: str
    collection_cost: float
    currency: str
    collection_days: float
    labelling_method: str
    labeller_qualification: str
    collected_on: datetime.date

    def row_tags(self) -> dict[str, str]:
        """The features every row of this source gets from its entry."""
        return {LABELLING_METHOD_FEATURE: self.labelling_method}

    def to_json(self) -> dict[str, Any]:
        """The entry as JSON-able values (the date as ISO text)."""
        return {**dataclasses.asdict(self), "collected_on": self.collected_on.isoformat()}


def _date(r: FieldReader, value: Any, field: str) -> datetime.date:
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise r.error(field, f"expected a date like 2026-10-01, got {value!r}")


def read_inventory(
    r: FieldReader, raw: Any, source_names: Sequence[str]
) -> Optional[dict[str, SourceInventory]]:
    """Reads the `inventory` section; None when the config has none.

    Args:
      r: The config reader (names the file in errors).
      raw: The section as parsed YAML.
      source_names: The config's sources, in order.

    Returns:
      Source name -> its inventory entry, in source order.

    Raises:
      ConfigError: Naming the source and field: an unknown or missing key, a
        negative cost or time, an unknown labelling method, a bad date, an entry
        for a source the config does not have, or a source without an entry.
    """
    if raw is None:
        return None
    section = r.mapping(raw, "inventory")
    unknown = [name for name in section if name not in source_names]
    if unknown:
        raise r.error(
            f"inventory.{unknown[0]}",
            f"no source named {unknown[0]!r} (sources: {', '.join(source_names)})",
        )
    missing = [name for name in source_names if name not in section]
    if missing:
        raise r.error(
            "inventory",
            f"source {missing[0]!r} has no entry (with an inventory, every source needs one)",
        )
    return {name: _read_entry(r, section[name], f"inventory.{name}") for name in source_names}


def _read_entry(r: FieldReader, raw: Any, field: str) -> SourceInventory:
    entry = r.mapping(raw, field)
    r.only_keys(entry, field, _KEYS)
    for key in sorted(_KEYS - {"currency"}):
        if key not in entry:
            raise r.error(f"{field}.{key}", "missing (required)")
    method = r.string(entry["labelling_method"], f"{field}.labelling_method")
    if method not in LABELLING_METHODS:
        raise r.error(
            f"{field}.labelling_method",
            f"{method!r} is not one of: {', '.join(LABELLING_METHODS)}",
        )
    return SourceInventory(
        owner=r.string(entry["owner"], f"{field}.owner"),
        description=r.string(entry["description"], f"{field}.description"),
        collection_cost=r.number(
            entry["collection_cost"], f"{field}.collection_cost", 0.0, float("inf")
        ),
        currency=r.string(entry.get("currency", DEFAULT_CURRENCY), f"{field}.currency"),
        collection_days=r.number(
            entry["collection_days"], f"{field}.collection_days", 0.0, float("inf")
        ),
        labelling_method=method,
        labeller_qualification=r.string(
            entry["labeller_qualification"], f"{field}.labeller_qualification"
        ),
        collected_on=_date(r, entry["collected_on"], f"{field}.collected_on"),
    )
