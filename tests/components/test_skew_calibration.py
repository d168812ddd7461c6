"""SkewCalibration: Poisson resamples from content hashes, the Beam job, the executor."""

from __future__ import annotations

import json
import os
import math
import random
from collections import Counter

import numpy as np
import pyarrow as pa
import pytest
import tensorflow as tf
from google.protobuf import message
from hypothesis import given, settings
from hypothesis import strategies as st
from tfx.types import artifact_utils, standard_artifacts

from components.common import content_hash
from components.skew_calibration import beam_calibration, executor, resample, spec
from components.skew_calibration.component import SkewCalibration
from models.raw_features import FLOAT, INT64, STRING, RawColumn
from validation import calibration, statistics
from tests import local_beam
from tests.components.example_strategies import batches

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


# The id column names each row's record (`_record`'s index).
COLUMNS = [
    RawColumn("country", STRING, required=False),
    RawColumn("age", INT64, required=False),
    RawColumn("id", INT64, required=False),
]
DECODER = statistics.RawDecoder(COLUMNS)


def _as_records(share: pa.RecordBatch, records: list[bytes]) -> list[bytes]:
    """A share's rows as the records (of `records`) they were decoded from, found by id."""
    by_id = {
        tf.train.Example.FromString(r).features.feature["id"].int64_list.value[0]: r
        for r in records
    }
    return [by_id[i] for i in share.column("id").flatten().to_pylist()]


def _draw(records, seed, sizes, split_rows, resamples, decoder=DECODER):
    return resample.resample_batch(records, seed, sizes, split_rows, resamples, decoder)


def _resamples(batches: list[list[bytes]], sizes, split_rows, resamples) -> dict:
    gathered: dict = {}
    for batch in batches:
        for key, share in _draw(batch, SEED, sizes, split_rows, resamples):
            gathered.setdefault(key, Counter()).update(_as_records(share, batch))
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
    for _, share in _draw(records, SEED + 1, (100,), 3_000, 1):
        other.update(_as_records(share, records))
    assert other != whole[(0, 0)]


def test_resample_hashes_are_the_content_hashes():
    records = _records(50)
    expected = np.asarray(content_hash.record_hashes(records, SEED), dtype=np.uint64)
    cdf = resample.poisson_cdf(1.0)
    [counts] = resample.draw_counts(expected, cdf, np.array([resample.salt(0, 0)], dtype=np.uint64))
    [(key, share)] = list(_draw(records, SEED, (50,), 50, 1))
    drawn = _as_records(share, records)
    assert key == (0, 0)
    assert Counter(drawn) == Counter({records[i]: int(c) for i, c in enumerate(counts) if c})


def _reference_shares(records, seed, sizes, split_rows, resamples) -> dict:
    """Each resample's share of a batch as its records, by the draws' definition."""
    hashes = np.asarray(content_hash.record_hashes(records, seed), dtype=np.uint64)
    shares = {}
    for size_index, size in enumerate(sizes):
        salts = np.array([resample.salt(size_index, r) for r in range(resamples)], dtype=np.uint64)
        counts = resample.draw_counts(hashes, resample.poisson_cdf(size / split_rows), salts)
        for replicate, row_counts in enumerate(counts):
            if row_counts.any():
                rows = np.repeat(np.arange(len(records)), row_counts)
                shares[(size_index, replicate)] = [records[i] for i in rows]
    return shares


# Names of tests.components.example_strategies, typed: its batches hold them
# with these types, with others, and mixed.
STRATEGY_DECODER = statistics.RawDecoder(
    [
        RawColumn("signup_ts", INT64, required=False),
        RawColumn("source", STRING, required=False),
        RawColumn("label", FLOAT, required=False),
    ]
)


@settings(max_examples=300, deadline=None)
@given(batches, st.integers(0, 2**128 - 1))
def test_a_share_is_its_drawn_records_decoded_and_fails_where_they_fail(batch, seed):
    # Resamples of 1 and 4 rows of a split of 16 leave many records undrawn.
    expected = _reference_shares(batch, seed, (1, 4), 16, 2)
    drawn = [record for share in expected.values() for record in share]
    try:
        if drawn:
            STRATEGY_DECODER.decode(drawn)
    except RuntimeError:
        # The statistics of these records failed on the same record.
        with pytest.raises(RuntimeError, match="Feature had wrong type"):
            list(_draw(batch, seed, (1, 4), 16, 2, STRATEGY_DECODER))
        return
    shares = dict(_draw(batch, seed, (1, 4), 16, 2, STRATEGY_DECODER))
    assert sorted(shares) == sorted(expected)
    for key, share in shares.items():
        assert share.equals(STRATEGY_DECODER.decode(expected[key]))


def test_decoded_shares_give_the_statistics_their_records_give():
    combine = statistics.StatisticsCombineFn(COLUMNS, beam_calibration.RESAMPLE_BUFFER_ROWS)
    sizes, records = (100, 1_000, 3_000), _records(3_000)
    from_shares: dict = {}
    from_records: dict = {}
    for start in range(0, 3_000, 700):
        batch = records[start : start + 700]
        for key, share in _draw(batch, SEED, sizes, 3_000, 4):
            from_shares[key] = combine.add_input(
                from_shares.get(key) or combine.create_accumulator(), share
            )
        for key, share in _reference_shares(batch, SEED, sizes, 3_000, 4).items():
            from_records[key] = combine.add_input(
                from_records.get(key) or combine.create_accumulator(), share
            )
    assert sorted(from_shares) == sorted(from_records)
    for key, accumulator in from_shares.items():
        statistics_of_shares = combine.extract_output(accumulator)
        assert statistics_of_shares == combine.extract_output(from_records[key])


def test_a_record_that_is_not_an_example_fails_the_draws():
    with pytest.raises(message.DecodeError, match="tensorflow.Example"):
        list(_draw([*_records(5), b"\xff not an example"], SEED, (3,), 6, 2))


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
