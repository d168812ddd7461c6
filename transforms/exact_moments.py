"""An exact mean and variance analyzer: the same bits however Beam splits the data.

`tft.mean` and `tft.var` merge (count, mean, variance) accumulators with
divisions, so their result depends on how the data was cut into batches and
bundles and on the order partial results are merged: two runs of one pipeline
can learn constants a few ulps apart. Here the accumulator is exact instead:
the count, the sum and the sum of squares of the values, as Python integers
scaled by fixed powers of two (every finite float64 is an integer multiple of
2**-1074, its square of 2**-2148). Integer addition is associative and
commutative, so any partition and any merge order give the same totals, and
the mean and variance are computed once from them, correctly rounded to
float64.

As with `tft.mean` and `tft.var`, NaN and infinite values are ignored and the
variance is the population variance (divided by the count). With no finite
values the mean and variance are 0.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Iterable

import apache_beam as beam
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

# Every finite float64 is m * 2**(e - 53) with np.frexp's exponent e >= -1073 and
# an integer |m| < 2**53, so sums are kept as integers in units of 2**-1126 and
# sums of squares in units of 2**-2252.
_MANTISSA_BITS = 53
_SUM_SCALE_BITS = 1073 + _MANTISSA_BITS
_SQUARES_SCALE_BITS = 2 * _SUM_SCALE_BITS
# A mantissa is cut into three 18-bit limbs so limb products (< 2**37) summed
# over a chunk of values stay inside int64.
_LIMB_BITS = 18
_LIMB_MASK = (1 << _LIMB_BITS) - 1
_CHUNK = 1 << 24


@dataclasses.dataclass(frozen=True)
class Moments:
    """Exact count, sum and sum of squares of a multiset of float64 values.

    Attributes:
      count: How many finite values.
      total: Their sum, in units of 2**-1126 (an exact integer).
      total_squares: The sum of their squares, in units of 2**-2252.
    """

    count: int = 0
    total: int = 0
    total_squares: int = 0

    def __add__(self, other: Moments) -> Moments:
        return Moments(
            self.count + other.count,
            self.total + other.total,
            self.total_squares + other.total_squares,
        )


def moments_of(values: np.ndarray) -> Moments:
    """Returns the exact moments of the finite values in `values`.

    Args:
      values: Numbers of any shape and numeric dtype; they are taken as float64
        (float32 converts exactly). NaN and infinite values are skipped.

    Returns:
      Their count, sum and sum of squares, exact.
    """
    flat = np.asarray(values, dtype=np.float64).ravel()
    flat = flat[np.isfinite(flat)]
    moments = Moments(count=int(flat.size))
    for start in range(0, flat.size, _CHUNK):
        moments += _chunk_sums(flat[start : start + _CHUNK])
    return moments


def _chunk_sums(values: np.ndarray) -> Moments:
    """Sum and sum of squares (count 0) of finite float64 values, grouped by exponent.

    Values sharing a binary exponent are summed as integer mantissa limbs in
    int64 (exact, as no sum can overflow at `_CHUNK` values), and each group's
    sums are shifted into place as Python integers.
    """
    fractions, exponents = np.frexp(values)
    mantissas = (fractions * float(1 << _MANTISSA_BITS)).astype(np.int64)
    order = np.argsort(exponents, kind="stable")
    exponents, mantissas = exponents[order], mantissas[order]
    starts = np.flatnonzero(np.r_[True, exponents[1:] != exponents[:-1]])
    # Arithmetic shifts floor, so mantissa == high * 2**36 + mid * 2**18 + low holds
    # for negative mantissas too, with mid and low in [0, 2**18).
    high = mantissas >> (2 * _LIMB_BITS)
    mid = (mantissas >> _LIMB_BITS) & _LIMB_MASK
    low = mantissas & _LIMB_MASK
    sums = [np.add.reduceat(limb, starts) for limb in (high, mid, low)]
    square_terms = [
        high * high,  # * 2**72
        2 * high * mid,  # * 2**54
        2 * high * low + mid * mid,  # * 2**36
        2 * mid * low,  # * 2**18
        low * low,
    ]
    square_sums = [np.add.reduceat(term, starts) for term in square_terms]
    total = 0
    total_squares = 0
    for group, exponent in enumerate(exponents[starts].tolist()):
        shift = exponent - _MANTISSA_BITS + _SUM_SCALE_BITS
        mantissa_sum = 0
        for sum_ in sums:
            mantissa_sum = (mantissa_sum << _LIMB_BITS) + int(sum_[group])
        square_sum = 0
        for sum_ in square_sums:
            square_sum = (square_sum << _LIMB_BITS) + int(sum_[group])
        total += mantissa_sum << shift
        total_squares += square_sum << (2 * shift)
    return Moments(0, total, total_squares)


def mean_and_variance(moments: Moments) -> tuple[float, float]:
    """Returns the mean and population variance, each correctly rounded to float64.

    Args:
      moments: Exact moments, e.g. merged from `moments_of` over any partition.

    Returns:
      (mean, variance); (0.0, 0.0) with no values; a variance beyond float64's
      range is inf.
    """
    if moments.count == 0:
        return 0.0, 0.0
    # int / int is correctly rounded in Python, so each result is the float64
    # nearest to the exact rational value.
    mean = moments.total / (moments.count << _SUM_SCALE_BITS)
    spread = moments.count * moments.total_squares - moments.total * moments.total
    try:
        variance = spread / (moments.count * moments.count << _SQUARES_SCALE_BITS)
    except OverflowError:
        variance = float("inf")
    return mean, variance


class _AccumulateBatches(beam.CombineFn):
    """Combines tf.Transform's batches (a tuple holding one ndarray) into Moments."""

    def create_accumulator(self) -> Moments:
        return Moments()

    def add_input(self, accumulator: Moments, batch: tuple[np.ndarray, ...]) -> Moments:
        return accumulator + moments_of(batch[0])

    def merge_accumulators(self, accumulators: Iterable[Moments]) -> Moments:
        return sum(accumulators, Moments())

    def extract_output(self, accumulator: Moments) -> Moments:
        return accumulator


class _MergeMoments(beam.CombineFn):
    """Combines Moments (from partitions, or read from the analyzer cache)."""

    def create_accumulator(self) -> Moments:
        return Moments()

    def add_input(self, accumulator: Moments, moments: Moments) -> Moments:
        return accumulator + moments

    def merge_accumulators(self, accumulators: Iterable[Moments]) -> Moments:
        return sum(accumulators, Moments())

    def extract_output(self, accumulator: Moments) -> Moments:
        return accumulator


def _as_output(moments: Moments) -> np.ndarray:
    """The analyzer's one output: [mean, variance] as float64."""
    return np.array(mean_and_variance(moments), dtype=np.float64)


class _Stage(beam.PTransform):
    """A stage of the analyzer, with a text that is the same in every process.

    tf.Transform keys its analyzer cache on the text (`repr`) of the stages;
    Beam's default text holds the object's address, so a cache written by one
    run would never match in the next. The version names the accumulator's
    format: change it when `Moments` changes.
    """

    VERSION = "exact-moments-1"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.VERSION})"


class _MakeAccumulators(_Stage):
    """tf.Transform's batches -> the Moments of one dataset."""

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        return batches | "AccumulateMoments" >> beam.CombineGlobally(_AccumulateBatches())


class _MergeAccumulators(_Stage):
    """Moments of several datasets (or cached ones) -> their merged Moments."""

    def expand(self, moments: beam.PCollection) -> beam.PCollection:
        return moments | "MergeMoments" >> beam.CombineGlobally(_MergeMoments())


class _ExtractOutput(_Stage):
    """The merged Moments -> [mean, variance]."""

    def expand(self, moments: beam.PCollection) -> beam.PCollection:
        return moments | "ComputeMeanAndVariance" >> beam.Map(_as_output)


class MomentsCacheCoder(tft.experimental.PTransformAnalyzerCacheCoder):
    """Writes Moments to tf.Transform's analyzer cache as JSON, integers in hex.

    Hex, because Python limits decimal conversion of very long integers and a
    sum of squares can reach about 4,400 bits.
    """

    def encode_cache(self, accumulator: Moments) -> bytes:
        fields = [accumulator.count, accumulator.total, accumulator.total_squares]
        return json.dumps([hex(f) for f in fields]).encode("utf-8")

    def decode_cache(self, encoded_accumulator: bytes) -> Moments:
        count, total, total_squares = (int(f, 16) for f in json.loads(encoded_accumulator))
        return Moments(count, total, total_squares)


def _analyzer() -> tft.experimental.CacheablePTransformAnalyzer:
    """The Beam stages of the analyzer, cacheable per analyzed dataset."""
    return tft.experimental.CacheablePTransformAnalyzer(
        make_accumulators_ptransform=_MakeAccumulators(),
        merge_accumulators_ptransform=_MergeAccumulators(),
        extract_output_ptransform=_ExtractOutput(),
        cache_coder=MomentsCacheCoder(),
    )


def mean_and_var(x: tf.Tensor, name: str | None = None) -> tuple[tf.Tensor, tf.Tensor]:
    """Analyzes `x` over the whole dataset: its exact mean and variance as float64.

    Unlike `tft.mean` and `tft.var`, the result does not depend on batching,
    bundling, worker count or merge order.

    Args:
      x: A 1-D float64 tensor of the values to analyze, e.g. the values present
        in a sparse feature.
      name: An optional name scope for the analyzer.

    Returns:
      (mean, variance): float64 scalars, constants once analysis has run.

    Raises:
      TypeError: `x` is not float64; casting first keeps every input exact.
    """
    if x.dtype != tf.float64:
        raise TypeError(f"exact_moments.mean_and_var takes float64 values, got {x.dtype.name}")
    with tf.compat.v1.name_scope(name, "exact_mean_and_var"):
        (moments,) = tft.experimental.ptransform_analyzer(
            inputs=[x],
            ptransform=_analyzer(),
            output_dtypes=[tf.float64],
            output_shapes=[[2]],
        )
        return moments[0], moments[1]
