"""CleanExamples as Beam transforms, in two passes over the rows.

Both passes read the rows in batches (lists of serialized records, see
`examples_io.read_split_batches`), so Beam's per-element cost is paid per
batch, and the kept and rejected rows leave as batches too.

Pass 1 reduces each valid row to small facts (canonical id, source, timestamp,
label, a fingerprint of the row) and groups them with the spam list per
person, deciding which rows are removed. The facts are written to files, one
segment per shard of people (`shard_of`, `fact_files`), and only references
to the segments go through the shuffle; each shard then reads its segments
and groups its people in memory. Pass 2 re-reads the rows and streams each,
tagged, to the cleaned or rejected output by that decision, so full rows
never wait in a shuffle. Pass 2 also counts every row in and every outcome
per bundle, for the accounting.

The id map is resolved before the job and loaded once per worker process
from a file (`id_map.load_shared`). The decisions, a `removals.Removals` of
NumPy arrays (17 bytes per distinct removed row: exact copies share one
entry), reach pass 2 as a file too (`removals.load_removals`); Beam passes
only its path.
"""

from __future__ import annotations

import zlib
from typing import Iterable, Iterator, Mapping, NamedTuple, Optional, Union

import apache_beam as beam
import numpy as np
import pyarrow as pa
import tensorflow as tf
from apache_beam.transforms.window import GlobalWindows

from components.clean_examples import fact_files, rules
from components.clean_examples.id_map import IdMap, load_shared
from components.clean_examples.options import (
    CANONICAL_ID_FEATURE,
    REJECT_REASON_FEATURE,
    CleanOptions,
)
from components.clean_examples.removals import Removals, load_removals
from components.common import columns, counts
from components.common.example_features import (
    canonical_bytes,
    constant_string_features,
    has_value,
    number_of,
    numeric_in,
    one_string_feature,
    single_value,
    values_in,
)
from components.common.fingerprint import fingerprint64, fingerprints64
from core.labels import class_text

KEPT = "kept"
REJECTED = "rejected"
COPIES = "copies"
TIES = "ties"
# "rows kept" of a decision whose rows tie and are settled by content in pass 2.
TIED = -1
CONFLICTS = "conflicts"
UNMATCHED_SPAM = "unmatched_spam"
SPAM_PEOPLE = "spam_people"
# Count keys: (ROWS_IN, source) per row read; (OUTCOME, source, kept or reason).
ROWS_IN = "rows_in"
OUTCOME = "outcome"
# The value a spam-list id contributes to its person's group (row facts are tuples).
SPAM_MARK = None
# Spam-list ids MarkSpam buffers before it sends them on.
SPAM_FLUSH = 50_000


def row_fingerprints(source: str, records: Iterable[bytes]) -> np.ndarray:
    """Identifies rows across the two passes (each by its source and bytes), as uint64."""
    prefix = source.encode("utf-8") + b"\x00"
    return fingerprints64(0, (prefix + record for record in records))


class RowView(NamedTuple):
    """What the cleaning rules read of one row.

    Attributes:
      reserved: The first column CleanExamples adds that the row already has.
      ids: The id column's values as text.
      missing: Required columns without a value, in config order.
      timestamp: The `keep_latest_by` column's first value as a number.
      label: The label as text when the row has exactly one.
    """

    reserved: Optional[str]
    ids: list[str]
    missing: list[str]
    timestamp: Optional[float]
    label: Optional[str]


def view_of_record(record: bytes, options: CleanOptions) -> RowView:
    """The RowView of one serialized row, parsed on its own."""
    features = tf.train.Example.FromString(record).features.feature
    # The input check samples the first rows; a reserved column appearing
    # later is caught here, so no value is silently overwritten.
    reserved = next((c for c in options.added_features if c in features), None)
    labels = values_in(features, options.label) if options.label else []
    return RowView(
        reserved,
        values_in(features, options.id_key) if options.id_key else [],
        [c for c in options.required_columns if not has_value(features, c)],
        numeric_in(features, options.keep_latest_by) if options.keep_latest_by else None,
        labels[0] if len(labels) == 1 else None,
    )


def rule_decoder(options: CleanOptions) -> columns.NarrowDecoder:
    """A decoder of the features the rules read; batches naming a column
    CleanExamples adds are decoded whole (see `verdicts_of_batch`)."""
    names = [options.id_key, *options.required_columns, options.keep_latest_by, options.label]
    return columns.NarrowDecoder(
        [name for name in names if name], whole_if_present=options.added_features
    )


class RuleColumns(NamedTuple):
    """The features the rules read, for a whole decoded batch.

    Attributes:
      id_lengths: Values of the id column per row.
      id_texts: Each row's first id as text (None without one).
      missing: (required column, whether each row lacks it), in config order.
      timestamps: Each row's first `keep_latest_by` value, as decoded.
      labels: Each row's first label as text.
      label_lengths: Label values per row.
    """

    id_lengths: np.ndarray
    id_texts: list[Optional[str]]
    missing: list[tuple[str, np.ndarray]]
    timestamps: list[Optional[Union[int, float, bytes]]]
    labels: list[Optional[str]]
    label_lengths: np.ndarray


def rule_columns(batch: pa.RecordBatch, options: CleanOptions) -> RuleColumns:
    """Reads the rules' features of a decoded batch (`columns.ListColumn`).

    Args:
      batch: The decoded batch (at least the features `rule_decoder` names).
      options: Which features the rules read.

    Returns:
      The columns; a feature not configured reads as absent in every row.
    """
    rows = batch.num_rows
    none: list = [None] * rows
    id_texts, id_lengths = none, np.zeros(rows, dtype=np.int64)
    if options.id_key:
        id_column = columns.ListColumn(batch, options.id_key)
        id_lengths = id_column.lengths
        id_texts = id_column.first_texts()
    missing = [(c, columns.ListColumn(batch, c).lengths == 0) for c in options.required_columns]
    timestamps = (
        columns.ListColumn(batch, options.keep_latest_by).first_values()
        if options.keep_latest_by
        else none
    )
    labels, label_lengths = none, np.zeros(rows, dtype=np.int64)
    if options.label:
        label_column = columns.ListColumn(batch, options.label)
        labels, label_lengths = label_column.first_texts(), label_column.lengths
    return RuleColumns(id_lengths, id_texts, missing, timestamps, labels, label_lengths)


def _reserved_rows(records: list[bytes], batch: pa.RecordBatch, options: CleanOptions) -> list[int]:
    """Rows whose bytes name a column CleanExamples adds, when the batch holds one.

    Their mere presence matters and columns cannot tell which row holds a
    feature without a kind, so these rows are read record by record.
    """
    present = set(batch.schema.names)
    reserved = [c.encode("utf-8") for c in options.added_features if c in present]
    if not reserved:
        return []
    return [i for i, record in enumerate(records) if any(name in record for name in reserved)]


class BatchVerdicts(NamedTuple):
    """The rules' verdict on each row of a batch, and what pass 1 keeps of it.

    Attributes:
      reasons: Each row's quarantine reason (None for a valid row).
      canonicals: Each valid row's canonical id (None without an id column,
        and for quarantined rows).
      timestamps: Each valid row's `keep_latest_by` value as a number (None
        without one, and for quarantined rows).
      labels: Each valid row's label as text when it has exactly one (None
        otherwise, and for quarantined rows).
    """

    reasons: list[Optional[str]]
    canonicals: list[Optional[str]]
    timestamps: list[Optional[float]]
    labels: list[Optional[str]]


def verdicts_of_batch(
    records: list[bytes],
    id_map: IdMap,
    options: CleanOptions,
    decoder: Optional[columns.NarrowDecoder] = None,
) -> BatchVerdicts:
    """`verdict` of every row of a batch, decided with array operations.

    Gives, row for row, what `verdict(view_of_record(record))` gives; the
    quarantine rules run over whole columns, and only valid rows resolve
    their id through the id map. Batches the columnar decoder rejects, and
    rows naming a column CleanExamples adds, go through the per-row rules.

    Args:
      records: The batch's serialized rows.
      id_map: The resolved id map.
      options: What the rules read.
      decoder: `rule_decoder(options)`, kept by the caller across batches;
        None decodes every feature.

    Returns:
      The verdicts, row for row.

    Raises:
      google.protobuf.message.DecodeError: A record of a batch read record by
        record is not a tf.Example.
    """
    batch = decoder.decode(records) if decoder else columns.decode(records)
    if batch is None:
        return _verdicts_of_views([view_of_record(r, options) for r in records], id_map, options)
    cols = rule_columns(batch, options)
    rows = len(records)
    texts = [
        None,
        rules.LABEL_NOT_A_CLASS,
        *(rules.MISSING_REQUIRED + c for c, _ in cols.missing),
        rules.MISSING_ID,
        rules.MULTIPLE_IDS,
    ]
    # Codes into `texts`, written from the last rule to the first, so the
    # first rule a row breaks is the one it keeps.
    codes = np.zeros(rows, dtype=np.int64)
    single_labels = [
        label if n == 1 else None for label, n in zip(cols.labels, cols.label_lengths.tolist())
    ]
    if options.label_classes:
        is_a_class = {label: label_is_a_class(label, options) for label in set(single_labels)}
        codes[np.array([not is_a_class[label] for label in single_labels], dtype=bool)] = 1
    for k in reversed(range(len(cols.missing))):
        codes[cols.missing[k][1]] = 2 + k
    if options.id_key:
        codes[cols.id_lengths == 0] = len(texts) - 2
        codes[cols.id_lengths > 1] = len(texts) - 1
    reasons = [texts[code] for code in codes.tolist()]
    canonicals: list[Optional[str]] = [None] * rows
    timestamps: list[Optional[float]] = [None] * rows
    labels: list[Optional[str]] = [None] * rows
    valid = np.flatnonzero(codes == 0).tolist()
    if options.id_key:
        resolved = id_map.canonical_ids([cols.id_texts[i] for i in valid])
        for i, canonical in zip(valid, resolved):
            canonicals[i] = canonical
    for i in valid:
        value = cols.timestamps[i]
        if value is not None:
            timestamps[i] = number_of(value)
        labels[i] = single_labels[i]
    by_record = _reserved_rows(records, batch, options)
    if by_record:
        views = [view_of_record(records[i], options) for i in by_record]
        decided = _verdicts_of_views(views, id_map, options)
        for j, i in enumerate(by_record):
            reasons[i], canonicals[i] = decided.reasons[j], decided.canonicals[j]
            timestamps[i], labels[i] = decided.timestamps[j], decided.labels[j]
    return BatchVerdicts(reasons, canonicals, timestamps, labels)


def _verdicts_of_views(
    views: list[RowView], aliases: Mapping[str, str], options: CleanOptions
) -> BatchVerdicts:
    """`verdict` of each RowView, with the timestamps and labels of valid rows."""
    decided = [verdict(view, aliases, options) for view in views]
    valid = [reason is None for reason, _ in decided]
    return BatchVerdicts(
        [reason for reason, _ in decided],
        [canonical for _, canonical in decided],
        [view.timestamp if ok else None for view, ok in zip(views, valid)],
        [view.label if ok else None for view, ok in zip(views, valid)],
    )


def verdict(
    view: RowView, aliases: Mapping[str, str], options: CleanOptions
) -> tuple[Optional[str], Optional[str]]:
    """Returns (quarantine reason, canonical id) of one row.

    The reason is None for a valid row; the canonical id is None without an
    id column. It is the definition `verdicts_of_batch`, which both passes
    use, is property-tested against, so the passes agree on every row.
    """
    if view.reserved is not None:
        return rules.RESERVED_COLUMN + view.reserved, None
    if len(view.ids) > 1:
        return rules.MULTIPLE_IDS, None
    raw_id = view.ids[0] if view.ids else None
    reason = rules.quarantine_reason(
        options.id_key is None or raw_id is not None,
        view.missing,
        label_is_a_class(view.label, options),
    )
    if reason is not None or raw_id is None:
        return reason, None
    return None, canonical_id(raw_id, aliases)


def label_is_a_class(label: Optional[str], options: CleanOptions) -> bool:
    """Whether a row's label is one of `options.label_classes`, compared as
    `core.labels.class_text` (stripped); True without classes or without a label.

    A row without a label, or with several, is the split's to report (it
    fails with their count), not a class mismatch.
    """
    if not options.label_classes or label is None:
        return True
    return class_text(label) in options.label_classes


def canonical_id(identifier: str, aliases: Mapping[str, str]) -> str:
    """The id `identifier` resolves to through the id map (itself when no alias).

    An `IdMap` is resolved already, so its chains are one link long; the
    rows reach here only once the step has checked the map.
    """
    return rules.resolve_alias(identifier, aliases)


def shard_of(canonical: str, shards: int) -> int:
    """The shard of people a canonical id belongs to (the same in every process).

    A spread, not an identity: two people sharing a checksum only share a
    shard, so CRC-32 (a tenth of a fingerprint's cost) is enough.
    """
    return zlib.crc32(canonical.encode("utf-8")) % shards


class WriteRowFacts(beam.DoFn):
    """Pass 1: each valid row's facts, (canonical id, (source, timestamp, label,
    row fingerprint)), written per shard of people to fact files.

    Takes a batch of one source's rows and buffers its facts per shard
    (`fact_files.FactWriter`); yields (shard, `fact_files.FactSegment`)
    whenever the buffer is written, and at the end of the bundle. Only these
    references meet in the shuffle; the rows themselves stream through pass
    2, which finds each row's decision by its fingerprint.

    Args:
      options: What the rules read.
      shards: Shards of people (`executor.people_shards`).
      folder: Where the fact files go.
      id_map_file: The resolved id map (`id_map.write_id_map`); None without one.
    """

    def __init__(
        self, options: CleanOptions, shards: int, folder: str, id_map_file: Optional[str]
    ) -> None:
        self._options = options
        self._shards = shards
        self._folder = folder
        self._id_map_file = id_map_file
        self._id_map: Optional[IdMap] = None
        self._decoder: Optional[columns.NarrowDecoder] = None
        self._writer: Optional[fact_files.FactWriter] = None

    def setup(self) -> None:
        self._decoder = rule_decoder(self._options)
        self._id_map = load_shared(self._id_map_file)

    def start_bundle(self) -> None:
        self._writer = fact_files.FactWriter(self._folder)

    def process(
        self, records: list[bytes], source: str
    ) -> Iterator[tuple[int, fact_files.FactSegment]]:
        verdicts = verdicts_of_batch(records, self._id_map, self._options, self._decoder)
        valid = [
            i
            for i, (reason, canonical) in enumerate(zip(verdicts.reasons, verdicts.canonicals))
            if reason is None and canonical is not None
        ]
        fingerprints = row_fingerprints(source, (records[i] for i in valid)).tolist()
        packets: dict[int, list[tuple[str, tuple]]] = {}
        for i, fingerprint in zip(valid, fingerprints):
            canonical = verdicts.canonicals[i]
            facts = (source, verdicts.timestamps[i], verdicts.labels[i], fingerprint)
            packets.setdefault(shard_of(canonical, self._shards), []).append((canonical, facts))
        for shard, facts in packets.items():
            yield from self._writer.add(shard, facts)

    def finish_bundle(self) -> Iterator[object]:
        for reference in self._writer.flush():
            yield GlobalWindows.windowed_value(reference)


def decide_shard(
    shard_and_packets: tuple[int, Iterable[object]],
    source_priority: tuple[str, ...],
) -> Iterator[object]:
    """Groups one shard's facts per person and decides each (`decide_person`).

    A shard holds the facts of a bounded share of the people (see
    `executor.people_shards`), so grouping them in memory is safe at any input size.

    Args:
      shard_and_packets: A shard with its packets: `fact_files.FactSegment`
        references to row facts, and lists of (spam id, SPAM_MARK).
      source_priority: Sources in the order that breaks recency ties.

    Yields:
      One `Removals` of the shard's decisions (when it removes any row), and
      `decide_person`'s CONFLICTS and UNMATCHED_SPAM outputs.
    """
    _, packets = shard_and_packets
    people: dict[str, list[Optional[tuple]]] = {}
    for packet in packets:
        pairs = (
            fact_files.read_segment(packet)
            if isinstance(packet, fact_files.FactSegment)
            else packet
        )
        for canonical, value in pairs:
            people.setdefault(canonical, []).append(value)
    decisions = []
    for canonical, values in people.items():
        if len(values) == 1 and values[0] is not SPAM_MARK:
            continue  # one row, not spam: kept, with nothing to decide
        for output in decide_person((canonical, values), source_priority):
            if isinstance(output, beam.pvalue.TaggedOutput):
                yield output
            else:
                decisions.append(output)
    if decisions:
        yield Removals.of(decisions)


def decide_person(
    canonical_and_values: tuple[str, Iterable[Optional[tuple]]],
    source_priority: tuple[str, ...],
) -> Iterator[object]:
    """Spam removal and merge for one canonical id, on row facts.

    Args:
      canonical_and_values: A canonical id with its rows' facts (from WriteRowFacts)
        and a SPAM_MARK per listing if the id is on the spam list.
      source_priority: Sources in the order that breaks recency ties.

    Yields:
      (row fingerprint, (rows kept, rows removed, reason)) for every fingerprint
      with a removed row; exact copies of a row share a fingerprint, so one of
      them may be kept and the others removed. Rows that tie for keeping
      (equally recent, same source) but differ get rows kept = TIED: pass 2
      keeps the one whose content fingerprints smallest (`resolve_ties`), so
      the choice does not depend on how protobuf ordered a row's bytes, which
      can differ between processes. On the CONFLICTS output the id when its
      merged rows disagree on the label; on SPAM_PEOPLE the id when the spam
      list names it; on UNMATCHED_SPAM a spam id that has no rows.
    """
    canonical, values = canonical_and_values
    facts = []
    is_spam = False
    for value in values:
        if value is SPAM_MARK:
            is_spam = True
        else:
            facts.append(value)
    if is_spam:
        yield beam.pvalue.TaggedOutput(SPAM_PEOPLE, canonical)
    if not facts:
        if is_spam:
            yield beam.pvalue.TaggedOutput(UNMATCHED_SPAM, canonical)
        return
    rows = [
        rules.RowFacts(source, timestamp, label, fp.to_bytes(8, "big"))
        for source, timestamp, label, fp in facts
    ]
    fingerprints = [fp for _, _, _, fp in facts]
    keep, tied, reason = None, (), rules.SPAM
    if not is_spam:
        reason = rules.DUPLICATE_MERGED
        candidates = rules.best_candidates(rows, source_priority)
        if len({fingerprints[i] for i in candidates}) > 1:
            tied = candidates  # different rows: their content decides, in pass 2
        else:
            keep = candidates[0]
    per_row: dict[int, list[int]] = {}
    for i, fp in enumerate(fingerprints):
        kept_removed = per_row.setdefault(fp, [0, 0])
        kept_removed[0 if i == keep else 1] += 1
    tied_fps = {fingerprints[i] for i in tied}
    for fp, (kept, removed) in per_row.items():
        if fp in tied_fps:
            yield fp, (TIED, removed, reason)
        elif removed:
            yield fp, (kept, removed, reason)
    if not is_spam and rules.has_label_conflict(rows):
        yield beam.pvalue.TaggedOutput(CONFLICTS, canonical)


class RouteRows(beam.DoFn):
    """Pass 2: tags each row and sends it to KEPT or REJECTED, counting as it goes.

    Takes a batch of one source's rows and emits at most one batch (a list of
    tagged rows) on each of KEPT and REJECTED. The decision comes from
    quarantine and pass 1's removals. Rows with exact copies of which some are
    kept and some removed go one by one to the COPIES output, to be shared out
    per fingerprint; tied rows go to TIES. Counts (rows in, outcomes) leave on
    `counts.COUNTS` at the end of each bundle.

    Args:
      options: What the rules read and the tags to add.
      id_map_file: The resolved id map (`id_map.write_id_map`); None without one.
    """

    def __init__(self, options: CleanOptions, id_map_file: Optional[str]) -> None:
        self._options = options
        self._id_map_file = id_map_file
        self._id_map: Optional[IdMap] = None
        self._removals: Optional[Removals] = None
        self._counter = counts.BundleCounter()
        self._decoder: Optional[columns.NarrowDecoder] = None

    def setup(self) -> None:
        self._decoder = rule_decoder(self._options)
        self._id_map = load_shared(self._id_map_file)

    def start_bundle(self) -> None:
        self._counter = counts.BundleCounter()

    def process(
        self,
        records: list[bytes],
        source: str,
        removals_file: Optional[str],
    ) -> Iterator[object]:
        if self._removals is None:
            self._removals = load_removals(removals_file)
        removals = self._removals
        counter, options = self._counter, self._options
        tags = options.tags_of(source)
        kept_rows, rejected_rows = [], []
        counter.add((ROWS_IN, source), len(records))
        batch = verdicts_of_batch(records, self._id_map, options, self._decoder)
        verdicts = list(zip(batch.reasons, batch.canonicals))
        decided = self._decisions(records, source, verdicts, removals)
        for i, (record, (reason, canonical)) in enumerate(zip(records, verdicts)):
            decision = decided.get(i)
            if decision is not None:
                fp, (kept, reason) = decision
                if kept == TIED:
                    example = tf.train.Example.FromString(record)
                    content = fingerprint64(0, canonical_bytes(example))
                    yield beam.pvalue.TaggedOutput(
                        TIES, (canonical, (content, fp, source, record, reason))
                    )
                    continue
                if kept:
                    yield beam.pvalue.TaggedOutput(
                        COPIES, (fp, (source, record, canonical, kept, reason))
                    )
                    continue
            if reason is None:
                kept_rows.append(tag_kept(tags, record, canonical))
            else:
                counter.add((OUTCOME, source, reason))
                rejected_rows.append(tag_rejected(tags, record, reason))
        if kept_rows:
            counter.add((OUTCOME, source, rules.KEPT), len(kept_rows))
            yield beam.pvalue.TaggedOutput(KEPT, kept_rows)
        if rejected_rows:
            yield beam.pvalue.TaggedOutput(REJECTED, rejected_rows)

    @staticmethod
    def _decisions(
        records: list[bytes],
        source: str,
        verdicts: list[tuple[Optional[str], Optional[str]]],
        removals: Removals,
    ) -> dict[int, tuple[int, tuple[int, str]]]:
        """Pass 1's decisions on the batch's valid rows, looked up at once.

        Args:
          records: The batch's serialized rows.
          source: Their source.
          verdicts: Each row's (quarantine reason, canonical id).
          removals: Pass 1's decisions.

        Returns:
          Row index -> (row fingerprint, (rows kept, reason)) for each valid
          row with a decision; rows without one are kept.
        """
        if not len(removals):
            return {}
        valid = [
            i
            for i, (reason, canonical) in enumerate(verdicts)
            if reason is None and canonical is not None
        ]
        fingerprints = row_fingerprints(source, (records[i] for i in valid))
        positions = removals.positions(fingerprints).tolist()
        return {
            valid[j]: (int(fingerprints[j]), removals.at(position))
            for j, position in enumerate(positions)
            if position >= 0
        }

    def finish_bundle(self) -> Iterator[beam.pvalue.TaggedOutput]:
        yield from self._counter.emit()


def share_out_copies(
    fp_and_rows: tuple[int, Iterable[tuple]],
    options: CleanOptions,
) -> Iterator[beam.pvalue.TaggedOutput]:
    """Keeps the decided number of a row's exact copies and rejects the rest.

    Each copy carries its fingerprint's decision (rows kept, reason), as
    RouteRows found it. Yields tagged rows on KEPT and REJECTED (as batches
    of one, like RouteRows' batches), and ((OUTCOME, source, outcome), 1)
    per row on `counts.COUNTS` (copies are rare, so counting per row is fine).
    """
    _, rows = fp_and_rows
    for i, (source, record, canonical, kept, reason) in enumerate(rows):
        tags = options.tags_of(source)
        if i < kept:
            yield beam.pvalue.TaggedOutput(KEPT, [tag_kept(tags, record, canonical)])
            yield beam.pvalue.TaggedOutput(counts.COUNTS, ((OUTCOME, source, rules.KEPT), 1))
        else:
            yield beam.pvalue.TaggedOutput(REJECTED, [tag_rejected(tags, record, reason)])
            yield beam.pvalue.TaggedOutput(counts.COUNTS, ((OUTCOME, source, reason), 1))


def resolve_ties(
    canonical_and_rows: tuple[str, Iterable[tuple]], options: CleanOptions
) -> Iterator[object]:
    """Keeps, of one person's tied rows, the one with the smallest content fingerprint.

    Yields tagged rows on KEPT and REJECTED and their counts on `counts.COUNTS`,
    as `share_out_copies` does. Exact copies share a content fingerprint, so
    which copy is kept does not matter.
    """
    canonical, rows = canonical_and_rows
    for i, (_, _, source, record, reason) in enumerate(sorted(rows)):
        tags = options.tags_of(source)
        if i == 0:
            yield beam.pvalue.TaggedOutput(KEPT, [tag_kept(tags, record, canonical)])
            yield beam.pvalue.TaggedOutput(counts.COUNTS, ((OUTCOME, source, rules.KEPT), 1))
        else:
            yield beam.pvalue.TaggedOutput(REJECTED, [tag_rejected(tags, record, reason)])
            yield beam.pvalue.TaggedOutput(counts.COUNTS, ((OUTCOME, source, reason), 1))


def tag_kept(tags: tuple[tuple[str, str], ...], record: bytes, canonical: Optional[str]) -> bytes:
    """The kept row with its source tags (`CleanOptions.tags_of`) and canonical id
    appended (no re-parse)."""
    tagged = record + constant_string_features(tags)
    if canonical is not None:
        tagged += one_string_feature(CANONICAL_ID_FEATURE, canonical)
    return tagged


def tag_rejected(tags: tuple[tuple[str, str], ...], record: bytes, reason: str) -> bytes:
    """The rejected row with its reject reason and source tags appended."""
    return record + constant_string_features(((REJECT_REASON_FEATURE, reason), *tags))


def spam_ids(record: bytes, options: CleanOptions) -> Iterator[str]:
    """The id of one spam-list row, if it has one."""
    value = single_value(tf.train.Example.FromString(record), options.spam_id_column)
    if value is not None:
        yield value


class MarkSpam(beam.DoFn):
    """Spam-list ids -> (shard of people, [(canonical id, SPAM_MARK), ...]) packets.

    Each id is resolved through the id map and buffered per shard; a packet
    per shard leaves every SPAM_FLUSH ids and at the end of the bundle, so
    the grouping per shard holds a few lists, not an element per id. An id
    listed twice marks its person twice (`decide_person` counts the person
    once).

    Args:
      shards: Shards of people (`executor.people_shards`).
      id_map_file: The resolved id map (`id_map.write_id_map`); None without one.
    """

    def __init__(self, shards: int, id_map_file: Optional[str]) -> None:
        self._shards = shards
        self._id_map_file = id_map_file
        self._id_map: Optional[IdMap] = None
        self._packets: dict[int, list[tuple[str, None]]] = {}
        self._buffered = 0

    def setup(self) -> None:
        self._id_map = load_shared(self._id_map_file)

    def start_bundle(self) -> None:
        self._packets, self._buffered = {}, 0

    def process(self, spam_id: str) -> Iterator[tuple[int, list[tuple[str, None]]]]:
        canonical = self._id_map.get(spam_id, spam_id)
        self._packets.setdefault(shard_of(canonical, self._shards), []).append(
            (canonical, SPAM_MARK)
        )
        self._buffered += 1
        if self._buffered >= SPAM_FLUSH:
            yield from self._flush()

    def finish_bundle(self) -> Iterator[object]:
        for packet in self._flush():
            yield GlobalWindows.windowed_value(packet)

    def _flush(self) -> list[tuple[int, list[tuple[str, None]]]]:
        packets = list(self._packets.items())
        self._packets, self._buffered = {}, 0
        return packets
