"""Pure functions of HashSplit: source tagging and fingerprint bucketing."""

from __future__ import annotations

import bisect
import itertools
from typing import Sequence

import tensorflow as tf

from components.common.fingerprint import unit_interval


def cumulative_bounds(ratios: Sequence[float]) -> list[float]:
    """Returns the upper bound of each split's share of [0, 1).

    Args:
      ratios: Positive split ratios summing to 1.

    Returns:
      Running sums, the last forced to exactly 1.0 so no fingerprint falls past it.
    """
    bounds = list(itertools.accumulate(ratios))
    bounds[-1] = 1.0
    return bounds


def split_index(seed: int, record: bytes, bounds: Sequence[float]) -> int:
    """Returns which split `record` goes to: the first bound above its fingerprint."""
    return bisect.bisect_right(bounds, unit_interval(seed, record))


def tag_source(serialized: bytes, feature: str, source: str) -> bytes:
    """Returns the tf.Example `serialized` with bytes feature `feature` set to `source`.

    Raises:
      ValueError: The example already has `feature` with another value, which
        would make the provenance tag ambiguous.
    """
    example = tf.train.Example.FromString(serialized)
    existing = example.features.feature.get(feature)
    # Look at whichever list the feature holds: an int64 or float `source` column conflicts too.
    kind = existing.WhichOneof("kind") if existing is not None else None
    values = list(getattr(existing, kind).value) if kind else []
    if values not in ([], [source.encode()]):
        raise ValueError(
            f"input example already has a {feature!r} feature "
            f"({values!r}); rename that column"
        )
    example.features.feature[feature].bytes_list.value[:] = [source.encode("utf-8")]
    return example.SerializeToString(deterministic=True)
