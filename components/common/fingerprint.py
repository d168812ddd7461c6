"""Seeded 64-bit fingerprints: the only source of "randomness" in Cascade's components.

A fingerprint depends on the seed and the bytes alone, never on input order,
sharding, worker or Python's per-process `hash()` salt, so every runner places a
record the same way. Where a value only spreads keys and never decides an
outcome (CleanExamples' shards of people, its id map's look-up index), a
CRC-32 serves at a tenth of the cost.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Iterable

import numpy as np


def fingerprint64(seed: int, key: bytes) -> int:
    """Returns a 64-bit unsigned fingerprint of `key` under `seed`.

    Args:
      seed: An integer in [0, 2**128); different seeds give independent orders.
      key: The bytes identifying a record (its serialization or a group key).

    Returns:
      An integer in [0, 2**64).
    """
    digest = _seeded_hasher(seed).copy()
    digest.update(key)
    return int.from_bytes(digest.digest(), "little")


def fingerprints64(seed: int, keys: Iterable[bytes]) -> np.ndarray:
    """`fingerprint64` of many keys at once, as a uint64 array.

    Args:
      seed: As for `fingerprint64`.
      keys: The keys, in order.

    Returns:
      Each key's fingerprint, in order: the values `fingerprint64` gives.
    """
    hasher = _seeded_hasher(seed)
    digests = []
    for key in keys:
        digest = hasher.copy()
        digest.update(key)
        digests.append(digest.digest())
    return np.frombuffer(b"".join(digests), dtype="<u8").astype(np.uint64)


@functools.lru_cache(maxsize=64)
def _seeded_hasher(seed: int) -> "hashlib._Hash":
    # Copying a prepared hasher is about twice as fast as passing the salt per call.
    return hashlib.blake2b(digest_size=8, salt=seed.to_bytes(16, "little"))
