"""CSV files to serialized tf.Examples, a batch of rows at a time, as CsvExampleGen makes them.

Stock CsvExampleGen reads each file in order, parses one CSV record per Beam
element, infers each column's type over the whole split (tfx_bsl's
`ColumnTypeInferrer`: INT, then FLOAT, then STRING, the highest seen wins)
and builds every tf.Example in Python. This module gives the same examples
with the per-row work done per batch:

- `read_row_batches` reads a file's records exactly as the stock reader does
  (header skipped, lines joined while their quotes are unbalanced) and parses
  them with tfx_bsl's own CSV line parser, so cells are the stock cells;
- `infer_types` types a batch's columns by the stock rule, with whole-column
  regular expressions for the common cases (plain integers or decimals) and
  the rule itself cell by cell otherwise, stopping at the first STRING cell;
- `encode` turns a batch into serialized tf.Examples through tfx_bsl's
  C++ encoder, with CsvExampleGen's handlers: an empty cell is an empty value
  list, a column empty in every row of the split a feature without a kind.

The examples hold the same features and values as stock's; their bytes may
order the features differently, which protobuf allows and no reader sees.
"""

from __future__ import annotations

import csv
import re
from typing import BinaryIO, Iterator, Mapping, Optional, Sequence

import numpy as np
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from tfx.utils import io_utils
from tfx_bsl.coders import csv_decoder, example_coder

from components.common.example_features import kindless_features, text_of

ColumnType = csv_decoder.ColumnType
# The stock rule for one cell. Private in tfx_bsl; used so that every type is
# CsvExampleGen's by construction, not by a copy that could drift.
infer_cell_type = csv_decoder._InferValueType  # noqa: SLF001

ROWS_PER_BATCH = 2000
MISSING_LABEL = "<missing>"

# Whole columns (cells joined by "\n", empty cells allowed) that the stock rule
# surely types INT (at most 18 digits: always within int64) or at most FLOAT.
_INT_COLUMN = re.compile(rb"(?:-?[0-9]{1,18})?(?:\n(?:-?[0-9]{1,18})?)*")
_NUMBER = rb"-?(?:[0-9]{1,18}|[0-9]*\.[0-9]+|[0-9]+\.)(?:[eE][-+]?[0-9]{1,3})?"
_FLOAT_COLUMN = re.compile(rb"(?:%s)?(?:\n(?:%s)?)*" % (_NUMBER, _NUMBER))


class CsvFormatError(ValueError):
    """A CSV file cannot be read as CsvExampleGen reads it (names the file and line)."""


def read_header(path: str) -> list[str]:
    """The column names in a CSV file's first line, as CsvExampleGen reads them.

    That is the stock reader itself (`io_utils.load_csv_column_names`, not in
    tfx.v1): the line stripped and split on commas, quotes and spaces inside
    kept, so the feature names are stock's.
    """
    return io_utils.load_csv_column_names(path)


def read_row_batches(
    path: str, columns: int, rows_per_batch: int = ROWS_PER_BATCH
) -> Iterator[list[list[bytes]]]:
    """Yields one file's rows (each a list of cells) as CsvExampleGen reads them,
    `rows_per_batch` at a time; blank records are left out, as CsvExampleGen does.

    Args:
      path: The CSV file (any Beam filesystem path); its first line is the header.
      columns: The number of columns every non-blank record must have.
      rows_per_batch: Rows per batch (the last may hold fewer).

    Raises:
      CsvFormatError: A record has another number of cells than the header,
        its quotes never balance, it is not UTF-8, or the CSV parser refuses
        it (a cell over 131,072 characters): names the file and line.
    """
    parser = _StockParser()
    rows: list[list[bytes]] = []
    with FileSystems.open(path) as f:
        for line_number, record in _records(f, path):
            try:
                cells = parser.cells(record)
            except csv.Error as e:  # e.g. a cell over the csv module's size limit
                raise CsvFormatError(f"{path}, line {line_number}: {e}") from e
            if not cells:  # blank lines are skipped, as CsvExampleGen does
                continue
            if len(cells) != columns:
                raise CsvFormatError(
                    f"{path}, line {line_number}: {len(cells)} cells where the header "
                    f"has {columns} columns"
                )
            rows.append(cells)
            if len(rows) >= rows_per_batch:
                yield rows
                rows = []
    if rows:
        yield rows


def _records(f: BinaryIO, path: str) -> Iterator[tuple[int, str]]:
    """(line number, record) after the header: lines joined while a record's quotes
    are unbalanced, as the stock reader (`_CsvLineBuffer`) joins them."""
    f.readline()
    pending: list[str] = []
    quotes = 0
    start = 0
    for line_number, raw in enumerate(f, start=2):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CsvFormatError(f"{path}, line {line_number}: not UTF-8 ({e.reason})") from e
        if not pending:
            start = line_number
            if '"' not in line:
                yield start, line
                continue
        pending.append(line)
        quotes += line.count('"')
        if quotes % 2 == 0:
            yield start, "".join(pending)
            pending, quotes = [], 0
    if pending:
        raise CsvFormatError(f"{path}, line {start}: a quoted cell is never closed")


def infer_types(rows: Sequence[Sequence[bytes]], names: Sequence[str]) -> dict[str, int]:
    """Each column's type over a batch of rows, by the stock rule (ColumnType values).

    A column with no value in the batch is UNKNOWN; the split's type is the
    highest over all batches (`merge_types`).
    """
    types = {}
    for index, name in enumerate(names):
        cells = [row[index] for row in rows]
        joined = b"\n".join(cells)
        clean = joined.count(b"\n") == len(cells) - 1  # no cell holds a line break
        if clean and _INT_COLUMN.fullmatch(joined):
            types[name] = int(ColumnType.INT if joined.strip(b"\n") else ColumnType.UNKNOWN)
            continue
        if clean and _FLOAT_COLUMN.fullmatch(joined):
            types[name] = int(ColumnType.FLOAT)
            continue
        found = ColumnType.UNKNOWN
        for cell in cells:
            found = max(found, infer_cell_type(cell))
            if found == ColumnType.STRING:
                break
        types[name] = int(found)
    return types


def merge_types(batches: Sequence[Mapping[str, int]]) -> dict[str, int]:
    """The highest type of each column over batches (a Beam combiner's merge)."""
    merged: dict[str, int] = {}
    for types in batches:
        for name, found in types.items():
            merged[name] = max(merged.get(name, found), found)
    return merged


def encode(
    rows: Sequence[Sequence[bytes]], names: Sequence[str], types: Mapping[str, int]
) -> list[bytes]:
    """Serialized tf.Examples of a batch of rows, as CsvExampleGen builds them.

    Args:
      rows: Cells of each row.
      names: The column names.
      types: The split's type of each column (`merge_types` of every batch).

    Raises:
      ValueError: A cell is no number in a column typed INT or FLOAT (the
        split's types were not inferred from these rows).
    """
    arrays, typed_names, kindless = [], [], []
    for index, name in enumerate(names):
        column_type = types.get(name, int(ColumnType.UNKNOWN))
        if column_type == ColumnType.UNKNOWN:
            kindless.append(name)
            continue
        cells = [row[index] for row in rows]
        arrays.append(_list_column(cells, column_type))
        typed_names.append(name)
    suffix = kindless_features(tuple(kindless))
    if not arrays:
        return [suffix] * len(rows)
    records = _encoder().encode(pa.RecordBatch.from_arrays(arrays, typed_names))
    return [record + suffix for record in records] if suffix else records


def _list_column(cells: Sequence[bytes], column_type: int) -> pa.Array:
    """One typed column: a list of one value per non-empty cell, [] per empty cell."""
    values = [cell for cell in cells if cell]
    lengths = np.fromiter((1 if cell else 0 for cell in cells), dtype=np.int64, count=len(cells))
    offsets = np.zeros(len(cells) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if column_type == ColumnType.INT:
        flat = pa.array([int(v) for v in values], type=pa.int64())
    elif column_type == ColumnType.FLOAT:
        # float() then float32, as a tf.train.FloatList stores what float() gives
        # (beyond float32's range: infinity).
        with np.errstate(over="ignore"):
            flat = pa.array(
                np.array([float(v) for v in values], dtype=np.float64).astype(np.float32)
            )
    else:
        flat = pa.array(values, type=pa.large_binary())
    return pa.LargeListArray.from_arrays(pa.array(offsets), flat)


def column_texts(
    rows: Sequence[Sequence[bytes]], index: Optional[int], column_type: int
) -> list[Optional[str]]:
    """Each row's value in one column as text, as it reads back from the example
    (`facts.label_value`, and CleanExamples' ids): None for an empty cell.

    Args:
      rows: Cells of each row.
      index: The column's position, or None when the files lack it.
      column_type: The split's type of the column (a ColumnType value).
    """
    if index is None or column_type == ColumnType.UNKNOWN:
        return [None] * len(rows)
    texts: list[Optional[str]] = []
    for row in rows:
        cell = row[index]
        if not cell:
            texts.append(None)
        elif column_type == ColumnType.INT:
            texts.append(str(int(cell)))
        elif column_type == ColumnType.FLOAT:
            with np.errstate(over="ignore"):  # beyond float32: infinity, as stored
                texts.append(text_of(float(np.float32(float(cell)))))
        else:
            texts.append(cell.decode("utf-8", errors="replace"))
    return texts


def label_texts(
    rows: Sequence[Sequence[bytes]], index: Optional[int], column_type: int
) -> list[str]:
    """Each row's label as `facts.label_value` reads it from the example."""
    return [
        MISSING_LABEL if text is None else text for text in column_texts(rows, index, column_type)
    ]


class _StockParser:
    """tfx_bsl's CSV line parser with CsvExampleGen's delimiter: a record's cells as bytes."""

    def __init__(self) -> None:
        self._parse = csv_decoder.ParseCSVLine(delimiter=",")
        self._parse.setup()

    def cells(self, record: str) -> list[bytes]:
        [(cells, _)] = self._parse.process(record)
        return cells


_ENCODER: list = []


def _encoder() -> example_coder.RecordBatchToExamplesEncoder:
    if not _ENCODER:
        _ENCODER.append(example_coder.RecordBatchToExamplesEncoder())
    return _ENCODER[0]
