"""Raw serving data, checked against the model's raw features, as tf.Examples.

Serving data reaches the one tf.Transform graph as serialized raw tf.Examples,
exactly like training data. This module builds them from CSV rows (or checks
given tf.Examples) against the raw feature list the model exports with itself,
so a bad value is reported as "file, line, column: what is wrong" instead of a
TensorFlow parse error deep inside a SavedModel call.

The raw feature list (`RawColumn`s, see `models.raw_features`) is the
Transform's raw schema restricted to the model's feature columns.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
from typing import Any, Iterator, Mapping, Optional, Sequence

import tensorflow as tf
from google.protobuf import message

from core.csv_fields import allow_large_cells, duplicate_column
from core.errors import InputDataError
from core.hashing import text_lines
from models.raw_features import FLOAT, INT64, STRING, RawColumn

_KINDS = {INT64: "int64_list", FLOAT: "float_list", STRING: "bytes_list"}
MAX_ERRORS_SHOWN = 5


class ServingInputError(InputDataError):
    """Serving data that cannot be scored or transformed (names file, line, column).

    Args:
      message: The one-sentence problem.
      line: The line it is on, when it is one line of a file (Beam scoring
        sorts problems by it).
    """

    def __init__(self, message: str, line: Optional[int] = None) -> None:
        super().__init__(message)
        self.line = line


def check_header(header: Optional[Sequence[str]], columns: Sequence[RawColumn], where: str) -> None:
    """Checks a CSV header has every required column, each name once.

    Raises:
      ServingInputError: The file is empty, a name is repeated, or a required
        column is missing.
    """
    if not header:
        raise ServingInputError(f"{where}: the file is empty; expected a header row of columns")
    repeated = duplicate_column(list(header))
    if repeated:
        name, first, second = repeated
        raise ServingInputError(
            f"{where}: column {name!r} appears twice in the header (columns {first} and "
            f"{second}); rename one"
        )
    missing = [c.name for c in columns if c.required and c.name not in header]
    if missing:
        raise ServingInputError(
            f"{where}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(m) for m in missing)} (the model needs a value in every row)"
        )


def _parse_value(text: str, column: RawColumn) -> Any:
    """A cell as the column's type; numbers must be finite, as in training data."""
    if column.dtype == STRING:
        return text.encode("utf-8")
    value = float(text) if column.dtype == FLOAT else int(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def csv_row_to_example(row: Mapping[str, Optional[str]], columns: Sequence[RawColumn]) -> bytes:
    """Builds the serialized raw tf.Example of one CSV row.

    Cells are read as CsvExampleGen reads training data: an empty cell is a
    missing value and text is kept as is (spaces included); numbers may have
    spaces around them and must be finite.

    Args:
      row: Column name -> cell text (csv.DictReader's row).
      columns: The model's raw columns; other cells are ignored.

    Raises:
      ValueError: Naming the column: a required cell is empty, or a value does
        not parse as the column's type.
    """
    example = tf.train.Example()
    features = example.features.feature
    for column in columns:
        text = row.get(column.name) or ""
        if column.dtype != STRING:
            text = text.strip()
        if not text:
            if column.required:
                raise ValueError(f"column {column.name!r}: no value, but the model needs one")
            continue
        try:
            value = _parse_value(text, column)
        except ValueError:
            kind = "an integer" if column.dtype == INT64 else "a finite number"
            raise ValueError(f"column {column.name!r}: {text!r} is not {kind}") from None
        getattr(features[column.name], _KINDS[column.dtype]).value.append(value)
    return example.SerializeToString()


def check_example(record: bytes, columns: Sequence[RawColumn]) -> bytes:
    """Checks a serialized raw tf.Example has the model's types and required values.

    Returns:
      `record`, unchanged.

    Raises:
      ValueError: Naming the column that is missing or has the wrong type.
    """
    try:
        features = tf.train.Example.FromString(record).features.feature
    except message.DecodeError:
        raise ValueError("not a serialized tf.Example") from None
    for column in columns:
        feature = features.get(column.name)
        kind = feature.WhichOneof("kind") if feature is not None else None
        values = getattr(feature, kind).value if kind else ()
        if not values:
            if column.required:
                raise ValueError(f"column {column.name!r}: no value, but the model needs one")
            continue
        if kind != _KINDS[column.dtype]:
            raise ValueError(
                f"column {column.name!r}: holds {kind.split('_')[0]} values, "
                f"the model reads {column.dtype}"
            )
        if column.required and len(values) > 1:
            raise ValueError(f"column {column.name!r}: {len(values)} values, the model reads one")
    return record


def read_header(path: str) -> list[str]:
    """The column names of a CSV file ([] for an empty file).

    Raises:
      ServingInputError: The file is missing or unreadable (naming it).
    """
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    allow_large_cells()
    try:
        with fileio.open(path, "r") as lines:
            return _clean_header(next(csv.reader(lines), []))
    except (OSError, UnicodeDecodeError, csv.Error, tf.errors.OpError) as e:
        raise ServingInputError(f"{path}: cannot read it as CSV: {reason(e)}") from None


def _clean_header(names: Optional[Sequence[str]]) -> list[str]:
    """Header names without a UTF-8 byte-order mark (spreadsheets write one)."""
    names = list(names or [])
    if names:
        names[0] = names[0].lstrip("\ufeff")
    return names


def reason(error: BaseException) -> str:
    """The first line of an error's message (its type's name if it has none)."""
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    return text.splitlines()[0]


def read_csv_cells(
    path: str, columns: Sequence[RawColumn], keep: Sequence[str] = (), digest: Any = None
) -> Iterator[tuple[int, list[str]]]:
    """Yields (0, header) first, then (line number, cells) per CSV row, after checking the header.

    The line number is the line the row starts on (a quoted cell may span
    lines); every row has as many cells as the header.

    Args:
      path: The CSV file (any `fileio` path, `gs://` included).
      columns: The model's raw columns.
      keep: Other columns the caller needs.
      digest: A `hashlib` object fed the file's bytes as they are read: once
        every row has been yielded it holds the whole file's hash.

    Raises:
      ServingInputError: The file is missing, empty or not CSV text; a required
        or kept column is missing; or a row has more or fewer cells than the
        header (naming the line).
    """
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    allow_large_cells()
    line = 0
    digest = digest if digest is not None else hashlib.sha256()
    try:
        with fileio.open(path, "rb") as raw:
            reader = csv.reader(text_lines(raw, digest))
            header = _clean_header(next(reader, None))
            line = reader.line_num
            check_header(header, columns, path)
            absent = [k for k in keep if k not in header]
            if absent:
                raise ServingInputError(f"{path}: no column {absent[0]!r} to keep")
            yield 0, header
            for cells in reader:
                line, start = reader.line_num, line + 1
                if len(cells) != len(header):
                    raise ServingInputError(
                        f"{path}, line {start}: {len(cells)} cells, but the header has "
                        f"{len(header)} columns",
                        line=start,
                    )
                yield start, cells
    except (OSError, UnicodeDecodeError, csv.Error, tf.errors.OpError) as e:
        where = f"{path}, line {line + 1}" if line else path
        raise ServingInputError(
            f"{where}: cannot read it as CSV: {reason(e)}", line=line + 1 if line else None
        ) from None


def read_csv_rows(
    path: str, columns: Sequence[RawColumn], keep: Sequence[str] = (), digest: Any = None
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yields (line number, row) per CSV row, after checking the header.

    As `read_csv_cells`, with each row as column name -> cell text.
    """
    cells = read_csv_cells(path, columns, keep, digest)
    _, header = next(cells)
    for line, row in cells:
        yield line, dict(zip(header, row))


def read_csv_examples(
    path: str, columns: Sequence[RawColumn], keep: Sequence[str] = (), digest: Any = None
) -> Iterator[tuple[int, dict[str, str], bytes]]:
    """Yields (line number, kept cells, serialized raw example) per CSV row.

    Args:
      path: The CSV file (any `fileio` path, `gs://` included).
      columns: The model's raw columns.
      keep: Columns to hand back as text with each row (e.g. an id).
      digest: As for `read_csv_rows`.

    Raises:
      ServingInputError: Naming the file, line and column of the first bad row,
        a missing required or kept column, or an empty file.
    """
    for line, row in read_csv_rows(path, columns, keep, digest):
        try:
            example = csv_row_to_example(row, columns)
        except ValueError as e:
            raise ServingInputError(f"{path}, line {line}, {e}") from None
        yield line, {k: row.get(k) or "" for k in keep}, example


def is_csv(path: str) -> bool:
    """Whether a serving input file is CSV (by its name); other files are TFRecords."""
    return path.lower().endswith(".csv")


def input_files(pattern: str) -> list[str]:
    """The files matching `pattern` (a file, a glob, or a folder: its files), sorted.

    Raises:
      ServingInputError: Nothing matches, or the folder holds no file.
    """
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    if fileio.isdir(pattern):
        folder = pattern.rstrip("/")
        files = sorted(
            os.path.join(folder, name.rstrip("/"))
            for name in fileio.listdir(folder)
            if not fileio.isdir(os.path.join(folder, name.rstrip("/")))
        )
        if not files:
            raise ServingInputError(f"{pattern}: the folder holds no file to read")
        return files
    files = sorted(str(p) for p in fileio.glob(pattern) if not fileio.isdir(str(p)))
    if not files:
        raise ServingInputError(f"no input file matches {pattern}")
    return files
