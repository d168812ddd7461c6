"""Calibrated skew thresholds: sizes, the gamma tail, interpolation, the file."""

from __future__ import annotations

import json
import math
import random

import pytest
from scipy import stats

from core.errors import CascadeError
from validation import calibration
from validation.calibration import (
    Calibration,
    FeatureCalibration,
    ResampledDistance,
    SizePoint,
    effective_size,
    gamma_quantile,
    resample_sizes,
)


def test_resample_sizes_stop_at_the_training_split_and_at_the_largest_size():
    assert resample_sizes(2_768) == (100, 300, 1_000, 2_768)
    assert resample_sizes(1_000) == (100, 300, 1_000)
    assert resample_sizes(50) == (50,)
    assert resample_sizes(5_000_000) == (100, 300, 1_000, 3_000, 10_000)


def test_effective_size_is_the_harmonic_combination():
    assert effective_size(2_000, 2_000) == 1_000
    assert effective_size(500, 4_500) == pytest.approx(450)
    assert effective_size(0, 100) == 0.0


def test_the_gamma_quantile_matches_scipys_gamma_of_that_mean_and_sd():
    # shape 4, scale 0.5: mean 2, sd 1
    assert gamma_quantile(2.0, 1.0, 0.999) == pytest.approx(stats.gamma.ppf(0.999, 4, scale=0.5))
    assert gamma_quantile(0.3, 0.0, 0.999) == 0.3
    assert gamma_quantile(0.0, 0.0, 0.999) == pytest.approx(1e-9)


def test_the_gamma_tail_covers_the_largest_absolute_normal_where_mean_plus_3_sd_does_not():
    rng = random.Random(3)
    sds = [0.49, 0.33, 0.33, 0.32, 0.14]
    draws = sorted(max(abs(rng.gauss(0, s)) for s in sds) for _ in range(200_000))
    mean = sum(draws) / len(draws)
    sd = math.sqrt(sum((d - mean) ** 2 for d in draws) / (len(draws) - 1))
    true_999 = draws[int(0.999 * len(draws))]
    assert mean + 3 * sd < 0.85 * true_999
    assert gamma_quantile(mean, sd, 0.999) == pytest.approx(true_999, rel=0.05)


def _point(rows: int, values: float, threshold_mean: float) -> SizePoint:
    return SizePoint(
        rows=rows, values=values, mean=threshold_mean, sd=0.0, largest=0.0, resamples=10
    )


def _feature(points, training_values=1_000_000, name="f") -> FeatureCalibration:
    return FeatureCalibration(name, "L-infinity", training_values, tuple(points))


def test_thresholds_interpolate_in_log_size_and_log_threshold():
    # sd 0: each point's threshold is its mean
    feature = _feature([_point(100, 100, 0.2), _point(10_000, 10_000, 0.02)])
    # 1,000 values against a huge training split: effective size ~1,000, halfway in logs
    assert feature.threshold(1_000, 0.001) == pytest.approx(0.02 * math.sqrt(10), rel=1e-3)
    assert feature.threshold(100, 0.001) == pytest.approx(0.2, rel=1e-3)


def test_beyond_the_largest_size_the_threshold_stays_and_below_the_smallest_it_grows():
    feature = _feature([_point(100, 100, 0.2), _point(10_000, 10_000, 0.02)])
    assert feature.threshold(10**9, 0.001) == pytest.approx(0.02, rel=1e-3)
    # Below 100 values the first segment's slope (-1/2 in logs) continues.
    assert feature.threshold(25, 0.001) == pytest.approx(0.4, rel=1e-3)


def test_a_threshold_never_shrinks_below_the_smallest_size_even_if_the_first_segment_rises():
    feature = _feature([_point(100, 100, 0.05), _point(300, 300, 0.07)])
    assert feature.threshold(10, 0.001) == pytest.approx(0.05, rel=1e-3)


def test_the_effective_size_counts_the_training_splits_own_noise():
    feature = _feature([_point(100, 100, 0.2), _point(10_000, 10_000, 0.02)], training_values=1_000)
    huge = _feature([_point(100, 100, 0.2), _point(10_000, 10_000, 0.02)])
    # 1,000 serving values against 1,000 training values vary like 500 resampled ones.
    assert feature.threshold(1_000, 0.001) == pytest.approx(huge.threshold(500, 0.001), rel=1e-3)
    assert feature.threshold(1_000, 0.001) > huge.threshold(1_000, 0.001)


def test_the_largest_resampled_distance_is_a_floor():
    point = SizePoint(rows=100, values=100, mean=0.01, sd=0.001, largest=0.09, resamples=100)
    assert point.threshold(0.001) == 0.09
    smooth = SizePoint(rows=100, values=100, mean=0.01, sd=0.004, largest=0.02, resamples=100)
    assert smooth.threshold(0.001) == pytest.approx(gamma_quantile(0.01, 0.004, 0.999))


def test_summarize_groups_by_feature_and_size_and_drops_thin_points():
    measured = [
        ResampledDistance("a", 100, 90, 0.1),
        ResampledDistance("a", 100, 110, 0.3),
        ResampledDistance("a", 300, 300, 0.05),
        ResampledDistance("a", 300, 300, 0.07),
        ResampledDistance("a", 1000, 990, 0.01),
        ResampledDistance("b", 100, 100, 0.2),
    ]
    result = calibration.summarize(
        measured,
        measures={"a": "Jensen-Shannon", "b": "L-infinity", "c": "L-infinity"},
        training_values={"a": 2_000, "b": 1_990},
        seed=7,
        resamples=3,
        training_rows=2_000,
    )
    a = result.features["a"]
    assert (a.measure, a.training_values) == ("Jensen-Shannon", 2_000)
    # Two of three resamples hold a value at 100 and 300 rows; one at 1,000: no point.
    assert a.points == (
        SizePoint(100, 100.0, 0.2, pytest.approx(math.sqrt(0.02)), 0.3, 2),
        SizePoint(300, 300.0, pytest.approx(0.06), pytest.approx(math.sqrt(0.0002)), 0.07, 2),
    )
    # b appears in one resample, c in none: too sparse to calibrate.
    assert sorted(result.features) == ["a"]
    assert result.uncalibrated == ("b", "c")
    assert result.covered == {"a", "b", "c"}
    assert (result.seed, result.resamples, result.training_rows) == (7, 3, 2_000)


def test_a_threshold_is_never_above_the_largest_distance():
    wide = SizePoint(rows=100, values=100, mean=0.4, sd=0.5, largest=0.9, resamples=100)
    assert wide.threshold(0.001) == 1.0
    feature = _feature([_point(100, 100, 0.9), _point(10_000, 10_000, 0.009)])
    assert feature.threshold(2, 0.001) == 1.0


def test_a_calibration_survives_its_file(tmp_path):
    original = Calibration(
        seed=3,
        resamples=100,
        training_rows=2_768,
        features={
            "age": _feature([_point(100, 99.5, 0.1), _point(2_768, 2_700.2, 0.01)], name="age")
        },
        uncalibrated=("rare",),
    )
    calibration.write_calibration(original, str(tmp_path))
    assert calibration.read_calibration(str(tmp_path)) == original


def _written(tmp_path, data) -> str:
    (tmp_path / "calibration.json").write_text(json.dumps(data))
    return str(tmp_path)


GOOD = {
    "format_version": 1,
    "seed": 1,
    "resamples": 10,
    "training_rows": 500,
    "features": {
        "age": {
            "measure": "Jensen-Shannon",
            "training_values": 480,
            "points": [
                {
                    "rows": 100,
                    "values": 96.0,
                    "mean": 0.05,
                    "sd": 0.01,
                    "largest": 0.08,
                    "resamples": 10,
                }
            ],
        }
    },
}


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(features=[]), "features is list, expected a mapping"),
        (
            lambda d: d["features"]["age"].update(points=[]),
            "features.age.points expected a non-empty list",
        ),
        (
            lambda d: d["features"]["age"]["points"][0].update(mean="0.1"),
            "features.age.points[0].mean is '0.1', expected a finite number >= 0",
        ),
        (
            lambda d: d["features"]["age"]["points"][0].update(sd=float("nan")),
            "features.age.points[0].sd is nan, expected a finite number >= 0",
        ),
        (lambda d: d.pop("seed"), "seed is None, expected a whole number >= 0"),
        (lambda d: d.update(format_version=2), "format_version is 2, expected 1"),
        (lambda d: d.update(uncalibrated="rare"), "uncalibrated expected a list of feature names"),
    ],
)
def test_a_damaged_calibration_file_names_the_field(tmp_path, edit, message):
    assert calibration.read_calibration(_written(tmp_path, GOOD)).features["age"].points
    data = json.loads(json.dumps(GOOD))
    edit(data)
    with pytest.raises(CascadeError) as raised:
        calibration.read_calibration(_written(tmp_path, data))
    assert str(raised.value) == (f"{tmp_path}/calibration.json: not a skew calibration: {message}")


def test_a_missing_or_foreign_calibration_file_is_named(tmp_path):
    with pytest.raises(
        CascadeError, match=r"the skew calibration .*calibration.json does not exist"
    ):
        calibration.read_calibration(str(tmp_path))
    (tmp_path / "calibration.json").write_text("{")
    with pytest.raises(CascadeError, match=r"calibration.json: not a skew calibration: not JSON"):
        calibration.read_calibration(str(tmp_path))
