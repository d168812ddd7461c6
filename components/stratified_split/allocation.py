"""The split arithmetic, as pure functions: exact sizes and rank thresholds.

Within a stratum every unit (an example, or a group of examples) gets a random
but deterministic position: a seeded 64-bit fingerprint of its key. Ordered by
that position, the first `sizes[0]` units go to the first split, the next
`sizes[1]` to the second, and so on. Sizes are the largest-remainder rounding of
`n * ratio`, so they are exact and sum to `n`.

To find each unit's rank without sorting a stratum in one place, positions are
bucketed by their top `BUCKET_BITS` bits and only per-bucket counts are gathered
(a histogram, at most 2**16 numbers per stratum). A bucket whose whole rank range
falls inside one split sends all its units there; only the few buckets that
straddle a threshold need their units sorted, and those hold about
n / 2**16 units each.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
from fractions import Fraction
from typing import Iterable, Mapping, Optional, Sequence

BUCKET_BITS = 16
_BUCKET_SHIFT = 64 - BUCKET_BITS


def exact_ratios(ratios: Sequence[float]) -> list[Fraction]:
    """Returns the ratios as exact fractions normalized to sum to 1.

    Floats such as 0.6 and 0.2 are taken at their shortest decimal value, so
    100 * 0.6 is exactly 60, not 60.00000000000001.

    Raises:
      ValueError: Fewer than two ratios, or a ratio that is not > 0.
    """
    if len(ratios) < 2:
        raise ValueError(f"at least two split ratios are needed, got {list(ratios)}")
    exact = [Fraction(repr(float(r))) for r in ratios]
    if any(not r > 0 for r in exact):
        raise ValueError(f"split ratios must all be > 0, got {list(ratios)}")
    total = sum(exact)
    return [r / total for r in exact]


def largest_remainder(n: int, ratios: Sequence[Fraction]) -> list[int]:
    """Splits `n` units into sizes proportional to `ratios`, exactly.

    Each split gets floor(n * ratio); the units left over go one each to the
    splits with the largest remainders, ties to the earlier split.

    Args:
      n: Units in the stratum (>= 0).
      ratios: Exact ratios summing to 1 (see `exact_ratios`).

    Returns:
      Sizes, one per ratio, summing to `n`. For n=30 and 0.6/0.2/0.2: [18, 6, 6].
    """
    quotas = [n * r for r in ratios]
    sizes = [q.numerator // q.denominator for q in quotas]
    left_over = n - sum(sizes)
    by_remainder = sorted(range(len(ratios)), key=lambda i: (-(quotas[i] - sizes[i]), i))
    for i in by_remainder[:left_over]:
        sizes[i] += 1
    return sizes


def thresholds(sizes: Sequence[int]) -> list[int]:
    """Returns the cumulative sizes: split i holds ranks [thresholds[i-1], thresholds[i])."""
    return list(itertools.accumulate(sizes))


def split_of_rank(rank: int, cumulative: Sequence[int]) -> int:
    """Returns the split holding 0-based `rank` (empty splits are skipped)."""
    return bisect.bisect_right(cumulative, rank)


def bucket_of(position: int) -> int:
    """Returns the histogram bucket of a 64-bit position (its top bits)."""
    return position >> _BUCKET_SHIFT


@dataclasses.dataclass(frozen=True)
class StratumPlan:
    """Where each bucket of one stratum goes, computed from its histogram.

    Attributes:
      sizes: Units per split.
      cumulative: Cumulative sizes (rank thresholds).
      bucket_start: For each non-empty bucket, the rank of its first unit.
      bucket_split: For buckets wholly inside one split, that split's index;
        buckets straddling a threshold are absent (they are ranked exactly).
    """

    sizes: tuple[int, ...]
    cumulative: tuple[int, ...]
    bucket_start: Mapping[int, int]
    bucket_split: Mapping[int, int]

    @property
    def total(self) -> int:
        return self.cumulative[-1] if self.cumulative else 0

    def split_of_bucket(self, bucket: int) -> Optional[int]:
        """Returns the split of every unit in `bucket`, or None if it straddles."""
        return self.bucket_split.get(bucket)

    def splits_of_sorted_bucket(self, bucket: int, count: int) -> list[int]:
        """Returns the split of each unit of a straddling bucket, in sorted order."""
        start = self.bucket_start[bucket]
        return [split_of_rank(start + i, self.cumulative) for i in range(count)]


def plan_stratum(histogram: Iterable[tuple[int, int]], ratios: Sequence[Fraction]) -> StratumPlan:
    """Builds a stratum's plan from its (bucket, count) histogram.

    Args:
      histogram: Unit counts per bucket; buckets may repeat (counts are added).
      ratios: Exact split ratios.

    Returns:
      The stratum's plan.
    """
    counts: dict[int, int] = {}
    for bucket, count in histogram:
        counts[bucket] = counts.get(bucket, 0) + count
    n = sum(counts.values())
    sizes = largest_remainder(n, ratios)
    cumulative = thresholds(sizes)
    bucket_start: dict[int, int] = {}
    bucket_split: dict[int, int] = {}
    rank = 0
    for bucket in sorted(counts):
        bucket_start[bucket] = rank
        first = split_of_rank(rank, cumulative)
        last = split_of_rank(rank + counts[bucket] - 1, cumulative)
        if first == last:
            bucket_split[bucket] = first
        rank += counts[bucket]
    return StratumPlan(tuple(sizes), tuple(cumulative), bucket_start, bucket_split)


def assign_in_memory(units: Sequence[tuple[str, int, bytes]], ratios: Sequence[float]) -> list[int]:
    """Reference implementation: sorts each stratum whole and cuts it at the thresholds.

    Used by tests to check the bucketed Beam path, which must agree with it exactly.

    Args:
      units: (stratum, position, tie-break bytes) per unit.
      ratios: Split ratios.

    Returns:
      The split index of each unit, in input order.
    """
    exact = exact_ratios(ratios)
    result = [0] * len(units)
    by_stratum: dict[str, list[int]] = {}
    for index, (stratum, _, _) in enumerate(units):
        by_stratum.setdefault(stratum, []).append(index)
    for indices in by_stratum.values():
        ordered = sorted(indices, key=lambda i: units[i][1:])
        cumulative = thresholds(largest_remainder(len(ordered), exact))
        for rank, index in enumerate(ordered):
            result[index] = split_of_rank(rank, cumulative)
    return result
