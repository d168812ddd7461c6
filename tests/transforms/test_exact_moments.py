"""transforms.exact_moments: an exact mean and variance, the same bits for any partition."""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Sequence

import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from apache_beam.options.pipeline_options import PipelineOptions
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.transform_constants import learned_constants
from transforms import exact_moments
from transforms.exact_moments import Moments, mean_and_variance, moments_of

# Every finite float64: subnormals, huge values, both zeros.
FINITE = st.floats(allow_nan=False, allow_infinity=False)
SUM_UNIT = Fraction(1, 2**1126)
SQUARES_UNIT = Fraction(1, 2**2252)


def _reference(values: Sequence[float]) -> tuple[float, float]:
    """The mean and population variance by the definition, in exact rationals."""
    exact = [Fraction(v) for v in values]
    if not exact:
        return 0.0, 0.0
    mean = sum(exact, Fraction(0)) / len(exact)
    variance = sum(((v - mean) ** 2 for v in exact), Fraction(0)) / len(exact)
    try:
        return float(mean), float(variance)
    except OverflowError:
        return float(mean), float("inf")


def _bits(pair: tuple[float, float]) -> bytes:
    return np.array(pair, dtype=np.float64).tobytes()


@settings(max_examples=300, deadline=None)
@given(st.lists(FINITE, max_size=40))
def test_moments_are_the_exact_count_sum_and_sum_of_squares(values):
    moments = moments_of(np.array(values, dtype=np.float64))
    assert moments.count == len(values)
    assert moments.total * SUM_UNIT == sum((Fraction(v) for v in values), Fraction(0))
    assert moments.total_squares * SQUARES_UNIT == sum(
        (Fraction(v) ** 2 for v in values), Fraction(0)
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(FINITE, max_size=40))
def test_mean_and_variance_are_the_exact_values_correctly_rounded(values):
    found = mean_and_variance(moments_of(np.array(values, dtype=np.float64)))
    assert _bits(found) == _bits(_reference(values))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_partition_in_any_merge_order_gives_the_same_bits(data):
    values = data.draw(st.lists(FINITE, min_size=1, max_size=60))
    shuffled = data.draw(st.permutations(values))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(values)), max_size=6)))
    parts = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(values)])]
    partial = [moments_of(np.array(part, dtype=np.float64)) for part in parts]
    merge_order = data.draw(st.permutations(range(len(partial))))
    merged = Moments()
    for index in merge_order:
        merged = merged + partial[index]
    whole = moments_of(np.array(values, dtype=np.float64))
    assert merged == whole
    assert _bits(mean_and_variance(merged)) == _bits(mean_and_variance(whole))


def test_float_sums_depend_on_order_and_the_exact_mean_does_not():
    values = np.array([2.0**53, 1.0, -(2.0**53), 1.0, 4.0])
    # The sum is 6. Added left to right in float64, 2**53 + 1 rounds back to 2**53,
    # so a 1 is lost; in ascending order nothing is.
    assert sum(values.tolist()) == 5.0
    assert sum(sorted(values.tolist())) == 6.0
    mean, variance = mean_and_variance(moments_of(values))
    assert mean == 1.2  # 6 / 5, correctly rounded
    # The sum of squares is 2**107 + 18: (5 * (2**107 + 18) - 6**2) / 5**2.
    assert variance == float(Fraction(5 * (2**107 + 18) - 36, 25))


def test_small_data_gives_the_textbook_values():
    assert mean_and_variance(moments_of(np.array([1.0, 2.0, 3.0, 4.0]))) == (2.5, 1.25)
    assert mean_and_variance(moments_of(np.array([7.0]))) == (7.0, 0.0)


def test_nan_and_infinities_are_ignored_as_tft_does_and_no_values_give_zero():
    values = np.array([np.nan, 1.0, np.inf, 3.0, -np.inf])
    assert moments_of(values) == moments_of(np.array([1.0, 3.0]))
    assert mean_and_variance(moments_of(values)) == (2.0, 1.0)
    assert mean_and_variance(moments_of(np.array([np.nan]))) == (0.0, 0.0)
    assert mean_and_variance(Moments()) == (0.0, 0.0)


def test_a_variance_beyond_float64_is_infinite():
    mean, variance = mean_and_variance(moments_of(np.array([-1e308, 1e308])))
    assert (mean, variance) == (0.0, float("inf"))


def test_float32_and_integer_inputs_are_taken_exactly():
    as_float32 = np.array([0.1, 16777217], dtype=np.float32)
    assert moments_of(as_float32) == moments_of(as_float32.astype(np.float64))
    assert moments_of(np.array([3, -5], dtype=np.int64)) == moments_of(np.array([3.0, -5.0]))


def test_the_cache_coder_round_trips_integers_of_thousands_of_bits():
    moments = moments_of(np.array([1e308, -5e-324, 0.1]))
    coder = exact_moments.MomentsCacheCoder()
    assert coder.decode_cache(coder.encode_cache(moments)) == moments
    assert moments.total_squares.bit_length() > 4000


def test_the_analyzer_refuses_values_that_are_not_float64():
    with tf.Graph().as_default():
        with pytest.raises(TypeError, match="takes float64 values, got float32"):
            exact_moments.mean_and_var(tf.constant([1.0], tf.float32))


# --- inside tf.Transform, on Beam -------------------------------------------------

# float32 values whose float64 sum depends on the order they are added in.
VALUES = [2.0**53, 1.0, -(2.0**53), 1.0, 3.0, 0.1, -7.25, 1e-30, 12345.5, 2.0**-20]
FEATURE_SPEC = {"x": tf.io.FixedLenFeature([], tf.float32)}
METADATA = tft.DatasetMetadata.from_feature_spec(FEATURE_SPEC)
LOCAL = ["--runner=FnApiRunner", "--direct_running_mode=in_memory", "--direct_num_workers=1"]
PARALLEL = ["--runner=FnApiRunner", "--direct_running_mode=multi_processing"]
PARALLEL += ["--direct_num_workers=2"]


def _preprocessing_fn(inputs):
    x = tf.cast(inputs["x"], tf.float64)
    mean, variance = exact_moments.mean_and_var(x)
    return {"x_centered": tf.cast((x - mean) / tf.sqrt(variance), tf.float32)}


def _expected() -> np.ndarray:
    as_float32 = np.array(VALUES, dtype=np.float32).astype(np.float64).tolist()
    return np.array(_reference(as_float32), dtype=np.float64)


def _analyze(tmp_path, options: list[str], batch_size: int | None, rows: list[float]) -> list:
    """Analyzes `rows` with AnalyzeDataset; returns the transform_fn's learned constants."""
    out = str(tmp_path / "out")
    with tft_beam.Context(temp_dir=str(tmp_path / "tmp"), desired_batch_size=batch_size):
        with beam.Pipeline(options=PipelineOptions(options)) as pipeline:
            data = pipeline | "CreateRows" >> beam.Create([{"x": v} for v in rows])
            transform_fn = (data, METADATA) | tft_beam.AnalyzeDataset(_preprocessing_fn)
            _ = transform_fn | tft_beam.WriteTransformFn(out)
    return learned_constants(os.path.join(out, "transform_fn"))


@pytest.mark.parametrize(
    "options, batch_size, order",
    [(LOCAL, None, 1), (LOCAL, 1, 1), (LOCAL, 3, -1), (PARALLEL, 1, -1)],
    ids=["local", "local-batch-1", "local-batch-3-reversed", "parallel-batch-1-reversed"],
)
def test_transform_learns_the_exact_constants_for_any_batching_and_runner(
    tmp_path, options, batch_size, order
):
    [constants] = _analyze(tmp_path, options, batch_size, VALUES[::order])
    assert constants.dtype == np.float64
    assert constants.tobytes() == _expected().tobytes()


def test_the_analyzer_cache_replaces_the_data_it_was_computed_from(tmp_path):
    first, second = (tft_beam.analyzer_cache.DatasetKey(name) for name in ("first", "second"))
    cache_dir = str(tmp_path / "cache")

    def analyze(rows: dict, read_cache: bool, out: str) -> None:
        with tft_beam.Context(temp_dir=str(tmp_path / "tmp"), desired_batch_size=2):
            with beam.Pipeline(options=PipelineOptions(LOCAL)) as pipeline:
                cache = {}
                if read_cache:
                    cache = pipeline | tft_beam.analyzer_cache.ReadAnalysisCacheFromFS(
                        cache_dir, [first, second]
                    )
                data = {
                    key: pipeline | f"Create{key.key}" >> beam.Create([{"x": v} for v in values])
                    for key, values in rows.items()
                }
                transform_fn, new_cache = (data, cache, METADATA) | (
                    tft_beam.AnalyzeDatasetWithCache(_preprocessing_fn)
                )
                _ = transform_fn | tft_beam.WriteTransformFn(out)
                if not read_cache:
                    _ = new_cache | tft_beam.analyzer_cache.WriteAnalysisCacheToFS(
                        pipeline, cache_dir
                    )

    analyze({first: VALUES[:4], second: VALUES[4:]}, False, str(tmp_path / "a"))
    # From the cache, `first`'s data is not read again: other rows in its place
    # change nothing.
    analyze({first: [1000.0], second: VALUES[4:]}, True, str(tmp_path / "b"))
    for out in ("a", "b"):
        [constants] = learned_constants(str(tmp_path / out / "transform_fn"))
        assert constants.tobytes() == _expected().tobytes(), out
