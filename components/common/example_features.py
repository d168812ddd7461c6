"""Reading and appending tf.Example features without a schema."""

from __future__ import annotations

from typing import Mapping, Union

import tensorflow as tf

FeatureValue = Union[str, int, float]


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def feature_values(example: tf.train.Example, name: str) -> list[str]:
    """Returns a feature's values as text ([] when absent or empty).

    Integers print as digits, whole floats without `.0` and bytes as UTF-8, so an
    id is the same text whether CsvExampleGen inferred it as int or string.
    """
    feature = example.features.feature.get(name)
    if feature is None:
        return []
    kind = feature.WhichOneof("kind")
    if kind is None:
        return []
    return [_text(v) for v in getattr(feature, kind).value]


def single_value(example: tf.train.Example, name: str) -> str | None:
    """Returns a feature's only value as text, or None when it has none.

    Raises:
      ValueError: The feature holds several values.
    """
    values = feature_values(example, name)
    if len(values) > 1:
        raise ValueError(f"feature {name!r} has {len(values)} values; expected one")
    return values[0] if values else None


def numeric_value(example: tf.train.Example, name: str) -> float | None:
    """Returns a feature's first int64/float value as a float, or None."""
    feature = example.features.feature.get(name)
    if feature is None:
        return None
    kind = feature.WhichOneof("kind")
    if kind in ("int64_list", "float_list") and getattr(feature, kind).value:
        return float(getattr(feature, kind).value[0])
    if kind == "bytes_list" and feature.bytes_list.value:
        try:
            return float(feature.bytes_list.value[0])
        except ValueError:
            return None
    return None


def string_features(values: Mapping[str, str]) -> bytes:
    """Serializes a tf.Example holding only the given bytes features.

    Appending these bytes to a serialized tf.Example sets those features on it:
    protobuf parses concatenated messages as one merged message, and for map
    fields such as `Features.feature` the last entry for a key wins. Tagging an
    example this way costs no parse and no re-serialization.
    """
    example = tf.train.Example()
    for name, value in values.items():
        example.features.feature[name].bytes_list.value.append(value.encode("utf-8"))
    return example.SerializeToString(deterministic=True)
