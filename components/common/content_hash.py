"""A seeded 64-bit hash of a tf.Example's content, for whole batches at once.

StratifiedSplit places each example by a position that must depend on the
example's content alone: not on how protobuf ordered its features (map order
can differ from process to process), not on the runner or sharding. The
content of an example is the set of its features that carry a kind, each as
(name, kind, values in order); a feature without a kind is treated as absent,
and a feature set twice keeps its last setting, as protobuf parsing does.

Two implementations compute the same number:

- `record_hashes` decodes a batch of records into Arrow columns in C++
  (`columns.decode`, about 5 µs a record) and hashes every column with a few
  NumPy operations: no per-record Python work. `decoded_hashes` gives the
  decoded batch beside the hashes, for a caller that reads its columns too.
- `example_hash` walks one parsed `tf.train.Example` in Python. It is the
  definition the batched code is tested against, and serves the rare batch
  the decoder rejects (one feature of two kinds in a batch).

The hash, all arithmetic modulo 2**64 and `mix` the MurmurHash3 finalizer:

    bytes value  s      mix(poly(s) + len(s) * LENGTH + BYTES)
                        poly(s) = sum((s[i] + 1) * P**i)
    int64 value  v      mix((v mod 2**64) + INT64)
    float value  f      mix(float32 bits of f + FLOAT)   (every NaN as one NaN)
    feature (name, values)
                        mix(mix(sum(h(values[k]) * Q**k) + len(values) * LENGTH)
                            + bytes hash of name)
    example             sum of its features' hashes (order-free)
    position            mix(mix(example + seed_low + SEED) + seed_high)

A sum over features needs no sorting; each term is fully mixed, so the sum is
as well spread as any term. This is not a cryptographic hash: it places rows,
and two rows that hash alike are still ordered by their bytes.
"""

from __future__ import annotations

import struct
from typing import Optional, Sequence

import numpy as np
import pyarrow as pa
import tensorflow as tf

from components.common import columns

MASK = (1 << 64) - 1
P = 0x100000001B3  # FNV's 64-bit prime: odd, so its powers never reach zero
Q = 0x9E3779B97F4A7C15  # odd
LENGTH = 0xD6E8FEB86659FD93
BYTES = 0xA0761D6478BD642F
INT64 = 0xE7037ED1A0B428DB
FLOAT = 0x8EBC6AF09C88C6E3
SEED = 0x589965CC75374CC3
CANONICAL_NAN = 0x7FC00000
# Bytes of text hashed at once (bounds the temporary arrays), and the block
# size of the powers table (see `_bytes_polys`).
WINDOW_BYTES = 1 << 20
BLOCK = 1 << 16

_U64 = np.uint64


def mix(x: int) -> int:
    """MurmurHash3's 64-bit finalizer on a Python int (every input bit reaches every output bit)."""
    x &= MASK
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & MASK
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & MASK
    x ^= x >> 33
    return x


def mix_array(x: np.ndarray) -> np.ndarray:
    """`mix` on every element of a uint64 array (NumPy wraps uint64 products mod 2**64)."""
    x = x ^ (x >> _U64(33))
    x = x * _U64(0xFF51AFD7ED558CCD)
    x = x ^ (x >> _U64(33))
    x = x * _U64(0xC4CEB9FE1A85EC53)
    return x ^ (x >> _U64(33))


def bytes_hash(value: bytes) -> int:
    """The hash of one bytes value (also of a feature's name, as UTF-8)."""
    poly = 0
    power = 1
    for byte in value:
        poly = (poly + (byte + 1) * power) & MASK
        power = (power * P) & MASK
    return mix(poly + len(value) * LENGTH + BYTES)


def _float_bits(value: float) -> int:
    if value != value:  # NaN: payload bits may not survive float conversions
        return CANONICAL_NAN
    return struct.unpack("<I", struct.pack("<f", value))[0]


def _value_hash(kind: str, value: object) -> int:
    if kind == "bytes_list":
        return bytes_hash(value)  # type: ignore[arg-type]
    if kind == "int64_list":
        return mix(value + INT64)  # type: ignore[operator]
    return mix(_float_bits(value) + FLOAT)  # type: ignore[arg-type]


def _feature_hash(name: str, value_hashes: Sequence[int]) -> int:
    combined = 0
    power = 1
    for h in value_hashes:
        combined = (combined + h * power) & MASK
        power = (power * Q) & MASK
    return mix(mix(combined + len(value_hashes) * LENGTH) + bytes_hash(name.encode("utf-8")))


def _position(content: int, seed: int) -> int:
    low, high = seed & MASK, (seed >> 64) & MASK
    return mix(mix(content + low + SEED) + high)


def example_hash(example: tf.train.Example, seed: int) -> int:
    """The seeded content hash of one parsed example (the reference definition).

    Args:
      example: The example; features without a kind count as absent.
      seed: An integer in [0, 2**128).

    Returns:
      An integer in [0, 2**64).
    """
    content = 0
    for name, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        if kind is None:
            continue
        hashes = [_value_hash(kind, v) for v in getattr(feature, kind).value]
        content = (content + _feature_hash(name, hashes)) & MASK
    return _position(content, seed)


def record_hashes(records: Sequence[bytes], seed: int) -> list[int]:
    """The seeded content hash of each serialized example in a batch.

    Equal to `example_hash` of each record parsed. A batch the columnar decoder
    rejects (a feature of one kind in some records and another in others) is
    hashed record by record.

    Raises:
      google.protobuf.message.DecodeError: A record is not a tf.Example.
    """
    return decoded_hashes(records, seed)[1].tolist()


def decoded_hashes(
    records: Sequence[bytes], seed: int
) -> tuple[Optional[pa.RecordBatch], np.ndarray]:
    """`record_hashes` as uint64, with the batch decoded to compute them.

    Args:
      records: Serialized tf.Examples.
      seed: An integer in [0, 2**128).

    Returns:
      (every feature of the batch as `columns.decode` gives it, or None when
      the decoder rejects the batch or it is empty; each record's seeded
      content hash, shape (records,)).

    Raises:
      google.protobuf.message.DecodeError: A record is not a tf.Example.
    """
    batch = columns.decode(records) if records else None
    if batch is None:
        hashes = [example_hash(tf.train.Example.FromString(r), seed) for r in records]
        return None, np.array(hashes, dtype=_U64)
    return batch, batch_hashes(batch, seed)


def batch_hashes(batch: pa.RecordBatch, seed: int) -> np.ndarray:
    """The seeded content hash of each row of a decoded batch, as uint64."""
    content = np.zeros(batch.num_rows, dtype=_U64)
    for name, column in zip(batch.schema.names, batch.columns):
        if pa.types.is_null(column.type):  # no record gives this feature a kind
            continue
        present, features = _column_hashes(column)
        features = mix_array(features + _U64(bytes_hash(name.encode("utf-8"))))
        content += np.where(present, features, _U64(0))
    low, high = seed & MASK, (seed >> 64) & MASK
    positions = mix_array(content + _U64((low + SEED) & MASK))
    return mix_array(positions + _U64(high))


def _column_hashes(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(present, hash before the name is added) of each row of one list column."""
    offsets = _offsets(column)
    present = ~np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    values = column.flatten()
    start = offsets[0]
    value_hashes = _value_hashes(values)
    lengths = np.diff(offsets)
    # Each value's index within its list, for the powers of Q that order them.
    index_in_list = np.arange(len(value_hashes), dtype=np.int64) - np.repeat(
        offsets[:-1] - start, lengths
    )
    weighted = value_hashes * _powers(Q, int(lengths.max(initial=0)))[index_in_list]
    combined = _segment_sums(weighted, offsets - start)
    return present, mix_array(combined + lengths.astype(_U64) * _U64(LENGTH))


def _value_hashes(values: pa.Array) -> np.ndarray:
    """The hash of each value of a flattened column (int64, float32 or binary)."""
    if pa.types.is_integer(values.type):
        raw = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.int64).view(_U64)
        return mix_array(raw + _U64(INT64))
    if pa.types.is_floating(values.type):
        floats = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float32)
        bits = floats.view(np.uint32).astype(_U64)
        bits[np.isnan(floats)] = CANONICAL_NAN
        return mix_array(bits + _U64(FLOAT))
    offsets = _offsets(values)
    buffer = values.buffers()[2]
    data = np.frombuffer(buffer, dtype=np.uint8) if buffer is not None else np.zeros(0, np.uint8)
    polys = _bytes_polys(data, offsets)
    lengths = np.diff(offsets)
    return mix_array(polys + lengths.astype(_U64) * _U64(LENGTH) + _U64(BYTES))


def _bytes_polys(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """poly(s) of each value s = data[offsets[i]:offsets[i + 1]], modulo 2**64.

    The bytes are taken WINDOW_BYTES at a time, so the temporary arrays stay
    bounded however long the values are (a batch of long texts would otherwise
    need several 8-byte numbers per byte at once); P**i is looked up as
    P**(i mod BLOCK) * (P**BLOCK)**(i div BLOCK), so no table grows with a
    value's length.
    """
    block_base = pow(P, BLOCK, 1 << 64)
    start, end = int(offsets[0]), int(offsets[-1])
    # The running sum of weighted bytes at each offset; a value's poly is the
    # difference at its two ends.
    at_offsets = np.zeros(len(offsets), dtype=_U64)
    running = np.zeros(1, dtype=_U64)
    for window_start in range(start, end, WINDOW_BYTES):
        window_end = min(window_start + WINDOW_BYTES, end)
        # The values overlapping the window, clipped to it, give each byte its
        # index within its own (whole) value.
        first_value = np.searchsorted(offsets, window_start, side="right") - 1
        last_value = np.searchsorted(offsets, window_end - 1, side="right") - 1
        clipped = np.clip(offsets[first_value : last_value + 2], window_start, window_end)
        index_in_value = np.arange(window_start, window_end, dtype=np.int64) - np.repeat(
            offsets[first_value : last_value + 1], np.diff(clipped)
        )
        longest = int(index_in_value.max())
        if longest < BLOCK:
            weights = _powers(P, BLOCK)[index_in_value]
        else:
            weights = (
                _powers(P, BLOCK)[index_in_value % BLOCK]
                * _powers(block_base, longest // BLOCK + 1)[index_in_value // BLOCK]
            )
        summed = np.cumsum((data[window_start:window_end].astype(_U64) + _U64(1)) * weights)
        # Offsets inside (window_start, window_end] close here.
        first = np.searchsorted(offsets, window_start, side="right")
        last = np.searchsorted(offsets, window_end, side="right")
        at_offsets[first:last] = summed[offsets[first:last] - window_start - 1] + running
        running += summed[-1:]
    return at_offsets[1:] - at_offsets[:-1]


def _offsets(array: pa.Array) -> np.ndarray:
    """The int64 offsets of a (large) list or binary array, honouring its slice offset."""
    width = 8 if pa.types.is_large_list(array.type) or pa.types.is_large_binary(array.type) else 4
    raw = np.frombuffer(array.buffers()[1], dtype=np.int64 if width == 8 else np.int32)
    return raw[array.offset : array.offset + len(array) + 1].astype(np.int64)


def _segment_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Sums of `values[offsets[i]:offsets[i + 1]]` modulo 2**64 (empty segments sum to 0)."""
    running = np.zeros(len(values) + 1, dtype=_U64)
    np.cumsum(values, out=running[1:])
    return running[offsets[1:]] - running[offsets[:-1]]


_POWERS: dict[int, np.ndarray] = {}


def _powers(base: int, count: int) -> np.ndarray:
    """base**0 .. base**(count - 1) modulo 2**64, extended and cached as needed."""
    cached = _POWERS.get(base)
    if cached is None or len(cached) < count:
        size = max(count, 64, 0 if cached is None else 2 * len(cached))
        table = np.empty(size, dtype=_U64)
        table[0] = 1
        # cumprod wraps modulo 2**64 like the Python reference's masked products.
        np.cumprod(np.full(size - 1, base, dtype=_U64), out=table[1:])
        _POWERS[base] = cached = table
    return cached
