"""Serving input on Beam: files read in order by one worker each, rows checked by all.

Reading a file is sequential (its sha256 is computed while it is read), but
reading, hashing and splitting CSV cells are cheap; checking values and
building tf.Examples are not. So `ReadChunks` only hashes a file and cuts it
into chunks of rows (CSV cells, read by the single-process scorer's own
reader, so the header, row shape and text checks are the same; or TFRecord
records), and `CheckedExamples` -- after a reshuffle, on every worker --
checks each row's values exactly as the single-process scorer does and builds
its raw tf.Example. A bad cell is still named by file, line and column. The
label column, which scoring does not read, is counted there too: its values
that are not classes of the model (`serving.label_check`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any, Iterator, Optional, Sequence

import apache_beam as beam

from core.labels import LabelSpec
from models.raw_features import RawColumn
from serving import label_check, serving_input

ROWS = "rows"
ERRORS = "errors"
DIGESTS = "digests"
UNSEEN = "unseen_classes"
# Rows per Beam element: checking, scoring, formatting and statistics work on
# chunks, so Beam's per-element cost is paid once per chunk, not per row.
CHUNK_ROWS = 1024


@dataclasses.dataclass(frozen=True)
class Chunk:
    """Consecutive rows of one input file, not yet parsed.

    Attributes:
      index: The file's place in the job's input list.
      path: The file.
      numbers: Each row's line number (CSV: the line the row starts on) or
        record number (TFRecord, from 1).
      rows: Each CSV row's cells, or serialized records.
      header: The CSV header (None for TFRecord input).
    """

    index: int
    path: str
    numbers: tuple[int, ...]
    rows: tuple[Any, ...]
    header: Optional[tuple[str, ...]] = None


def _chunks(numbered: Iterator[tuple[int, Any]], size: int) -> Iterator[tuple[tuple, tuple]]:
    numbers: list[int] = []
    rows: list[Any] = []
    for number, row in numbered:
        numbers.append(number)
        rows.append(row)
        if len(rows) == size:
            yield tuple(numbers), tuple(rows)
            numbers, rows = [], []
    if rows:
        yield tuple(numbers), tuple(rows)


class ReadChunks(beam.DoFn):
    """(index, path) of one input file -> its rows in `Chunk`s, hashing it as it goes.

    Main output: `Chunk`s. ERRORS: (path, line or 0, message) for a file that
    cannot be read to its end (not UTF-8, not TFRecord, a row with the wrong
    number of cells, or a CSV header without the model's required or kept
    columns); the line is the bad one, 0 for the whole file. DIGESTS: (path, sha256, rows) once the
    file has been read to its end; rows counts every row, good or bad.

    Args:
      columns: The model's raw columns.
      keep: Columns copied into the predictions (the header must have them).
      chunk_rows: Rows per chunk.
    """

    def __init__(
        self, columns: Sequence[RawColumn], keep: Sequence[str], chunk_rows: int = CHUNK_ROWS
    ) -> None:
        self._columns = list(columns)
        self._keep = list(keep)
        self._chunk_rows = chunk_rows

    def process(self, indexed_path: tuple[int, str]) -> Iterator[object]:
        index, path = indexed_path
        digest = hashlib.sha256()
        rows = 0
        try:
            for chunk in self._read(index, path, digest):
                rows += len(chunk.rows)
                yield chunk
        except (serving_input.ServingInputError, ValueError) as e:
            message = str(e)
            if message.startswith(path):
                message = message[len(path) :].lstrip(":, ")
            # A problem on one line sorts among the file's bad rows by that line.
            yield beam.pvalue.TaggedOutput(ERRORS, (path, getattr(e, "line", None) or 0, message))
            return
        yield beam.pvalue.TaggedOutput(DIGESTS, (path, digest.hexdigest(), rows))

    def _read(self, index: int, path: str, digest: Any) -> Iterator[Chunk]:
        if serving_input.is_csv(path):
            yield from self._read_csv(index, path, digest)
            return
        from components.common.examples_io import read_record_file

        records = enumerate(read_record_file(path, digest), start=1)
        for numbers, rows in _chunks(records, self._chunk_rows):
            yield Chunk(index, path, numbers, rows)

    def _read_csv(self, index: int, path: str, digest: Any) -> Iterator[Chunk]:
        cells = serving_input.read_csv_cells(path, self._columns, self._keep, digest)
        _, header = next(cells)
        for numbers, rows in _chunks(cells, self._chunk_rows):
            yield Chunk(index, path, numbers, rows, tuple(header))


def _kept_from_example(record: bytes, keep: Sequence[str]) -> tuple[str, ...]:
    """The first value of each kept feature of a raw tf.Example, as text."""
    import tensorflow as tf

    features = tf.train.Example.FromString(record).features.feature
    kept = []
    for name in keep:
        feature = features.get(name)
        kind = feature.WhichOneof("kind") if feature is not None else None
        values = getattr(feature, kind).value if kind else ()
        value = values[0] if values else ""
        kept.append(value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))
    return tuple(kept)


class CheckedExamples(beam.DoFn):
    """A `Chunk` -> (keys, serialized raw tf.Examples) of its good rows.

    keys[i] = (file index, line or record number, kept cells) of examples[i].
    ERRORS: (path, number, message) per bad row, e.g. "line 7, column 'age':
    'x' is not an integer", the message the single-process scorer gives.
    UNSEEN: per chunk whose good rows hold a label value that is not a class
    of the model, their `label_check.UnseenClasses`.

    Args:
      columns: The model's raw columns.
      keep: Columns copied into the predictions.
      label: The model's label (None, or a label without a name: the label
        column is not looked at).
    """

    def __init__(
        self, columns: Sequence[RawColumn], keep: Sequence[str], label: Optional[LabelSpec] = None
    ) -> None:
        self._columns = list(columns)
        self._keep = list(keep)
        self._label = label
        self._label_column = label_check.label_column(label) if label is not None else None

    def process(self, chunk: Chunk) -> Iterator[object]:
        keys: list = []
        examples: list = []
        labels: list = []
        for number, kept, example, label_value in self._examples(chunk):
            if example is None:
                yield beam.pvalue.TaggedOutput(ERRORS, (chunk.path, number, kept))
                continue
            keys.append((chunk.index, number, kept))
            examples.append(example)
            labels.append(label_value)
        if examples:
            yield tuple(keys), examples
        if self._label_column is not None:
            unseen = label_check.unseen_classes(self._label, labels)
            if unseen is not None:
                yield beam.pvalue.TaggedOutput(UNSEEN, unseen)

    def _examples(self, chunk: Chunk) -> Iterator[tuple[int, Any, Any, Any]]:
        """(number, kept cells, example, label value or None) per row;
        (number, message, None, None) per bad row."""
        column = self._label_column
        if chunk.header is None:
            read = [*self._keep, column] if column is not None else self._keep
            for number, record in zip(chunk.numbers, chunk.rows):
                try:
                    serving_input.check_example(record, self._columns)
                except ValueError as e:
                    yield number, f"record {number}, {e}", None, None
                    continue
                cells = _kept_from_example(record, read)
                label_value = cells[-1] if column is not None else None
                yield number, cells[: len(self._keep)], record, label_value
            return
        header = chunk.header
        for line, cells in zip(chunk.numbers, chunk.rows):
            row = dict(zip(header, cells))
            try:
                example = serving_input.csv_row_to_example(row, self._columns)
            except ValueError as e:
                yield line, f"line {line}, {e}", None, None
                continue
            kept = tuple(serving_input.kept_cells(row, self._keep).values())
            yield line, kept, example, row.get(column) if column is not None else None
