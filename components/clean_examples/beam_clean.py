"""CleanExamples as Beam transforms.

Rows are inspected once (quarantine, alias resolution), then joined with the
spam list on the canonical id in one CoGroupByKey, where each person's rows are
merged. The id map is a side input (one dict per worker: aliases are a small
share of ids); rows and spam ids are never gathered anywhere but per person.
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

KEPT = "kept"
REJECTED = "rejected"
CONFLICTS = "conflicts"
UNMATCHED_SPAM = "unmatched_spam"

# A kept row: (source, record, canonical id or None); a rejected row:
# (source, record, reason). Outcomes are counted per (source, outcome).


def _only_value(example: tf.train.Example, name: Optional[str]) -> Optional[str]:
    """A feature's single value as text; None if unset, absent or multi-valued."""
    values = feature_values(example, name) if name else []
    return values[0] if len(values) == 1 else None


class InspectRows(beam.DoFn):
    """Quarantines invalid rows and keys the rest by canonical id."""

    def __init__(self, options: CleanOptions) -> None:
        self._options = options

    def process(
        self, record: bytes, source: str, aliases: Mapping[str, str]
    ) -> Iterator[object]:
        options = self._options
        example = tf.train.Example.FromString(record)
        ids = feature_values(example, options.id_key) if options.id_key else []
        raw_id = ids[0] if len(ids) == 1 else None
        # The input check samples the first rows; a reserved column appearing
        # later is caught here, so no value is silently overwritten.
        clash = [f for f in RESERVED_FEATURES if f in example.features.feature]
        if clash:
            reason: Optional[str] = rules.RESERVED_COLUMN + clash[0]
        elif len(ids) > 1:
            reason = rules.MULTIPLE_IDS
        else:
            missing = [c for c in options.required_columns if not feature_values(example, c)]
            reason = rules.quarantine_reason(options.id_key is None or raw_id is not None, missing)
        if reason is not None:
            yield beam.pvalue.TaggedOutput(REJECTED, (source, record, reason))
        elif options.id_key is None:
            yield beam.pvalue.TaggedOutput(KEPT, (source, record, None))
        else:
            # A plain tuple: Beam encodes it natively through the shuffle, where
            # a dataclass would be pickled row by row.
            facts = (
                source,
                numeric_value(example, options.timestamp_key) if options.timestamp_key else None,
                _only_value(example, options.label_key),
                record,
            )
            yield rules.resolve_alias(raw_id, aliases), facts


def decide_person(
    canonical_and_groups: tuple[str, Mapping[str, Iterable]],
    source_priority: tuple[str, ...],
) -> Iterator[object]:
    """Spam removal and merge for one canonical id."""
    canonical, groups = canonical_and_groups
    rows = [rules.RowFacts(*facts) for facts in groups["rows"]]
    is_spam = any(True for _ in groups["spam"])
    if not rows:
        if is_spam:
            yield beam.pvalue.TaggedOutput(UNMATCHED_SPAM, canonical)
        return
    if is_spam:
        for row in rows:
            yield beam.pvalue.TaggedOutput(REJECTED, (row.source, row.record, rules.SPAM))
        return
    keep = rules.survivor_index(rows, source_priority) if len(rows) > 1 else 0
    for i, row in enumerate(rows):
        if i == keep:
            yield beam.pvalue.TaggedOutput(KEPT, (row.source, row.record, canonical))
        else:
            yield beam.pvalue.TaggedOutput(
                REJECTED, (row.source, row.record, rules.DUPLICATE_MERGED)
            )
    if rules.has_label_conflict(rows):
        yield beam.pvalue.TaggedOutput(CONFLICTS, canonical)


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
