"""CSV files to serialized tf.Examples, a batch of rows at a time, as CsvExampleGen makes them.

Stock CsvExampleGen reads each file in order, parses one CSV record per Beam
element, infers each column's type over the whole split (tfx_bsl's
`ColumnTypeInferrer`: INT, then FLOAT, then STRING, the highest seen wins)
and builds every tf.Example in Python. This module gives the same examples
with the per-row work done per batch:

- `read_row_batches` reads a file's records by the CSV contract
  (`core/csv_contract.py`: the stock reader's header, records and tfx_bsl's
  own line parser, CsvExampleGen's cell size limit), so cells are the stock
  cells;
- `infer_types` types a batch's columns by the stock rule (the contract's
  `infer_cell_type`, tfx_bsl's own function), with whole-column
  regular expressions for the common cases (plain integers or decimals) and
  the rule itself cell by cell otherwise, stopping at the first STRING cell;
- `encode` turns a batch into serialized tf.Examples through tfx_bsl's
  C++ encoder, with CsvExampleGen's handlers: an empty cell is an empty value
  list, a column empty in every row of the split a feature without a kind.

The examples hold the same features and values as stock's; their bytes may
order the features differently, which protobuf allows and no reader sees.
"""

from __future__ import annotations

import re
from typing import Iterator, Mapping, Optional, Sequence

import numpy as np
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from tfx_bsl.coders import example_coder

from components.common.example_features import kindless_features, text_of
from core import csv_contract

# The executor and tests name these through this module.
from core.csv_contract import ColumnType, CsvFormatError, infer_cell_type
from components.source_example_gen.properties import MISSING_LABEL

ROWS_PER_BATCH = 2000

# Whole columns (cells joined by "\n", empty cells allowed) that the stock rule
# surely types INT (at most 18 digits: always within int64) or at most FLOAT.
_INT_COLUMN = re.compile(rb"(?:-?[0-9]{1,18})?(?:\n(?:-?[0-9]{1,18})?)*")
_NUMBER = rb"-?(?:[0-9]{1,18}|[0-9]*\.[0-9]+|[0-9]+\.)(?:[eE][-+]?[0-9]{1,3})?"
_FLOAT_COLUMN = re.compile(rb"(?:%s)?(?:\n(?:%s)?)*" % (_NUMBER, _NUMBER))


def read_header(path: str) -> list[str]:
    """The column names in a CSV file's first line, as CsvExampleGen reads them.

    That is the stock reader itself (`csv_contract.read_header`): the line
    stripped and split on commas, quotes and spaces inside kept, so the
    feature names are stock's.

    Raises:
      CsvFormatError: The file starts with a byte-order mark (refused by every
        reader, see `core.csv_contract`), or its first line is not UTF-8.
    """
    return csv_contract.read_header(path)


def read_row_batches(
    path: str, columns: int, rows_per_batch: int = ROWS_PER_BATCH
) -> Iterator[list[list[bytes]]]:
    """Yields one file's rows (each a list of cells) as CsvExampleGen reads them,
    `rows_per_batch` at a time; blank records are left out, as CsvExampleGen does.

    Args:
      path: The CSV file (any Beam filesystem path; `.gz` is gzip); its first
        line is the header.
      columns: The number of columns every non-blank record must have.
      rows_per_batch: Rows per batch (the last may hold fewer).

    Raises:
      CsvFormatError: A record has another number of cells than the header,
        its quotes never balance, it is not UTF-8, or the CSV parser refuses
        it (a cell over 131,072 characters): names the file and line.
    """
    rows: list[list[bytes]] = []
    # Beam detects gzip by the `.gz` suffix (as ReadFromText does); its
    # decompressing file has readline() but is no iterator of lines.
    with FileSystems.open(path) as f:
        records = csv_contract.read_csv(iter(f.readline, b""), path)
        next(records)  # the header, read on its own by the executor
        for line_number, cells in records:
            if len(cells) != columns:
                raise CsvFormatError.at(
                    path,
                    line_number,
                    f"{len(cells)} cells where the header has {columns} columns",
                    "cells",
                )
            rows.append(cells)
            if len(rows) >= rows_per_batch:
                yield rows
                rows = []
    if rows:
        yield rows


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


_ENCODER: list = []


def _encoder() -> example_coder.RecordBatchToExamplesEncoder:
    if not _ENCODER:
        _ENCODER.append(example_coder.RecordBatchToExamplesEncoder())
    return _ENCODER[0]
