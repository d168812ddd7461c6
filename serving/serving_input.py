"""Raw serving data, checked against the model's raw features, as tf.Examples.

Serving data reaches the one tf.Transform graph as serialized raw tf.Examples,
exactly like training data. CSV files are read by the CSV contract
(`core/csv_contract.py`), as CsvExampleGen reads training data: the same
header names, records and cells, a byte-order mark refused; only the cell
size limit is lifted. This module builds the examples from CSV rows (or checks
given tf.Examples) against the raw feature list the model exports with itself,
so a bad value is reported as "file, line, column: what is wrong" instead of a
TensorFlow parse error deep inside a SavedModel call.

The raw feature list (`RawColumn`s, see `models.raw_features`) is the
Transform's raw schema restricted to the model's feature columns.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import zlib
from typing import Any, Iterator, Mapping, Optional, Sequence, Union

import tensorflow as tf
from google.protobuf import message

from core import csv_contract, source_folders
from core.csv_contract import duplicate_column
from core.errors import InputDataError
from core.hashing import HashingReader
from models.raw_features import FLOAT, INT64, STRING, RawColumn

_KINDS = {INT64: "int64_list", FLOAT: "float_list", STRING: "bytes_list"}
MAX_ERRORS_SHOWN = 5
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# What reading a file can raise besides the contract's errors: a missing or
# unreadable file, a `.gz` file that is not gzip (OSError) or is cut short.
_READ_ERRORS = (OSError, EOFError, zlib.error, UnicodeDecodeError, tf.errors.OpError)


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
        quoted = csv_contract.quoted_name(header)
        hint = (
            f"; the header names {quoted!r} with its quotes, as CsvExampleGen reads a header"
            if quoted is not None
            else ""
        )
        raise ServingInputError(
            f"{where}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(m) for m in missing)} (the model needs a value in every row)"
            f"{hint}"
        )


def _parse_value(cell: bytes, column: RawColumn) -> Any:
    """A cell as the column's type; numbers must be finite, as in training data."""
    if column.dtype == STRING:
        return cell
    value = float(cell) if column.dtype == FLOAT else int(cell)
    if column.dtype == FLOAT and not math.isfinite(value):
        raise ValueError(cell)
    return value


def csv_row_to_example(
    row: Mapping[str, Union[str, bytes, None]], columns: Sequence[RawColumn]
) -> bytes:
    """Builds the serialized raw tf.Example of one CSV row.

    Cells are read as CsvExampleGen reads training data: an empty cell is a
    missing value and text is kept as is (spaces included); numbers may have
    spaces around them and must be finite.

    Args:
      row: Column name -> cell, as the CSV contract reads it (bytes) or as text.
      columns: The model's raw columns; other cells are ignored.

    Raises:
      ValueError: Naming the column: a required cell is empty, a value does
        not parse as the column's type, or an integer is beyond int64.
    """
    example = tf.train.Example()
    features = example.features.feature
    for column in columns:
        cell = row.get(column.name) or b""
        if isinstance(cell, str):
            cell = cell.encode("utf-8")
        if column.dtype != STRING:
            cell = cell.strip()
        if not cell:
            if column.required:
                raise ValueError(f"column {column.name!r}: no value, but the model needs one")
            continue
        try:
            value = _parse_value(cell, column)
        except ValueError:
            kind = "an integer" if column.dtype == INT64 else "a finite number"
            text = cell.decode("utf-8", "replace")
            raise ValueError(f"column {column.name!r}: {text!r} is not {kind}") from None
        if column.dtype == INT64 and not _INT64_MIN <= value <= _INT64_MAX:
            text = cell.decode("utf-8", "replace")
            raise ValueError(
                f"column {column.name!r}: {text!r} is beyond int64, the integers a "
                "tf.Example holds (as in training, where such a column is read as text)"
            )
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
    """The column names of a CSV file, by the CSV contract ([] for an empty file).

    A `.csv.gz` file is gzip, decompressed as it is read.

    Raises:
      ServingInputError: The file is missing or unreadable (a `.gz` file that
        is not gzip), or starts with a byte-order mark (naming it).
    """
    try:
        with csv_contract.open_csv(path) as f:
            _, header = next(csv_contract.read_csv(f, path, large_cells=True))
            return header or []
    except csv_contract.CsvFormatError as e:
        raise _serving_error(e) from None
    except _READ_ERRORS as e:
        raise ServingInputError(f"{path}: cannot read it as CSV: {reason(e)}") from None


def _hashed(raw: Any, digest: Any) -> io.BufferedReader:
    """`raw`'s bytes, fed to `digest` as they are read, in large reads."""
    return io.BufferedReader(HashingReader(raw, digest), 1 << 20)


def _serving_error(error: csv_contract.CsvFormatError) -> ServingInputError:
    """A contract error in serving's words (a line's problem: 'cannot read it as CSV')."""
    if error.line is None:
        return ServingInputError(str(error))
    return ServingInputError(
        f"{error.path}, line {error.line}: cannot read it as CSV: {error.problem}",
        line=error.line,
    )


def reason(error: BaseException) -> str:
    """The first line of an error's message (its type's name if it has none)."""
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    return text.splitlines()[0]


def read_csv_cells(
    path: str, columns: Sequence[RawColumn], keep: Sequence[str] = (), digest: Any = None
) -> Iterator[tuple[int, list[str]]]:
    """Yields (0, header) first, then (line number, cells) per CSV row, after checking the header.

    Rows are read by the CSV contract (`core.csv_contract`): cells are bytes,
    blank lines are skipped and the line number is the line the row starts on
    (a quoted cell may span lines); every row has as many cells as the header.

    Args:
      path: The CSV file (any `fileio` path, `gs://` included; `.csv.gz` is
        gzip, decompressed as it is read).
      columns: The model's raw columns.
      keep: Other columns the caller needs.
      digest: A `hashlib` object fed the file's bytes as they are read (a
        gzipped file's bytes as stored): once every row has been yielded it
        holds the whole file's hash.

    Raises:
      ServingInputError: The file is missing, empty, not CSV text or starts
        with a byte-order mark; a required or kept column is missing; or a row
        has more or fewer cells than the header (naming the line).
    """
    line = 0
    digest = digest if digest is not None else hashlib.sha256()
    try:
        with csv_contract.open_csv(path, wrap=lambda raw: _hashed(raw, digest)) as lines:
            records = csv_contract.read_csv(lines, path, large_cells=True)
            line, header = next(records)
            header = header or []
            check_header(header, columns, path)
            absent = [k for k in keep if k not in header]
            if absent:
                raise ServingInputError(f"{path}: no column {absent[0]!r} to keep")
            yield 0, header
            for line, cells in records:
                if len(cells) != len(header):
                    raise ServingInputError(
                        f"{path}, line {line}: {len(cells)} cells, but the header has "
                        f"{len(header)} columns",
                        line=line,
                    )
                yield line, cells
    except csv_contract.CsvFormatError as e:
        raise _serving_error(e) from None
    except _READ_ERRORS as e:
        where = f"{path}, line {line + 1}" if line else path
        raise ServingInputError(
            f"{where}: cannot read it as CSV: {reason(e)}", line=line + 1 if line else None
        ) from None


def read_csv_rows(
    path: str, columns: Sequence[RawColumn], keep: Sequence[str] = (), digest: Any = None
) -> Iterator[tuple[int, dict[str, bytes]]]:
    """Yields (line number, row) per CSV row, after checking the header.

    As `read_csv_cells`, with each row as column name -> cell (bytes).
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
        yield line, kept_cells(row, keep), example


def kept_cells(row: Mapping[str, bytes], keep: Sequence[str]) -> dict[str, str]:
    """The kept columns of a row, as text ("" for an empty or absent cell)."""
    return {k: (row.get(k) or b"").decode("utf-8") for k in keep}


def is_csv(path: str) -> bool:
    """Whether a serving input file is CSV (by its name: `.csv` or `.csv.gz`, any
    case); other files are TFRecords (`.gz`: gzipped)."""
    return source_folders.is_csv_name(path)


def input_files(pattern: str) -> list[str]:
    """The files matching `pattern` (a file, a glob, or a folder: its files), sorted.

    Every file is read: CSV by its name (`is_csv`), any other as TFRecord.
    Subfolders are not read, so a folder holding one, or a glob matching one,
    is refused rather than read in part.

    Raises:
      ServingInputError: Nothing matches, the folder holds no file, or a
        subfolder would be left out (naming it).
    """
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    if fileio.isdir(pattern):
        folder = pattern.rstrip("/")
        paths = [os.path.join(folder, name.rstrip("/")) for name in fileio.listdir(folder)]
        where, narrower = f"{pattern}: the folder holds", f"e.g. {folder}/*.csv"
    else:
        paths = [str(p).rstrip("/") for p in fileio.glob(pattern)]
        where, narrower = f"{pattern} matches", "that matches files only"
    folders = sorted(p for p in paths if fileio.isdir(p))
    if folders:
        raise ServingInputError(
            f"{where} the folder {folders[0]}, which would not be read (subfolders are "
            f"not); name the files to read with a glob {narrower}"
        )
    if not paths:
        if fileio.isdir(pattern):
            raise ServingInputError(f"{pattern}: the folder holds no file to read")
        raise ServingInputError(f"no input file matches {pattern}")
    return sorted(paths)
