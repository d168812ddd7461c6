"""SkewCalibration: Poisson resamples from content hashes, the Beam job, the executor."""

from __future__ import annotations

import json
import os
import math
import random
from collections import Counter

import numpy as np
import pytest
import tensorflow as tf
from tfx.types import artifact_utils, standard_artifacts

from components.common import content_hash
from components.skew_calibration import executor, resample, spec
from components.skew_calibration.component import SkewCalibration
from validation import calibration, statistics
from tests import local_beam

SEED = 11
FEATURES = ["country", "age"]


def _record(index: int, country: str, age: int | None) -> bytes:
    example = tf.train.Example()
    features = example.features.feature
    features["id"].int64_list.value.append(index)
    features["country"].bytes_list.value.append(country.encode())
    if age is not None:
        features["age"].int64_list.value.append(age)
    return example.SerializeToString()


def _records(n: int, seed: int = 5) -> list[bytes]:
    rng = random.Random(seed)
    return [
        _record(i, rng.choice(["US", "DE", "FR"]), None if i % 10 == 0 else rng.randint(18, 70))
        for i in range(n)
    ]


def test_poisson_cdf_is_the_poisson_distribution():
    cdf = resample.poisson_cdf(0.25)
    assert cdf[0] == pytest.approx(math.exp(-0.25))
    assert cdf[2] == pytest.approx(math.exp(-0.25) * (1 + 0.25 + 0.25**2 / 2))
    assert cdf[-1] == pytest.approx(1.0)
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match=rf"Poisson rate {bad} is not in \(0, 1\]"):
            resample.poisson_cdf(bad)


def test_draws_follow_poisson_and_depend_on_the_row_and_the_salt_only():
    hashes = np.arange(1, 200_001, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    cdf = resample.poisson_cdf(0.5)
    salts = np.array([resample.salt(0, 0), resample.salt(0, 1)], dtype=np.uint64)
    counts, other = resample.draw_counts(hashes, cdf, salts)
    assert counts.mean() == pytest.approx(0.5, abs=0.01)
    assert (counts == 0).mean() == pytest.approx(math.exp(-0.5), abs=0.01)
    shuffled = np.random.default_rng(1).permutation(len(hashes))
    [again] = resample.draw_counts(hashes[shuffled], cdf, salts[:1])
    assert (again == counts[shuffled]).all()
    # Each resample's draws depend on its own salt only, not on the others drawn with it.
    [alone] = resample.draw_counts(hashes, cdf, salts[1:])
    assert (alone == other).all()
    assert np.corrcoef(counts, other)[0, 1] == pytest.approx(0.0, abs=0.01)


def _resamples(batches: list[list[bytes]], sizes, split_rows, resamples) -> dict:
    gathered: dict = {}
    for batch in batches:
        for key, records in resample.resample_batch(batch, SEED, sizes, split_rows, resamples):
            gathered.setdefault(key, Counter()).update(records)
    return gathered


def test_resamples_do_not_depend_on_how_the_split_is_batched():
    records = _records(3_000)
    whole = _resamples([records], (100, 1_000), 3_000, 3)
    shuffled = random.Random(2).sample(records, len(records))
    in_parts = _resamples([shuffled[i : i + 7] for i in range(0, 3_000, 7)], (100, 1_000), 3_000, 3)
    assert whole == in_parts
    assert sorted(whole) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    for (size_index, _), drawn in whole.items():
        size = (100, 1_000)[size_index]
        assert abs(sum(drawn.values()) - size) < 5 * math.sqrt(size)
    assert whole[(0, 0)] != whole[(0, 1)]
    # The seed is the content hash's: another seed draws other resamples.
    other = Counter()
    for _, drawn in resample.resample_batch(records, SEED + 1, (100,), 3_000, 1):
        other.update(drawn)
    assert other != whole[(0, 0)]


def test_resample_hashes_are_the_content_hashes():
    records = _records(50)
    expected = np.asarray(content_hash.record_hashes(records, SEED), dtype=np.uint64)
    cdf = resample.poisson_cdf(1.0)
    [counts] = resample.draw_counts(expected, cdf, np.array([resample.salt(0, 0)], dtype=np.uint64))
    [(key, drawn)] = list(resample.resample_batch(records, SEED, (50,), 50, 1))
    assert key == (0, 0)
    assert Counter(drawn) == Counter({records[i]: int(c) for i, c in enumerate(counts) if c})


def _artifacts(tmp_path, records: list[bytes]):
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    examples.split_names = artifact_utils.encode_split_names(["train", "test"])
    for split in ("train", "test"):
        folder = tmp_path / "examples" / f"Split-{split}"
        folder.mkdir(parents=True)
        with tf.io.TFRecordWriter(str(folder / "data.gz"), options="GZIP") as writer:
            for record in records:
                writer.write(record)
    accumulator = statistics.StatisticsAccumulator(
        [
            statistics_column("country", "string"),
            statistics_column("age", "int64"),
            statistics_column("id", "int64"),
        ]
    )
    accumulator.add(records)
    stats = standard_artifacts.ExampleStatistics()
    stats.uri = str(tmp_path / "statistics")
    stats.split_names = artifact_utils.encode_split_names(["train", "test"])
    path = statistics.split_stats_path(stats.uri, "train")
    (tmp_path / "statistics" / "Split-train").mkdir(parents=True)
    with open(path, "wb") as f:
        f.write(accumulator.result().SerializeToString())
    output = spec.SkewCalibrationArtifact()
    output.uri = str(tmp_path / "calibration")
    return stats, examples, output


def statistics_column(name: str, dtype: str):
    from models.raw_features import RawColumn

    return RawColumn(name, dtype, required=False)


def _run(stats, examples, output, features=FEATURES, split="train", resamples=20):
    executor.Executor(
        local_beam.executor_context(os.path.join(os.path.dirname(output.uri), "beam_tmp"))
    ).Do(
        {spec.STATISTICS_KEY: [stats], spec.EXAMPLES_KEY: [examples]},
        {spec.CALIBRATION_KEY: [output]},
        {
            spec.FEATURES_KEY: json.dumps(features),
            spec.SPLIT_KEY: split,
            spec.SEED_KEY: SEED,
            spec.RESAMPLES_KEY: resamples,
        },
    )


def test_the_executor_measures_every_resample_with_the_skew_checks_distance(tmp_path):
    records = _records(400)
    stats, examples, output = _artifacts(tmp_path, records)
    _run(stats, examples, output)
    result = calibration.read_calibration(output.uri)
    assert (result.seed, result.resamples, result.training_rows) == (SEED, 20, 400)
    assert sorted(result.features) == sorted(FEATURES)
    country, age = result.features["country"], result.features["age"]
    assert (country.measure, age.measure) == ("L-infinity", "Jensen-Shannon")
    assert (country.training_values, age.training_values) == (400, 360)
    assert [p.rows for p in country.points] == [100, 300, 400]
    assert all(p.resamples == 20 for p in country.points + age.points)
    # Age is missing in a tenth of the rows: fewer values per resample than rows.
    assert [round(p.values / p.rows, 1) for p in age.points] == [0.9, 0.9, 0.9]
    # Larger resamples lie closer to the training data.
    means = [p.mean for p in country.points]
    assert means == sorted(means, reverse=True) and means[-1] > 0
    lines = (tmp_path / "calibration" / executor.DISTANCES_FILE).read_text().splitlines()
    assert len(lines) == 2 * 3 * 20
    properties = {k: v.string_value for k, v in output.mlmd_artifact.custom_properties.items()}
    assert properties == {
        "seed": str(SEED),
        "resamples": "20",
        "resample_sizes": "[100, 300, 400]",
        "training_rows": "400",
        "features": '["age", "country"]',
        "uncalibrated": "[]",
    }
    # Same data and seed: the same calibration, byte for byte.
    again = spec.SkewCalibrationArtifact()
    again.uri = str(tmp_path / "again")
    _run(stats, examples, again)
    assert (tmp_path / "again" / "calibration.json").read_bytes() == (
        tmp_path / "calibration" / "calibration.json"
    ).read_bytes()


def test_the_executor_names_a_feature_the_statistics_lack(tmp_path):
    stats, examples, output = _artifacts(tmp_path, _records(50))
    with pytest.raises(
        executor.CalibrationInputError,
        match=r"SkewCalibration: feature 'income' is not in the training statistics .*statistics",
    ):
        _run(stats, examples, output, features=["country", "income"])
    with pytest.raises(
        ValueError,
        match=r"Invalid split name 'dev': it is not in input artifact .*splits: train, test",
    ):
        _run(stats, examples, output, split="dev")


def test_the_component_refuses_no_features_and_too_few_resamples():
    from tfx import v1 as tfx

    statistics_channel = tfx.dsl.Channel(type=standard_artifacts.ExampleStatistics)
    examples_channel = tfx.dsl.Channel(type=standard_artifacts.Examples)
    with pytest.raises(ValueError, match="SkewCalibration: no features to calibrate"):
        SkewCalibration(statistics_channel, examples_channel, features=[])
    with pytest.raises(ValueError, match="resamples is 1; at least 2 are needed"):
        SkewCalibration(statistics_channel, examples_channel, features=["a"], resamples=1)
    component = SkewCalibration(statistics_channel, examples_channel, features=["a", "b"], seed=4)
    assert component.exec_properties[spec.FEATURES_KEY] == '["a", "b"]'
    assert component.exec_properties[spec.RESAMPLES_KEY] == calibration.DEFAULT_RESAMPLES


def test_the_store_reads_calibrations_by_the_components_own_type_name():
    from metadata import names

    assert spec.SkewCalibrationArtifact.TYPE_NAME == names.SKEW_CALIBRATION
