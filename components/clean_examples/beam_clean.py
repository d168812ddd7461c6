"""CleanExamples as Beam transforms, in two passes over the rows.

Pass 1 reduces each valid row to small facts (canonical id, source, timestamp,
label, a fingerprint of the row) and joins them with the spam list per person
in one CoGroupByKey, deciding which rows are removed. Pass 2 re-reads the rows
and streams each to the cleaned or rejected output by that decision, so full
rows never wait in a shuffle.

The id map and the decisions are side inputs (one dict per worker): aliases,
and removed rows (spam and merged duplicates), are a small share of the data:
one dict entry per alias and per removed row.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Mapping, Optional

import apache_beam as beam
import tensorflow as tf

from components.clean_examples import rules
from components.clean_examples.options import (
    CANONICAL_ID_FEATURE,
    REJECT_REASON_FEATURE,
    RESERVED_FEATURES,
    SOURCE_FEATURE,
    CleanOptions,
)
from components.common.example_features import (
    feature_values,
    numeric_value,
    single_value,
    string_features,
)
from components.common.fingerprint import fingerprint64

KEPT = "kept"
REJECTED = "rejected"
COPIES = "copies"
CONFLICTS = "conflicts"
UNMATCHED_SPAM = "unmatched_spam"

# A kept row: (source, record, canonical id or None); a rejected row:
# (source, record, reason). Outcomes are counted per (source, outcome).


def _only_value(example: tf.train.Example, name: Optional[str]) -> Optional[str]:
    """A feature's single value as text; None if unset, absent or multi-valued."""
    values = feature_values(example, name) if name else []
    return values[0] if len(values) == 1 else None


def row_fingerprint(source: str, record: bytes) -> int:
    """Identifies a row across the two passes (its source and bytes)."""
    return fingerprint64(0, source.encode("utf-8") + b"\x00" + record)


def inspect_row(
    record: bytes, source: str, aliases: Mapping[str, str], options: CleanOptions
) -> tuple[Optional[str], Optional[str], Optional[tf.train.Example]]:
    """Returns (quarantine reason, canonical id, parsed example) of one row.

    The reason is None for a valid row; the canonical id is None without an
    id column. Both passes call this, so they agree on every row.
    """
    example = tf.train.Example.FromString(record)
    ids = feature_values(example, options.id_key) if options.id_key else []
    raw_id = ids[0] if len(ids) == 1 else None
    # The input check samples the first rows; a reserved column appearing
    # later is caught here, so no value is silently overwritten.
    clash = [f for f in RESERVED_FEATURES if f in example.features.feature]
    if clash:
        return rules.RESERVED_COLUMN + clash[0], None, example
    if len(ids) > 1:
        return rules.MULTIPLE_IDS, None, example
    missing = [c for c in options.required_columns if not feature_values(example, c)]
    reason = rules.quarantine_reason(options.id_key is None or raw_id is not None, missing)
    if reason is not None or raw_id is None:
        return reason, None, example
    return None, canonical_id(raw_id, aliases), example


def canonical_id(identifier: str, aliases: Mapping[str, str]) -> str:
    try:
        return rules.resolve_alias(identifier, aliases)
    except rules.IdMapError:
        # Reported by the id-map check, which fails the step; keep going here.
        return identifier


class RowFacts(beam.DoFn):
    """Pass 1: (canonical id, (source, timestamp, label, row fingerprint)) per valid row.

    Only these small facts meet in the shuffle; the rows themselves stream
    through pass 2.
    """

    def __init__(self, options: CleanOptions) -> None:
        self._options = options

    def process(
        self, record: bytes, source: str, aliases: Mapping[str, str]
    ) -> Iterator[tuple[str, tuple]]:
        options = self._options
        reason, canonical, example = inspect_row(record, source, aliases, options)
        if reason is not None or canonical is None:
            return
        timestamp = numeric_value(example, options.timestamp_key) if options.timestamp_key else None
        yield (
            canonical,
            (
                source,
                timestamp,
                _only_value(example, options.label_key),
                row_fingerprint(source, record),
            ),
        )


def decide_person(
    canonical_and_groups: tuple[str, Mapping[str, Iterable]],
    source_priority: tuple[str, ...],
) -> Iterator[object]:
    """Spam removal and merge for one canonical id, on row facts.

    Yields (row fingerprint, (rows kept, rows removed, reason)) for every
    fingerprint with a removed row; exact copies of a row share a fingerprint,
    so one of them may be kept and the others removed.
    """
    canonical, groups = canonical_and_groups
    facts = list(groups["rows"])
    is_spam = any(True for _ in groups["spam"])
    if not facts:
        if is_spam:
            yield beam.pvalue.TaggedOutput(UNMATCHED_SPAM, canonical)
        return
    rows = [
        rules.RowFacts(source, timestamp, label, fp.to_bytes(8, "big"))
        for source, timestamp, label, fp in facts
    ]
    if is_spam:
        keep, reason = None, rules.SPAM
    else:
        keep = rules.survivor_index(rows, source_priority) if len(rows) > 1 else 0
        reason = rules.DUPLICATE_MERGED
    per_row: dict[int, list[int]] = {}
    for i, (_, _, _, fp) in enumerate(facts):
        kept_removed = per_row.setdefault(fp, [0, 0])
        kept_removed[0 if i == keep else 1] += 1
    for fp, (kept, removed) in per_row.items():
        if removed:
            yield fp, (kept, removed, reason)
    if not is_spam and rules.has_label_conflict(rows):
        yield beam.pvalue.TaggedOutput(CONFLICTS, canonical)


class RouteRows(beam.DoFn):
    """Pass 2: sends each row to kept or rejected, by quarantine and pass 1's decisions.

    Rows with exact copies of which some are kept and some removed go to the
    COPIES output, to be shared out per fingerprint.
    """

    def __init__(self, options: CleanOptions) -> None:
        self._options = options

    def process(
        self,
        record: bytes,
        source: str,
        aliases: Mapping[str, str],
        removals: Mapping[int, tuple[int, int, str]],
    ) -> Iterator[object]:
        reason, canonical, _ = inspect_row(record, source, aliases, self._options)
        if reason is not None:
            yield beam.pvalue.TaggedOutput(REJECTED, (source, record, reason))
            return
        decision = removals.get(row_fingerprint(source, record)) if canonical else None
        if decision is None:
            yield beam.pvalue.TaggedOutput(KEPT, (source, record, canonical))
        elif decision[0] == 0:
            yield beam.pvalue.TaggedOutput(REJECTED, (source, record, decision[2]))
        else:
            yield beam.pvalue.TaggedOutput(
                COPIES, (row_fingerprint(source, record), (source, record, canonical))
            )


def share_out_copies(
    fp_and_rows: tuple[int, Iterable[tuple]], removals: Mapping[int, tuple[int, int, str]]
) -> Iterator[object]:
    """Keeps the decided number of a row's exact copies and rejects the rest."""
    fp, rows = fp_and_rows
    kept, _, reason = removals[fp]
    for i, (source, record, canonical) in enumerate(rows):
        if i < kept:
            yield beam.pvalue.TaggedOutput(KEPT, (source, record, canonical))
        else:
            yield beam.pvalue.TaggedOutput(REJECTED, (source, record, reason))


def tag_kept(row: tuple[str, bytes, Optional[str]]) -> bytes:
    """The kept row with its source and canonical id appended (no re-parse)."""
    source, record, canonical = row
    tags = {SOURCE_FEATURE: source}
    if canonical is not None:
        tags[CANONICAL_ID_FEATURE] = canonical
    return record + string_features(tags)


def tag_rejected(row: tuple[str, bytes, str]) -> bytes:
    """The rejected row with its source and reject reason appended."""
    source, record, reason = row
    return record + string_features({SOURCE_FEATURE: source, REJECT_REASON_FEATURE: reason})


def alias_pairs(record: bytes, options: CleanOptions) -> Iterator[tuple[str, str]]:
    """(alias, canonical) of one id-map row; rows missing either are skipped."""
    example = tf.train.Example.FromString(record)
    alias = single_value(example, options.alias_key)
    canonical = single_value(example, options.canonical_key)
    if alias is not None and canonical is not None and alias != canonical:
        yield alias, canonical


def spam_ids(record: bytes, options: CleanOptions) -> Iterator[str]:
    """The id of one spam-list row, if it has one."""
    value = single_value(tf.train.Example.FromString(record), options.spam_id_key)
    if value is not None:
        yield value


class FindIdMapProblems(beam.DoFn):
    """Reports aliases mapped to several canonical ids, and cycles."""

    def process(
        self, alias_and_canonicals: tuple[str, Iterable[str]], aliases: Mapping[str, str]
    ) -> Iterator[str]:
        alias, canonicals = alias_and_canonicals
        conflict = rules.canonical_conflict(alias, canonicals)
        if conflict:
            yield conflict
            return
        try:
            rules.resolve_alias(alias, aliases)
        except rules.IdMapError as e:
            yield str(e)
