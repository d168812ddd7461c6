"""Poisson resamples of a split, drawn from each example's content hash.

A bootstrap resample of m rows from N draws each row Poisson(m / N) times
(the Poisson bootstrap): every row decides its own count, so resamples of any
size are drawn in one streaming pass, batch by batch, on any number of
workers. The count of a row in resample (size, replicate) comes from its
seeded content hash (`components.common.content_hash`) mixed with a salt of
(size, replicate): the same data and seed give the same resamples on every
runner and in every order. Identical rows draw identical counts.

Each batch is decoded once (`content_hash.decoded_hashes`): the content hash
reads every feature of that decode, and each resample's share is taken from
it as Arrow rows of the calibrated columns, which
`validation.statistics.StatisticsCombineFn` describes without decoding the
records again.
"""

from __future__ import annotations

import math
from typing import Iterator, NamedTuple, Optional, Sequence

import numpy as np
import pyarrow as pa

from components.common import content_hash
from validation.statistics import RawDecoder

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


class SizeDraws(NamedTuple):
    """The rows of one batch drawn into the resamples of one size.

    Attributes:
      size_index: The size's index.
      replicates: The resamples that draw a row of the batch, ascending.
      rows: Row indices, replicate after replicate, ascending within each and
        each as many times as it is drawn.
      ends: Where each replicate's rows end in `rows`.
    """

    size_index: int
    replicates: list[int]
    rows: np.ndarray
    ends: list[int]


def size_draws(
    hashes: np.ndarray, size_index: int, size: int, split_rows: int, resamples: int
) -> SizeDraws:
    """Which rows of a batch each resample of one size draws, and how often.

    Args:
      hashes: The rows' seeded content hashes (uint64), shape (rows,).
      size_index: The size's index (part of each resample's salt).
      size: The resample size (rows), at most `split_rows`.
      split_rows: Rows in the whole split.
      resamples: Resamples of this size.

    Returns:
      The draws; replicates that draw no row of the batch are left out.
    """
    salts = np.array([salt(size_index, r) for r in range(resamples)], dtype=_U64)
    counts = draw_counts(hashes, poisson_cdf(size / split_rows), salts)
    replicates = np.flatnonzero(counts.any(axis=1))
    drawn = counts[replicates]
    rows = np.repeat(np.tile(np.arange(len(hashes)), len(replicates)), drawn.ravel())
    return SizeDraws(size_index, replicates.tolist(), rows, np.cumsum(drawn.sum(axis=1)).tolist())


def resample_batch(
    records: Sequence[bytes],
    seed: int,
    sizes: Sequence[int],
    split_rows: int,
    resamples: int,
    decoder: RawDecoder,
) -> Iterator[tuple[tuple[int, int], pa.RecordBatch]]:
    """Every resample's share of one batch of serialized examples, decoded.

    The draws of one size are copied out of the decoded batch by one Arrow
    `take`, and each resample's share is a slice of that copy: one copy per
    size instead of one per resample. A slice holds, and pickled carries,
    the whole copy; `StatisticsCombineFn.compact` copies a resample's
    buffered slices out before they leave their worker.

    Args:
      records: The batch.
      seed: The resampling seed.
      sizes: Resample sizes (rows), each at most `split_rows`.
      split_rows: Rows in the whole split.
      resamples: Resamples per size.
      decoder: The calibrated columns' decoder, the one their statistics read.

    Yields:
      ((size index, replicate), the batch's rows drawn into that resample,
      each as many times as it is drawn, in batch order); empty shares are
      not yielded.

    Raises:
      google.protobuf.message.DecodeError: A record is not a tf.Example.
      RuntimeError: A record drawn into a resample holds a calibrated feature
        of another kind than its column's (`RawDecoder.decode` names it); a
        record no resample draws is not decoded with the columns.
    """
    whole, hashes = content_hash.decoded_hashes(records, seed)
    draws = [size_draws(hashes, i, size, split_rows, resamples) for i, size in enumerate(sizes)]
    draws = [d for d in draws if d.replicates]
    if not draws:
        return
    calibrated, held = _calibrated_rows(records, whole, draws, decoder)
    for size_index, replicates, rows, ends in draws:
        taken = calibrated.take(rows if held is None else np.searchsorted(held, rows))
        for replicate, start, end in zip(replicates, [0, *ends], ends):
            yield (size_index, replicate), taken.slice(start, end - start)


def _calibrated_rows(
    records: Sequence[bytes],
    whole: Optional[pa.RecordBatch],
    draws: Sequence[SizeDraws],
    decoder: RawDecoder,
) -> tuple[pa.RecordBatch, Optional[np.ndarray]]:
    """The calibrated columns of a batch's rows, and which rows they are.

    Args:
      records: The batch.
      whole: The batch decoded with every feature; None when that decode
        rejected it.
      draws: The batch's draws, at least one row in all.
      decoder: The calibrated columns' decoder.

    Returns:
      (the columns of every row, None), taken from `whole`; or, when `whole`
      does not hold them with their columns' types, (the columns of the rows
      drawn into some resample, those rows' indices ascending), decoded from
      their records, so a record no resample draws is never judged.

    Raises:
      RuntimeError: A drawn record holds a calibrated feature of another kind.
    """
    calibrated = None if whole is None else decoder.from_whole(whole)
    if calibrated is not None:
        return calibrated, None
    held = np.unique(np.concatenate([d.rows for d in draws]))
    return decoder.decode([records[i] for i in held.tolist()]), held
