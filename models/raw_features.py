"""The raw-feature contract a Cascade model exports with itself.

The Trainer writes `assets.extra/raw_features.json` into every SavedModel it
exports: the raw columns the Transform graph reads, their types, and whether
each is required (it had a value in every analyzed row, so the Transform's raw
schema made it a FixedLenFeature). Serving code reads the file back to check
serving data before it reaches the model (see `serving.serving_input`).
  required  serving data must give a value
  optional  it may be missing; the graph then applies the training default
            (the mean for numbers, the `__MISSING__` category for strings)
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Iterable, Mapping, Sequence

import tensorflow as tf

INT64 = "int64"
FLOAT = "float"
STRING = "string"
_DTYPES = {tf.int64: INT64, tf.float32: FLOAT, tf.string: STRING}
# Where a model keeps its raw feature list: TF Serving's folder for extra files,
# which every copy of the SavedModel (Pusher's included) carries along.
RAW_FEATURES_FILE = "assets.extra/raw_features.json"


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
