"""Poisson resamples of a split, drawn from each example's content hash.

A bootstrap resample of m rows from N draws each row Poisson(m / N) times
(the Poisson bootstrap): every row decides its own count, so resamples of any
size are drawn in one streaming pass, batch by batch, on any number of
workers. The count of a row in resample (size, replicate) comes from its
seeded content hash (`components.common.content_hash`) mixed with a salt of
(size, replicate): the same data and seed give the same resamples on every
runner and in every order. Identical rows draw identical counts.
"""

from __future__ import annotations

import math
from typing import Iterator, Sequence

import numpy as np

from components.common import content_hash

_U64 = np.uint64
# A row is drawn at most this many times: a Poisson(rate <= 1) draw of 16 or
# more (probability under 2e-14) counts as 16.
_MAX_DRAWS = 16
_SALT = 0x2545F4914F6CDD1D


def poisson_cdf(rate: float) -> np.ndarray:
    """P(K <= k) for k = 0 .. _MAX_DRAWS - 1, K ~ Poisson(rate).

    Raises:
      ValueError: The rate is not in (0, 1] (a resample is never larger than the split).
    """
    if not 0.0 < rate <= 1.0:
        raise ValueError(f"Poisson rate {rate} is not in (0, 1]")
    terms = [math.exp(-rate)]
    for k in range(1, _MAX_DRAWS):
        terms.append(terms[-1] * rate / k)
    return np.cumsum(terms)


def salt(size_index: int, replicate: int) -> int:
    """The hash salt of one resample."""
    return content_hash.mix((size_index << 32) + replicate + _SALT)


def draw_counts(hashes: np.ndarray, cdf: np.ndarray, salts: np.ndarray) -> np.ndarray:
    """How many times each row is drawn into each of several resamples of one size.

    All the resamples of a size are drawn in one set of array operations: a
    batch of 2,000 rows and 100 resamples is one (100, 2,000) array, not 100
    rounds of small ones.

    Args:
      hashes: The rows' seeded content hashes (uint64), shape (rows,).
      cdf: `poisson_cdf` of the resamples' rate.
      salts: `salt` of each resample (uint64), shape (resamples,).

    Returns:
      Draws per resample and row (int64), shape (resamples, rows), Poisson
      distributed across rows; row i of resample j depends on hashes[i] and
      salts[j] only.
    """
    salts = np.asarray(salts, dtype=_U64)
    mixed = content_hash.mix_array(hashes[np.newaxis, :] ^ salts[:, np.newaxis])
    uniform = (mixed >> _U64(11)).astype(np.float64) * 2.0**-53
    return np.searchsorted(cdf, uniform, side="right").astype(np.int64)


def resample_batch(
    records: Sequence[bytes],
    seed: int,
    sizes: Sequence[int],
    split_rows: int,
    resamples: int,
) -> Iterator[tuple[tuple[int, int], list[bytes]]]:
    """Every resample's share of one batch of serialized examples.

    Args:
      records: The batch.
      seed: The resampling seed.
      sizes: Resample sizes (rows), each at most `split_rows`.
      split_rows: Rows in the whole split.
      resamples: Resamples per size.

    Yields:
      ((size index, replicate), the batch's records drawn into that resample,
      each as many times as it is drawn); empty shares are not yielded.

    Raises:
      google.protobuf.message.DecodeError: A record is not a tf.Example.
    """
    if not records:
        return
    hashes = np.asarray(content_hash.record_hashes(records, seed), dtype=_U64)
    for size_index, size in enumerate(sizes):
        salts = np.array([salt(size_index, r) for r in range(resamples)], dtype=_U64)
        counts = draw_counts(hashes, poisson_cdf(size / split_rows), salts)
        for replicate in np.flatnonzero(counts.any(axis=1)).tolist():
            row_counts = counts[replicate]
            drawn = np.flatnonzero(row_counts)
            yield (size_index, replicate), [records[i] for i in np.repeat(drawn, row_counts[drawn])]
