"""Reading and appending tf.Example features without a schema."""

from __future__ import annotations

import functools
from typing import Mapping

import tensorflow as tf

# `example.features.feature`: a protobuf map of feature name -> tf.train.Feature.
FeatureMap = Mapping[str, tf.train.Feature]


def text_of(value: object) -> str:
    """One feature value as text (see `feature_values`)."""
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
    return values_in(example.features.feature, name)


def values_in(features: FeatureMap, name: str) -> list[str]:
    """Like `feature_values`, on an example's feature map (saves a look-up per call)."""
    feature = features.get(name)
    if feature is None:
        return []
    kind = feature.WhichOneof("kind")
    if kind is None:
        return []
    return [text_of(v) for v in getattr(feature, kind).value]


def canonical_bytes(example: tf.train.Example) -> bytes:
    """The example serialized with its features in name order, each feature once.

    Protobuf writes map fields in an order that can differ between processes,
    so the same example may come as other bytes; this form depends on the
    content alone. A record can set one feature twice (messages appended to
    each other, as CleanExamples' tags are): parsing keeps the last setting,
    but the C++ protobuf behind Python only drops the others once the feature
    map has been read from Python, so it is read here before serializing.
    """
    len(example.features.feature)
    return example.SerializeToString(deterministic=True)


def has_value(features: FeatureMap, name: str) -> bool:
    """True if the feature is present with at least one value (no decoding)."""
    feature = features.get(name)
    if feature is None:
        return False
    kind = feature.WhichOneof("kind")
    return kind is not None and len(getattr(feature, kind).value) > 0


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
    """Returns a feature's first value as a float (text parsed), or None."""
    return numeric_in(example.features.feature, name)


def numeric_in(features: FeatureMap, name: str) -> float | None:
    """Like `numeric_value`, on an example's feature map."""
    feature = features.get(name)
    if feature is None:
        return None
    kind = feature.WhichOneof("kind")
    values = getattr(feature, kind).value if kind is not None else ()
    return number_of(values[0]) if values else None


def number_of(value: object) -> float | None:
    """One feature value (int, float or bytes) as a float; None for text that is no number."""
    try:
        return float(value)  # type: ignore[arg-type]
    except ValueError:
        return None


def string_features(values: Mapping[str, str]) -> bytes:
    """Serializes a tf.Example holding only the given bytes features.

    Appending these bytes to a serialized tf.Example sets those features on it:
    protobuf parses concatenated messages as one merged message, and for map
    fields such as `Features.feature` the last entry for a key wins. Tagging an
    example this way costs no parse and no re-serialization.

    The bytes are encoded directly (features sorted by name), which is what
    `SerializeToString(deterministic=True)` gives, at a fraction of the cost:
    this runs once per cleaned row.
    """
    if not values:
        return b""
    entries = b"".join(
        _field(1, _field(1, name.encode("utf-8")) + _field(2, _bytes_feature(value)))
        for name, value in sorted(values.items())
    )
    return _field(1, entries)


def one_string_feature(name: str, value: str) -> bytes:
    """`string_features({name: value})`, encoded in fewer steps: CleanExamples
    appends one per kept row (its canonical id).

    Every byte before the value depends only on the name and the value's
    length, so that header is built once per (name, length).
    """
    text = value.encode("utf-8")
    return _one_string_header(name, len(text)) + text


@functools.lru_cache(maxsize=4096)
def _one_string_header(name: str, length: int) -> bytes:
    """The encoding of a feature `name` holding one bytes value of `length`, minus the value."""
    values = 1 + len(_varint(length)) + length  # BytesList.value
    feature = 1 + len(_varint(values)) + values  # Feature.bytes_list
    key = feature_key(name)
    entry = len(key) + 1 + len(_varint(feature)) + feature
    entries = 1 + len(_varint(entry)) + entry  # Features.feature
    return (
        b"\x0a"
        + _varint(entries)  # Example.features
        + b"\x0a"
        + _varint(entry)
        + key
        + b"\x12"
        + _varint(feature)
        + b"\x0a"
        + _varint(values)
        + b"\x0a"
        + _varint(length)
    )


@functools.lru_cache(maxsize=4096)
def constant_string_features(items: tuple[tuple[str, str], ...]) -> bytes:
    """`string_features` of (name, value) pairs, cached for tags shared by many rows."""
    return string_features(dict(items))


@functools.lru_cache(maxsize=64)
def kindless_features(names: tuple[str, ...]) -> bytes:
    """Bytes that, appended to a serialized tf.Example, add each name as a
    feature without a kind (an empty `tf.train.Feature`), as CsvExampleGen
    writes a column that has no value anywhere in its split."""
    if not names:
        return b""
    return _field(
        1,
        b"".join(
            _field(1, _field(1, name.encode("utf-8")) + _field(2, b"")) for name in sorted(names)
        ),
    )


@functools.lru_cache(maxsize=256)
def feature_key(name: str) -> bytes:
    """The bytes a feature's name is serialized as in a tf.Example's feature map
    (the entry's key field). A longer name, or a value that merely contains
    the text, does not hold them, so searching records for them finds the
    records that have the feature, and those with a bytes value equal to the
    name (serialized the same way)."""
    return _field(1, name.encode("utf-8"))


def _bytes_feature(value: str) -> bytes:
    # Feature.bytes_list (field 1) holding BytesList.value (field 1).
    return _field(1, _field(1, value.encode("utf-8")))


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field: tag, varint length, payload."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


_ONE_BYTE_VARINTS = tuple(bytes((n,)) for n in range(0x80))


def _varint(n: int) -> bytes:
    if n < 0x80:  # tags and short lengths: nearly every call
        return _ONE_BYTE_VARINTS[n]
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)
