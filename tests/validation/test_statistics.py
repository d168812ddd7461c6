"""Raw columns decoded once, and TFDV statistics of records or of their decoded batches."""

from __future__ import annotations

import os
import pickle
import random

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import pyarrow as pa  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from hypothesis import given, settings  # noqa: E402

from components.common import columns  # noqa: E402
from models.raw_features import FLOAT, INT64, STRING, RawColumn  # noqa: E402
from tests.components.example_strategies import batches  # noqa: E402
from validation import statistics  # noqa: E402

COLUMNS = [
    RawColumn("country", STRING, required=False),
    RawColumn("age", INT64, required=False),
    RawColumn("amount", FLOAT, required=False),
]
# Names of tests.components.example_strategies, typed; "never" is in no record.
STRATEGY_COLUMNS = [
    RawColumn("signup_ts", INT64, required=False),
    RawColumn("source", STRING, required=False),
    RawColumn("label", FLOAT, required=False),
    RawColumn("never", INT64, required=False),
]


def _example(index: int, rng: random.Random) -> bytes:
    example = tf.train.Example()
    features = example.features.feature
    features["country"].bytes_list.value.append(rng.choice([b"US", b"DE", b"FR", b"\xff"]))
    if index % 10:
        features["age"].int64_list.value.extend([rng.randint(18, 70)] * (index % 3))
    if index % 7 == 0:
        features["age"].Clear()
    features["amount"].float_list.value.append(rng.lognormvariate(0, 2))
    features["other"].int64_list.value.append(index)
    return example.SerializeToString()


def _examples(n: int) -> list[bytes]:
    rng = random.Random(7)
    return [_example(i, rng) for i in range(n)]


@settings(max_examples=300, deadline=None)
@given(batches)
def test_the_columns_of_a_whole_decode_are_the_columns_decode_gives(batch):
    decoder = statistics.RawDecoder(STRATEGY_COLUMNS)
    whole = columns.decode(batch)
    taken = None if whole is None else decoder.from_whole(whole)
    if taken is not None:
        assert taken.equals(decoder.decode(batch))
        assert taken.schema.equals(decoder.arrow_schema, check_metadata=True)
    elif whole is not None:
        # A column of another type: decode rejects the records holding it.
        with pytest.raises(RuntimeError, match="Feature had wrong type"):
            decoder.decode(batch)


def test_a_rejected_record_is_named_and_the_decoder_decodes_the_next_batch_afresh():
    decoder = statistics.RawDecoder(COLUMNS)
    good = _examples(20)
    example = tf.train.Example.FromString(good[0])
    example.features.feature["age"].bytes_list.value.append(b"old")
    with pytest.raises(
        RuntimeError, match='expected int64_list, found bytes_list for feature "age"'
    ):
        decoder.decode([*good, example.SerializeToString()])
    with pytest.raises(RuntimeError, match="Unable to parse example"):
        decoder.decode([b"\xff not an example"])
    assert decoder.decode(good).equals(statistics.RawDecoder(COLUMNS).decode(good))


def _statistics(inputs: list, flush_rows: int = 64):
    combine = statistics.StatisticsCombineFn(COLUMNS, flush_rows)
    accumulator = combine.create_accumulator()
    for rows in inputs:
        accumulator = combine.add_input(accumulator, rows)
    return combine.extract_output(accumulator)


def test_decoded_batches_give_the_statistics_their_records_give():
    records = _examples(700)
    decoder = statistics.RawDecoder(COLUMNS)
    decoded = decoder.decode(records)
    # Shares of up to 40 rows, some rows repeated, as a resample's are.
    rng = random.Random(3)
    shares = [sorted(rng.choices(range(700), k=rng.randint(0, 40))) for _ in range(60)]
    from_records = _statistics([[records[i] for i in share] for share in shares])
    from_batches = _statistics([decoded.take(pa.array(share, pa.int64())) for share in shares])
    assert from_batches == from_records
    assert from_records.datasets[0].num_examples == sum(len(s) for s in shares)


def test_merged_and_compacted_accumulators_keep_their_rows_and_statistics():
    records = _examples(300)
    decoded = statistics.RawDecoder(COLUMNS).decode(records)
    combine = statistics.StatisticsCombineFn(COLUMNS, 1024)
    parts = []
    for start, share in ((0, 100), (100, 50), (200, 20)):
        accumulator = combine.create_accumulator()
        for row in range(start, start + 100, share):
            accumulator = combine.add_input(accumulator, decoded.slice(row, share))
        compacted = combine.compact(accumulator)
        assert len(compacted.pending) == 1 and compacted.rows == 100
        # A compacted slice pickles its own rows, not the whole decoded batch.
        assert len(pickle.dumps(compacted)) < len(pickle.dumps(decoded)) / 2
        parts.append(pickle.loads(pickle.dumps(compacted)))
    merged = combine.merge_accumulators(parts)
    assert combine.extract_output(merged) == _statistics([records], flush_rows=1024)


def test_a_record_batch_of_other_columns_is_refused():
    other = statistics.RawDecoder(COLUMNS[:2]).decode(_examples(3))
    with pytest.raises(ValueError, match=r"columns \['country', 'age'\].*not decoded with"):
        _statistics([other])
