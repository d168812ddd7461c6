"""Raw serving data, checked against the model's raw features, as tf.Examples.

Serving data reaches the one tf.Transform graph as serialized raw tf.Examples,
exactly like training data. This module builds them from CSV rows (or checks
given tf.Examples) against the raw feature list the model exports with itself,
so a bad value is reported as "file, line, column: what is wrong" instead of a
TensorFlow parse error deep inside a SavedModel call.

The raw feature list (`RawColumn`s) is the Transform's raw schema restricted to
the model's feature columns:
  required  the column had a value in every analyzed row (a FixedLenFeature):
            serving data must give one too
  optional  it may be missing; the graph then applies the training default
            (the mean for numbers, the `__MISSING__` category for strings)
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

import tensorflow as tf
from google.protobuf import message

from pipeline.errors import InputDataError

INT64 = "int64"
FLOAT = "float"
STRING = "string"
_DTYPES = {tf.int64: INT64, tf.float32: FLOAT, tf.string: STRING}
_KINDS = {INT64: "int64_list", FLOAT: "float_list", STRING: "bytes_list"}
# Where a model keeps its raw feature list: TF Serving's folder for extra files,
# which every copy of the SavedModel (Pusher's included) carries along.
RAW_FEATURES_FILE = "assets.extra/raw_features.json"
MAX_ERRORS_SHOWN = 5


class ServingInputError(InputDataError):
    """Serving data that cannot be scored or transformed (names file, line, column)."""


@dataclasses.dataclass(frozen=True)
class RawColumn:
    """One raw feature the transform graph reads.

    Attributes:
      name: The feature (and CSV column) name.
      dtype: INT64, FLOAT or STRING.
      required: Whether every example must have a value.
    """

    name: str
    dtype: str
    required: bool


def columns_from_feature_spec(
    feature_spec: Mapping[str, Any], names: Iterable[str]
) -> list[RawColumn]:
    """The raw columns `names` as the feature spec types them.

    Args:
      feature_spec: A raw feature spec (tf.io.FixedLenFeature / VarLenFeature).
      names: The columns wanted, in order.

    Raises:
      KeyError: A name is not in the spec.
      ValueError: A feature's dtype is not int64, float32 or string.
    """
    columns = []
    for name in names:
        spec = feature_spec[name]
        if spec.dtype not in _DTYPES:
            raise ValueError(f"raw feature {name!r} has unsupported dtype {spec.dtype!r}")
        required = isinstance(spec, tf.io.FixedLenFeature) and spec.default_value is None
        columns.append(RawColumn(name, _DTYPES[spec.dtype], required))
    return columns


def columns_to_json(columns: Sequence[RawColumn]) -> str:
    """Serializes raw columns (see `columns_from_json`)."""
    return json.dumps([dataclasses.asdict(c) for c in columns], indent=2, sort_keys=True)


def columns_from_json(text: str) -> list[RawColumn]:
    """Reads what `columns_to_json` wrote."""
    return [RawColumn(c["name"], c["dtype"], bool(c["required"])) for c in json.loads(text)]


def feature_spec(columns: Sequence[RawColumn]) -> dict[str, Any]:
    """The tf.io feature spec that parses examples built by this module."""
    dtypes = {INT64: tf.int64, FLOAT: tf.float32, STRING: tf.string}
    return {
        c.name: tf.io.FixedLenFeature([1], dtypes[c.dtype])
        if c.required
        else tf.io.VarLenFeature(dtypes[c.dtype])
        for c in columns
    }


def check_header(header: Optional[Sequence[str]], columns: Sequence[RawColumn], where: str) -> None:
    """Checks a CSV header has every required column.

    Raises:
      ServingInputError: The file is empty, or a required column is missing.
    """
    if not header:
        raise ServingInputError(f"{where}: the file is empty; expected a header row of columns")
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
    from tfx.dsl.io import fileio

    try:
        with fileio.open(path, "r") as lines:
            return _clean_header(next(csv.reader(lines), []))
    except (OSError, UnicodeDecodeError, csv.Error, tf.errors.OpError) as e:
        raise ServingInputError(f"{path}: cannot read it as CSV: {_reason(e)}") from None


def _clean_header(names: Optional[Sequence[str]]) -> list[str]:
    """Header names without a UTF-8 byte-order mark (spreadsheets write one)."""
    names = list(names or [])
    if names:
        names[0] = names[0].lstrip("\ufeff")
    return names


def _reason(error: BaseException) -> str:
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    return text.splitlines()[0]


def read_csv_rows(
    path: str, columns: Sequence[RawColumn], keep: Sequence[str] = ()
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yields (line number, row) per CSV row, after checking the header.

    The line number is the line the row starts on (a quoted cell may span lines).

    Args:
      path: The CSV file (any `fileio` path, `gs://` included).
      columns: The model's raw columns.
      keep: Other columns the caller needs.

    Raises:
      ServingInputError: The file is missing, empty or not CSV text; a required
        or kept column is missing; or a row has more or fewer cells than the
        header (naming the line).
    """
    from tfx.dsl.io import fileio  # heavy import; only readers of files need it

    line = 0
    try:
        with fileio.open(path, "r") as lines:
            reader = csv.reader(lines)
            header = _clean_header(next(reader, None))
            line = reader.line_num
            check_header(header, columns, path)
            absent = [k for k in keep if k not in header]
            if absent:
                raise ServingInputError(f"{path}: no column {absent[0]!r} to keep")
            for cells in reader:
                line, start = reader.line_num, line + 1
                if len(cells) != len(header):
                    raise ServingInputError(
                        f"{path}, line {start}: {len(cells)} cells, but the header has "
                        f"{len(header)} columns"
                    )
                yield start, dict(zip(header, cells))
    except (OSError, UnicodeDecodeError, csv.Error, tf.errors.OpError) as e:
        where = f"{path}, line {line + 1}" if line else path
        raise ServingInputError(f"{where}: cannot read it as CSV: {_reason(e)}") from None


def read_csv_examples(
    path: str, columns: Sequence[RawColumn], keep: Sequence[str] = ()
) -> Iterator[tuple[int, dict[str, str], bytes]]:
    """Yields (line number, kept cells, serialized raw example) per CSV row.

    Args:
      path: The CSV file (any `fileio` path, `gs://` included).
      columns: The model's raw columns.
      keep: Columns to hand back as text with each row (e.g. an id).

    Raises:
      ServingInputError: Naming the file, line and column of the first bad row,
        a missing required or kept column, or an empty file.
    """
    for line, row in read_csv_rows(path, columns, keep):
        try:
            example = csv_row_to_example(row, columns)
        except ValueError as e:
            raise ServingInputError(f"{path}, line {line}, {e}") from None
        yield line, {k: row.get(k) or "" for k in keep}, example
