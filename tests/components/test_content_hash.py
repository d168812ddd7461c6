"""The batched content hash and strata equal the per-example definitions.

StratifiedSplit places single examples by `units.batch_strata_and_positions`,
which decodes a batch into columns and hashes them with NumPy; the in-memory
reference and the rare undecodable batch use `content_hash.example_hash` and
`units.stratum_of` on each parsed example. These tests check the two agree on
every shape a feature can take, and that the hash sees content, not bytes.
"""

from __future__ import annotations

from collections import Counter

import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from components.common import columns, content_hash
from components.stratified_split import units
from tests.components.example_bytes import reversed_feature_order
from tests.components.example_strategies import batches, example_bytes

SEEDS = st.integers(0, 2**128 - 1)


def _reference(records, seed):
    return [content_hash.example_hash(tf.train.Example.FromString(r), seed) for r in records]


@settings(max_examples=300, deadline=None)
@given(batches, SEEDS)
def test_batch_hashes_equal_the_per_example_hash(batch, seed):
    # Batches mixing a feature's types take the per-record path; the rest the columnar one.
    assert content_hash.record_hashes(batch, seed) == _reference(batch, seed)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.binary(max_size=300), st.lists(st.binary(max_size=40), max_size=5)),
        min_size=1,
        max_size=6,
    ),
    SEEDS,
)
def test_long_values_and_lists_hash_alike_both_ways(rows, seed):
    batch = [
        example_bytes({"text": ("bytes", [text]), "tokens": ("bytes", tokens)})
        for text, tokens in rows
    ]
    decoded = columns.decode(batch)
    assert decoded is not None
    assert content_hash.batch_hashes(decoded, seed).tolist() == _reference(batch, seed)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=40), min_size=1, max_size=8), SEEDS)
def test_text_hashed_in_small_windows_and_blocks_hashes_alike(texts, seed):
    # Windows of 7 bytes and blocks of 4: values straddle windows and span blocks.
    batch = [example_bytes({"text": ("bytes", [text])}) for text in texts]
    decoded = columns.decode(batch)
    window, block = content_hash.WINDOW_BYTES, content_hash.BLOCK
    content_hash.WINDOW_BYTES, content_hash.BLOCK = 7, 4
    try:
        hashes = content_hash.batch_hashes(decoded, seed).tolist()
    finally:
        content_hash.WINDOW_BYTES, content_hash.BLOCK = window, block
    assert hashes == _reference(batch, seed)


def test_a_sliced_batch_hashes_as_its_rows_do():
    batch = [
        example_bytes({"a": ("int64", [i, i + 1]), "b": ("bytes", [b"x" * i]), "c": ("float", [i])})
        for i in range(10)
    ]
    decoded = columns.decode(batch)
    whole = content_hash.batch_hashes(decoded, 7).tolist()
    assert content_hash.batch_hashes(decoded.slice(3, 5), 7).tolist() == whole[3:8]


def test_the_hash_sees_content_not_byte_order():
    record = example_bytes({"a": ("bytes", [b"x"]), "label": ("int64", [1]), "z": ("float", [0.5])})
    backward = reversed_feature_order(record)
    assert backward != record
    assert (
        content_hash.record_hashes([record, backward], 3)
        == [content_hash.record_hashes([record], 3)[0]] * 2
    )


@pytest.mark.parametrize(
    "other",
    [
        {"a": ("bytes", [b"y"])},  # another value
        {"a": ("bytes", [b"x", b""])},  # one more (empty) value
        {"a": ("int64", [120])},  # same byte (x is 120), another kind
        {"b": ("bytes", [b"x"])},  # another name
        {"a": ("bytes", [b"x"]), "b": ("bytes", [])},  # one more, empty, feature
    ],
)
def test_the_hash_tells_contents_apart(other):
    base = example_bytes({"a": ("bytes", [b"x"])})
    assert content_hash.record_hashes([base], 1) != content_hash.record_hashes(
        [example_bytes(other)], 1
    )


def test_kindless_features_count_as_absent_and_the_last_setting_wins():
    plain = example_bytes({"a": ("int64", [1])})
    kindless = example_bytes({"a": ("int64", [1]), "b": ("kindless", None)})
    set_twice = example_bytes({"a": ("int64", [5])}) + plain
    hashes = content_hash.record_hashes([plain, kindless, set_twice], 9)
    assert hashes == [hashes[0]] * 3


def test_positions_spread_evenly_over_the_top_bits():
    batch = [
        example_bytes({"id": ("int64", [i]), "label": ("int64", [i % 2])}) for i in range(16384)
    ]
    positions = content_hash.record_hashes(batch, 42)
    assert len(set(positions)) == len(positions)
    per_bucket = Counter(p >> 60 for p in positions)  # 16 buckets of ~1,024
    assert len(per_bucket) == 16
    assert all(900 < n < 1150 for n in per_bucket.values()), per_bucket
    assert content_hash.record_hashes(batch[:100], 43) != positions[:100]


stratified = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "label": st.one_of(
                st.tuples(st.just("int64"), st.lists(st.integers(0, 1), max_size=1)),
                st.tuples(st.just("float"), st.lists(st.sampled_from([0.0, 1.0, 0.5]), max_size=1)),
                st.tuples(
                    st.just("bytes"), st.lists(st.sampled_from([b"yes", b"\xff"]), max_size=1)
                ),
                st.just(("kindless", None)),
            ),
            "source": st.tuples(
                st.just("bytes"), st.lists(st.sampled_from([b"web", b"app"]), max_size=1)
            ),
            "x": st.tuples(
                st.just("int64"), st.lists(st.integers(-(2**63), 2**63 - 1), max_size=3)
            ),
        },
    ).map(example_bytes),
    min_size=1,
    max_size=10,
)


@settings(max_examples=200, deadline=None)
@given(stratified, st.sampled_from([(), ("source",), ("source", "x")]))
def test_batch_strata_and_positions_equal_each_example_unit(batch, stratify_by):
    def per_record():
        return [units.example_unit(r, "label", stratify_by, 11)[:2] for r in batch]

    try:
        expected = per_record()
    except ValueError as e:  # a key with several values
        with pytest.raises(ValueError, match="stratifying needs one"):
            units.batch_strata_and_positions(batch, "label", stratify_by, 11)
        assert "stratifying needs one" in str(e)
        return
    assert units.batch_strata_and_positions(batch, "label", stratify_by, 11) == expected
