"""CleanExamples' options, validated when the pipeline is built."""

from __future__ import annotations

import dataclasses
import json
from typing import Optional

SOURCE_FEATURE = "source"
CANONICAL_ID_FEATURE = "canonical_id"
REJECT_REASON_FEATURE = "reject_reason"
RESERVED_FEATURES = (SOURCE_FEATURE, CANONICAL_ID_FEATURE, REJECT_REASON_FEATURE)


@dataclasses.dataclass(frozen=True)
class CleanOptions:
    """What CleanExamples does; each step applies only when its inputs are given.

    Attributes:
      id_key: The column identifying a person. Without it there is nothing to
        merge or match against a spam list; rows are only tagged and checked.
      required_columns: Rows missing any of these are quarantined.
      timestamp_key: Among one person's rows, the most recent by this column
        is kept.
      source_priority: Ties on recency go to the source listed first.
      label_key: Used to count label conflicts among merged rows.
      spam_id_key: The spam list's id column (required with a spam list).
      alias_key: The id map's alias column (required with an id map).
      canonical_key: The id map's canonical column (required with an id map).
      has_spam_list: Whether a spam list input is wired.
      has_id_map: Whether an id map input is wired.
    """

    id_key: Optional[str] = None
    required_columns: tuple[str, ...] = ()
    timestamp_key: Optional[str] = None
    source_priority: tuple[str, ...] = ()
    label_key: Optional[str] = None
    spam_id_key: Optional[str] = None
    alias_key: Optional[str] = None
    canonical_key: Optional[str] = None
    has_spam_list: bool = False
    has_id_map: bool = False

    def __post_init__(self) -> None:
        _validate(self)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "CleanOptions":
        raw = json.loads(text)
        for key in ("required_columns", "source_priority"):
            raw[key] = tuple(raw.get(key) or ())
        return cls(**raw)


def _validate(options: CleanOptions) -> None:
    """Raises ValueError naming the first inconsistent option."""
    if (options.has_spam_list or options.has_id_map) and not options.id_key:
        raise ValueError("CleanExamples: a spam list or id map needs id_key")
    if options.has_spam_list and not options.spam_id_key:
        raise ValueError("CleanExamples: spam_id_key (the spam list's id column) is required")
    if options.has_id_map and not (options.alias_key and options.canonical_key):
        raise ValueError(
            "CleanExamples: alias_key and canonical_key (the id map's columns) are required"
        )
    if options.timestamp_key and not options.id_key:
        raise ValueError("CleanExamples: timestamp_key only applies with an id_key")
    named = [options.id_key, options.timestamp_key, options.label_key, *options.required_columns]
    clash = sorted({n for n in named if n in RESERVED_FEATURES})
    if clash:
        raise ValueError(
            f"CleanExamples: column {clash[0]!r} clashes with a feature CleanExamples adds "
            f"({', '.join(RESERVED_FEATURES)})"
        )
    if len(set(options.source_priority)) != len(options.source_priority):
        raise ValueError(
            f"CleanExamples: source_priority repeats a source: {options.source_priority}"
        )
