"""Seeded 64-bit fingerprints: the only source of "randomness" in Cascade's components.

A fingerprint depends on the seed and the bytes alone, never on input order,
sharding, worker or Python's per-process `hash()` salt, so every runner places a
record the same way.
"""

from __future__ import annotations

import hashlib

# 53 bits: what a float holds exactly. Dividing all 64 bits by 2**64 rounds the top
# fingerprints up to 1.0, past the last split bound.
_UNIT_BITS = 53


def fingerprint64(seed: int, key: bytes) -> int:
    """Returns a 64-bit unsigned fingerprint of `key` under `seed`.

    Args:
      seed: Any non-negative integer; different seeds give independent orders.
      key: The bytes identifying a record (its serialization or a group key).

    Returns:
      An integer in [0, 2**64).
    """
    digest = hashlib.blake2b(key, digest_size=8, salt=seed.to_bytes(16, "little"))
    return int.from_bytes(digest.digest(), "little")


def unit_interval(seed: int, key: bytes) -> float:
    """Returns the fingerprint of `key` scaled to [0, 1)."""
    return (fingerprint64(seed, key) >> (64 - _UNIT_BITS)) / float(2**_UNIT_BITS)
