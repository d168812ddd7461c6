"""The cleaning rules as pure functions: quarantine, alias resolution, dedupe.

Reasons a row is removed (its `reject_reason`):
  reserved_column:<column>    already has a column CleanExamples adds (source, ...)
  multiple_ids                several values in the id column
  missing_id                  no value for the id column
  missing_required:<column>   no value for a required column
  label_not_a_class           a label that is none of the label's classes
  spam                        its canonical id is on the spam list
  duplicate_merged            another row of the same person was kept
"""

from __future__ import annotations

import dataclasses
import math
from typing import Iterable, Mapping, Optional, Sequence

RESERVED_COLUMN = "reserved_column:"
MULTIPLE_IDS = "multiple_ids"
MISSING_ID = "missing_id"
MISSING_REQUIRED = "missing_required:"
LABEL_NOT_A_CLASS = "label_not_a_class"
SPAM = "spam"
DUPLICATE_MERGED = "duplicate_merged"
KEPT = "kept"
# Longest alias chain followed (a -> b -> c ...) before it is called a cycle.
MAX_ALIAS_HOPS = 64


class IdMapError(ValueError):
    """The alias -> canonical id map is inconsistent.

    Args:
      message: What is wrong, naming the ids.
      loop: The ids of a cycle, in order (empty for other problems).
    """

    def __init__(self, message: str, loop: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.loop = tuple(loop)


@dataclasses.dataclass(frozen=True)
class RowFacts:
    """What the rules need to know about one row; the row itself travels beside it.

    Attributes:
      source: The input split (source) it came from.
      timestamp: Its recency (e.g. epoch seconds), None when missing.
      label: Its label as text, None when missing or not configured.
      record: Bytes identifying the row, the final tie-break.
    """

    source: str
    timestamp: Optional[float]
    label: Optional[str]
    record: bytes


def quarantine_reason(
    has_id: bool, missing_columns: Sequence[str], label_is_a_class: bool = True
) -> Optional[str]:
    """Returns why a row is invalid, or None if it is valid.

    Args:
      has_id: Whether the id column has a value (always True without an id column).
      missing_columns: Required columns without a value, in config order.
      label_is_a_class: Whether its label is one of the label's classes
        (always True when the classes are not given, or the row has no label).
    """
    if not has_id:
        return MISSING_ID
    if missing_columns:
        return MISSING_REQUIRED + missing_columns[0]
    if not label_is_a_class:
        return LABEL_NOT_A_CLASS
    return None


def resolve_alias(identifier: str, aliases: Mapping[str, str]) -> str:
    """Follows alias -> canonical links to the final canonical id.

    Raises:
      IdMapError: The links form a cycle (naming its ids) or exceed MAX_ALIAS_HOPS.
    """
    seen = [identifier]
    current = identifier
    # A chain of n links takes n + 1 look-ups: the last finds no further alias.
    for _ in range(MAX_ALIAS_HOPS + 1):
        target = aliases.get(current)
        if target is None or target == current:
            return current
        if target in seen:
            loop = seen[seen.index(target) :]
            start = loop.index(min(loop))  # the same message from every id in the loop
            loop = loop[start:] + loop[:start]
            raise IdMapError("id map has a cycle: " + " -> ".join(loop + [loop[0]]), loop)
        seen.append(target)
        current = target
    raise IdMapError(f"id map chain from {identifier!r} is longer than {MAX_ALIAS_HOPS} links")


def canonical_conflict(alias: str, canonicals: Iterable[str]) -> Optional[str]:
    """Returns an error message if `alias` maps to more than one canonical id."""
    distinct = sorted(set(canonicals))
    if len(distinct) > 1:
        return f"id map maps alias {alias!r} to {len(distinct)} canonical ids: " + ", ".join(
            repr(c) for c in distinct
        )
    return None


def _preference(row: RowFacts, rank: Mapping[str, int]) -> tuple:
    # NaN compares false both ways, which would make the choice order-dependent.
    missing = row.timestamp is None or math.isnan(row.timestamp)
    recency = float("inf") if missing else -row.timestamp
    return (recency, rank.get(row.source, len(rank)), row.source)


def best_candidates(rows: Sequence[RowFacts], source_priority: Sequence[str]) -> list[int]:
    """Indices of the rows tied for keeping: most recent, then best source.

    The most recent timestamp wins (a missing or NaN timestamp is oldest); ties
    go to the source listed first in `source_priority` (unlisted sources after,
    by name). Rows still tied need another tie-break (see `survivor_index`).
    """
    rank = {source: i for i, source in enumerate(source_priority)}
    keys = [_preference(row, rank) for row in rows]
    best = min(keys)
    return [i for i, key in enumerate(keys) if key == best]


def survivor_index(rows: Sequence[RowFacts], source_priority: Sequence[str]) -> int:
    """Picks the row kept among one person's rows.

    Among `best_candidates`, the smallest `record` bytes win, so the choice
    never depends on input order.
    """
    return min(best_candidates(rows, source_priority), key=lambda i: rows[i].record)


def has_label_conflict(rows: Sequence[RowFacts]) -> bool:
    """True if one person's rows carry different labels (missing labels ignored)."""
    return len({row.label for row in rows if row.label is not None}) > 1


def describe_removals(removed: Mapping[str, int]) -> str:
    """Rows removed per reason, the most first: "spam 1,250, missing_id 2"."""
    ordered = sorted(removed.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{reason} {n:,}" for reason, n in ordered)
