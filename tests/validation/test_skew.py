"""The training/serving skew check: TFDV statistics and TFDV's comparators, per feature."""

from __future__ import annotations

import hashlib
import os
import random

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow_metadata.proto.v0 import anomalies_pb2  # noqa: E402

from core.errors import CascadeError  # noqa: E402
from models.raw_features import FLOAT, INT64, STRING, RawColumn  # noqa: E402
from serving import csv_statistics  # noqa: E402
from validation import skew, statistics  # noqa: E402

COLUMNS = [
    RawColumn("country", STRING, required=False),
    RawColumn("age", INT64, required=False),
    RawColumn("amount", FLOAT, required=False),
]


def _example(country: str, age: int, amount: float) -> bytes:
    features = {
        "country": tf.train.Feature(bytes_list=tf.train.BytesList(value=[country.encode()])),
        "age": tf.train.Feature(int64_list=tf.train.Int64List(value=[age])),
        "amount": tf.train.Feature(float_list=tf.train.FloatList(value=[amount])),
    }
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def _stats(rows: list[bytes], columns=COLUMNS, batch: int = 100):
    accumulator = statistics.StatisticsAccumulator(columns)
    for start in range(0, len(rows), batch):
        accumulator.add(rows[start : start + batch])
    return accumulator.result()


def _rows(seed: int, n: int, us_share: float = 0.5, age_shift: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    return [
        _example(
            "US" if rng.random() < us_share else "DE",
            rng.randint(20, 60) + age_shift,
            rng.uniform(0.0, 100.0),
        )
        for _ in range(n)
    ]


def test_statistics_accumulate_batch_by_batch_like_one_batch():
    rows = _rows(1, 1000)
    batched, whole = _stats(rows, batch=37), _stats(rows, batch=1000)
    # Counts and histograms agree; quantile sketches may differ in the last digits.
    report = skew.compare(whole, batched, COLUMNS)
    assert max(f.distance for f in report.features) < 1e-3
    for a, b in zip(whole.datasets[0].features, batched.datasets[0].features):
        common = "num_stats" if a.HasField("num_stats") else "string_stats"
        assert getattr(a, common).common_stats == getattr(b, common).common_stats
    [dataset] = whole.datasets
    assert dataset.num_examples == 1000
    assert sorted(f.path.step[0] for f in dataset.features) == ["age", "amount", "country"]


def test_same_distribution_is_within_thresholds_and_a_shift_is_skew():
    training = _stats(_rows(1, 2000))
    same = skew.compare(training, _stats(_rows(2, 2000)), COLUMNS)
    assert same.skewed == ()
    assert all(f.distance < 0.05 for f in same.features)
    assert (same.training_rows, same.serving_rows) == (2000, 2000)

    shifted = skew.compare(training, _stats(_rows(3, 2000, us_share=0.9, age_shift=30)), COLUMNS)
    assert [f.feature for f in shifted.skewed] == ["age", "country"]
    by_name = {f.feature: f for f in shifted.features}
    assert by_name["country"].measure == skew.L_INFINITY
    # L-infinity of the value shares: |0.9 - 0.5| up to sampling.
    assert by_name["country"].distance == pytest.approx(0.4, abs=0.04)
    assert by_name["age"].measure == skew.JENSEN_SHANNON
    assert by_name["amount"].verdict == skew.OK
    # Worst first: skewed features before the others, each by distance / threshold.
    ratios = [f.distance / f.threshold for f in shifted.features]
    assert ratios[:2] == sorted(ratios[:2], reverse=True)
    assert [f.feature for f in shifted.features][-1] == "amount"


def test_per_feature_thresholds_decide_the_verdict():
    training = _stats(_rows(1, 2000))
    serving = _stats(_rows(3, 2000, us_share=0.7))
    strict = skew.compare(training, serving, COLUMNS, skew.SkewThresholds(default=0.1))
    assert [f.feature for f in strict.skewed] == ["country"]
    lenient = skew.compare(
        training, serving, COLUMNS, skew.SkewThresholds(default=0.1, per_feature={"country": 0.5})
    )
    assert lenient.skewed == ()
    assert {f.feature: f.threshold for f in lenient.features} == {
        "country": 0.5,
        "age": 0.1,
        "amount": 0.1,
    }
    measured = {
        ".".join(i.path.step): i.skew_measurements[0] for i in lenient.anomalies.drift_skew_info
    }
    assert measured["country"].threshold == pytest.approx(0.5)


def test_a_feature_without_serving_values_is_reported_as_skew_not_a_crash():
    training = _stats(_rows(1, 500))
    serving_rows = [
        tf.train.Example(
            features=tf.train.Features(
                feature={"age": tf.train.Feature(int64_list=tf.train.Int64List(value=[30]))}
            )
        ).SerializeToString()
        for _ in range(50)
    ]
    report = skew.compare(training, _stats(serving_rows, COLUMNS), COLUMNS, absent=["country"])
    by_name = {f.feature: f for f in report.features}
    assert by_name["country"].note == "absent from the serving data"
    assert by_name["amount"].note == "no value in any serving row"
    assert by_name["country"].verdict == by_name["amount"].verdict == skew.SKEW
    assert by_name["country"].distance == skew.MAX_DISTANCE
    assert {f.feature for f in report.skewed} >= {"country", "amount"}
    info = report.anomalies.anomaly_info["country"]
    assert info.severity == anomalies_pb2.AnomalyInfo.ERROR
    assert "absent from the serving data" in info.short_description
    assert "no value in any serving row" in report.anomalies.anomaly_info["amount"].description


def test_training_statistics_without_a_model_feature_are_refused():
    training = _stats(_rows(1, 100), [RawColumn("age", INT64, required=False)])
    with pytest.raises(
        CascadeError, match="the training statistics have no feature 'amount', 'country'"
    ):
        skew.compare(training, _stats(_rows(2, 100)), COLUMNS)


def test_statistics_and_anomalies_are_written_in_tfx_layout(tmp_path):
    stats = _stats(_rows(1, 100))
    path = statistics.write_statistics(stats, str(tmp_path / "statistics"))
    assert path == str(tmp_path / "statistics" / "Split-serving" / "FeatureStats.pb")
    assert statistics.read_statistics(path) == stats
    report = skew.compare(stats, stats, COLUMNS)
    written = skew.write_anomalies(report.anomalies, str(tmp_path / "anomalies"), "serving")
    assert written == str(tmp_path / "anomalies" / "Split-serving" / "SchemaDiff.pb")
    with open(written, "rb") as f:
        assert anomalies_pb2.Anomalies.FromString(f.read()) == report.anomalies


def test_csv_statistics_hash_the_file_in_the_same_pass(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text('country,age,amount\nUS,30,1.5\n"D\nE",40,\nDE,,2\n')
    data = csv_statistics.csv_statistics(str(source), COLUMNS)
    assert data.rows == 3
    assert data.input_sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert data.statistics.datasets[0].num_examples == 3


def _with_species(example: bytes, species: str) -> bytes:
    parsed = tf.train.Example.FromString(example)
    parsed.features.feature["species"].bytes_list.value.append(species.encode())
    return parsed.SerializeToString()


def test_a_text_label_column_in_serving_data_is_not_compared(tmp_path):
    # StatisticsGen's training statistics describe the label too.
    training_rows = [
        _with_species(row, ("Adelie", "Gentoo")[i % 2]) for i, row in enumerate(_rows(1, 400))
    ]
    training = _stats(training_rows, [*COLUMNS, RawColumn("species", STRING, required=False)])
    assert "species" in {statistics.feature_name(f) for f in training.datasets[0].features}
    # Serving rows carry the label, with classes training never saw: as CSV
    # (the one-process scorer) and as tf.Examples (TFRecord input on Beam).
    source = tmp_path / "serving.csv"
    source.write_text(
        "country,age,amount,species\n"
        + "".join(
            f"{'US' if i % 2 else 'DE'},{20 + i % 40},{i % 97}.5,Emperor\n" for i in range(300)
        )
    )
    from_csv = csv_statistics.csv_statistics(str(source), COLUMNS).statistics
    examples = [_with_species(row, "Emperor") for row in _rows(2, 300)]
    for serving in (from_csv, _stats(examples)):
        served = {statistics.feature_name(f) for f in serving.datasets[0].features}
        assert served == {"country", "age", "amount"}
        report = skew.compare(training, serving, COLUMNS)
        assert sorted(f.feature for f in report.features) == ["age", "amount", "country"]
        assert "species" not in report.anomalies.anomaly_info
        assert report.anomalies.drift_skew_info
        assert all(i.path.step[0] != "species" for i in report.anomalies.drift_skew_info)


def _calibration(threshold_at_100: float, threshold_at_10000: float):
    """A calibration whose thresholds fall from one value at 100 values to another at 10,000."""
    from validation.calibration import Calibration, FeatureCalibration, SizePoint

    def point(values: int, mean: float) -> SizePoint:
        return SizePoint(rows=values, values=values, mean=mean, sd=0.0, largest=0.0, resamples=9)

    features = {
        c.name: FeatureCalibration(
            c.name,
            skew.measure_for(c),
            10**9,
            (point(100, threshold_at_100), point(10_000, threshold_at_10000)),
        )
        for c in COLUMNS
    }
    return Calibration(seed=1, resamples=9, training_rows=10**9, features=features)


def test_calibrated_thresholds_follow_the_serving_sample_size_and_reach_tfdvs_anomalies():
    training = _stats(_rows(1, 2000))
    limits = skew.CalibratedThresholds(_calibration(0.3, 0.003), 0.001, min_values=100)
    small = skew.compare(training, _stats(_rows(2, 100)), COLUMNS, limits)
    large = skew.compare(training, _stats(_rows(2, 1000)), COLUMNS, limits)
    assert [f.threshold for f in small.features] == [pytest.approx(0.3, rel=1e-3)] * 3
    assert [f.threshold for f in large.features] == [pytest.approx(0.03, rel=1e-3)] * 3
    assert [f.values for f in large.features] == [1000] * 3
    measured = {
        ".".join(i.path.step): i.skew_measurements[0] for i in large.anomalies.drift_skew_info
    }
    assert measured["country"].threshold == pytest.approx(0.03, rel=1e-3)
    assert large.thresholds == (
        "thresholds calibrated on 9 resamples per size of 1,000,000,000 training rows, "
        "aiming at 0.10% false alarms per feature"
    )


def test_calibrated_mode_gives_no_verdict_under_its_minimum_and_per_feature_pins_a_threshold():
    training = _stats(_rows(1, 2000))
    shifted = _stats(_rows(3, 60, us_share=1.0))
    limits = skew.CalibratedThresholds(
        _calibration(0.01, 0.001), 0.001, min_values=100, per_feature={"amount": 0.5}
    )
    report = skew.compare(training, shifted, COLUMNS, limits)
    by_name = {f.feature: f for f in report.features}
    assert by_name["country"].distance > by_name["country"].threshold
    assert (by_name["country"].low_power, by_name["country"].verdict) == (True, skew.LOW_POWER)
    assert report.skewed == ()
    assert by_name["amount"].threshold == 0.5
    judged = skew.CalibratedThresholds(
        _calibration(0.01, 0.001), 0.001, min_values=50, per_feature={"amount": 0.5}
    )
    flagged = [f.feature for f in skew.compare(training, shifted, COLUMNS, judged).skewed]
    assert "country" in flagged and "amount" not in flagged


def test_a_calibration_without_a_model_feature_is_refused_by_name():
    from validation.calibration import Calibration

    training = _stats(_rows(1, 200))
    calibration = _calibration(0.1, 0.01)
    partial = Calibration(1, 9, 10, {"age": calibration.features["age"]}, uncalibrated=("amount",))
    limits = skew.CalibratedThresholds(partial, 0.001, 100, fallback=0.25)
    with pytest.raises(CascadeError) as raised:
        limits.check_covers(["age", "amount", "country"], "/x/calibration")
    assert str(raised.value) == (
        "the skew calibration /x/calibration has no feature 'country' (it covers age, amount): "
        "it was not made for this model's features"
    )
    # A feature too sparse to calibrate gets the fixed fallback, and the heading says so.
    assert limits.for_feature("amount", 500) == 0.25
    assert limits.describe().endswith("; amount: too sparse in training to calibrate, fixed 0.25")
    with pytest.raises(
        CascadeError, match=r"the skew calibration of this model has no feature 'country'"
    ):
        skew.compare(
            training, _stats(_rows(2, 200)), COLUMNS, skew.CalibratedThresholds(partial, 0.001, 100)
        )
