"""HashSplit's pure parts (fingerprints, bounds, bucketing, source tagging, counts)
and the component's construction. The executor runs in test_hash_split_executor.py."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import pytest
import tensorflow as tf
from tfx import v1 as tfx
from tfx.types import standard_artifacts

from components.common import counts, fingerprint
from components.common.fingerprint import fingerprint64, unit_interval
from components.hash_split import component, executor, split

KEYS = [f"record-{i:05d}".encode() for i in range(10_000)]


def make_example(**features: list) -> tf.train.Example:
    """Builds a tf.Example from {name: values}; the type is taken from the first value."""
    example = tf.train.Example()
    for name, values in features.items():
        feature = example.features.feature[name]
        if values and isinstance(values[0], bytes):
            feature.bytes_list.value.extend(values)
        elif values and isinstance(values[0], float):
            feature.float_list.value.extend(values)
        else:
            feature.int64_list.value.extend(values)
    return example


# --- fingerprint64 / unit_interval ---------------------------------------------------------


def test_fingerprint64_is_pinned_blake2b_value():
    # Changing the function reassigns every example of every pipeline; this pins it.
    assert fingerprint64(7, b"cascade") == 4910247302784482746
    digest = bytes.fromhex("bafdc901e8b32444")  # blake2b-64 of b"cascade", salt = seed 7
    assert fingerprint64(7, b"cascade") == int.from_bytes(digest, "little")


def test_fingerprint64_is_deterministic_across_calls():
    first = [fingerprint64(3, key) for key in KEYS[:500]]
    second = [fingerprint64(3, key) for key in KEYS[:500]]
    assert first == second
    # Distinct keys give distinct fingerprints (a collision in 500 draws of 2**64 is ~1e-14).
    assert len(set(first)) == 500


def test_fingerprint64_differs_by_seed():
    pairs = [(fingerprint64(0, key), fingerprint64(1, key)) for key in KEYS[:500]]
    assert all(a != b for a, b in pairs)
    assert fingerprint64(8, b"cascade") == 7853725113034995396


def test_fingerprint64_spans_zero_to_two_to_the_64():
    values = [fingerprint64(11, key) for key in KEYS]
    assert all(0 <= v < 2**64 for v in values)
    # All 64 bits are used: about half the values have the top bit set, some are tiny.
    top_bit = sum(v >= 2**63 for v in values)
    assert 4_800 <= top_bit <= 5_200
    assert min(values) < 2**56


def test_unit_interval_scales_fingerprint_to_unit_interval():
    for key in KEYS[:200]:
        u = unit_interval(5, key)
        assert 0.0 <= u < 1.0
        assert u == pytest.approx(fingerprint64(5, key) / 2**64, abs=2**-52)


@pytest.mark.parametrize("raw", [0, 1, 2**63, 2**64 - 2**11, 2**64 - 1])
def test_unit_interval_stays_below_one_at_extreme_fingerprints(monkeypatch, raw):
    # A float quotient of the top ~2**10 fingerprints by 2**64 rounds to 1.0, which would
    # put a record past the last bound (split_index == number of splits).
    monkeypatch.setattr(fingerprint, "fingerprint64", lambda seed, key: raw)
    u = unit_interval(0, b"x")
    assert 0.0 <= u < 1.0
    bounds = split.cumulative_bounds([0.5, 0.5])
    assert split.split_index(0, b"x", bounds) == (0 if raw < 2**63 else 1)


# --- cumulative_bounds ---------------------------------------------------------------------


def test_cumulative_bounds_are_running_sums():
    bounds = split.cumulative_bounds([0.6, 0.2, 0.2])
    assert bounds == pytest.approx([0.6, 0.8, 1.0])
    assert bounds[-1] == 1.0


@pytest.mark.parametrize("ratios", [[0.1] * 10, [1 / 3] * 3, [0.7, 0.1, 0.1, 0.1], [0.5, 0.5]])
def test_cumulative_bounds_last_is_exactly_one(ratios):
    bounds = split.cumulative_bounds(ratios)
    assert len(bounds) == len(ratios)
    assert bounds[-1] == 1.0
    assert bounds[:-1] == pytest.approx([sum(ratios[: i + 1]) for i in range(len(ratios) - 1)])


def test_cumulative_bounds_corrects_float_rounding_of_the_total():
    ratios = [0.1] * 10
    assert list(itertools.accumulate(ratios))[-1] == 0.9999999999999999  # plain running sum
    assert split.cumulative_bounds(ratios)[-1] == 1.0


def test_cumulative_bounds_does_not_modify_its_input():
    ratios = [0.1] * 10
    split.cumulative_bounds(ratios)
    assert ratios == [0.1] * 10


# --- split_index ---------------------------------------------------------------------------


def test_split_index_picks_the_first_bound_above_the_fingerprint():
    bounds = split.cumulative_bounds([0.6, 0.2, 0.2])
    lower = [0.0] + bounds[:-1]
    seen = set()
    for key in KEYS[:2_000]:
        index = split.split_index(7, key, bounds)
        u = unit_interval(7, key)
        assert lower[index] <= u < bounds[index]
        seen.add(index)
    assert seen == {0, 1, 2}


@pytest.mark.parametrize(
    "ratios", [[0.6, 0.2, 0.2], [0.8, 0.1, 0.1], [0.5, 0.5], [0.05, 0.9, 0.05]]
)
def test_split_index_proportions_match_ratios_within_two_percent(ratios):
    bounds = split.cumulative_bounds(ratios)
    tally = Counter(split.split_index(13, key, bounds) for key in KEYS)
    assert set(tally) == set(range(len(ratios)))
    for index, ratio in enumerate(ratios):
        assert abs(tally[index] / len(KEYS) - ratio) < 0.02, (index, tally)


def test_split_index_depends_on_seed_not_call_order():
    bounds = split.cumulative_bounds([0.5, 0.5])
    forward = {key: split.split_index(1, key, bounds) for key in KEYS[:1_000]}
    backward = {key: split.split_index(1, key, bounds) for key in reversed(KEYS[:1_000])}
    other_seed = {key: split.split_index(2, key, bounds) for key in KEYS[:1_000]}
    assert forward == backward
    moved = sum(forward[key] != other_seed[key] for key in forward)
    # Independent halves: about half the records change side (binomial sd ~16).
    assert 400 <= moved <= 600


# --- tag_source ----------------------------------------------------------------------------


def test_tag_source_adds_bytes_feature_and_keeps_others():
    original = make_example(x=[1.5], label=[1], id=[b"u1"])
    tagged = tf.train.Example.FromString(
        split.tag_source(original.SerializeToString(), "source", "web")
    )
    assert list(tagged.features.feature["source"].bytes_list.value) == [b"web"]
    del tagged.features.feature["source"]
    assert tagged == original


def test_tag_source_uses_the_given_feature_name():
    tagged = tf.train.Example.FromString(
        split.tag_source(make_example(x=[1.0]).SerializeToString(), "origin", "mobile")
    )
    assert sorted(tagged.features.feature) == ["origin", "x"]
    assert list(tagged.features.feature["origin"].bytes_list.value) == [b"mobile"]


def test_tag_source_is_idempotent_for_the_same_source():
    once = split.tag_source(make_example(x=[2.0], label=[0]).SerializeToString(), "source", "web")
    assert split.tag_source(once, "source", "web") == once


def test_tag_source_fills_an_empty_source_feature():
    example = make_example(x=[2.0])
    example.features.feature["source"].bytes_list.SetInParent()  # present, no value
    tagged = tf.train.Example.FromString(
        split.tag_source(example.SerializeToString(), "source", "partner")
    )
    assert list(tagged.features.feature["source"].bytes_list.value) == [b"partner"]


def test_tag_source_output_does_not_depend_on_feature_insertion_order():
    # Fingerprints are taken of these bytes, so equal examples must serialize equally.
    a = make_example(a=[1], b=[b"x"], c=[0.5], d=[7])
    b = make_example(d=[7], c=[0.5], b=[b"x"], a=[1])
    assert split.tag_source(a.SerializeToString(), "source", "web") == split.tag_source(
        b.SerializeToString(), "source", "web"
    )


@pytest.mark.parametrize(
    "existing",
    [
        {"source": [b"mobile"]},
        {"source": [b"web", b"mobile"]},
        {"source": [b"web", b"web"]},
        {"source": [3]},  # an int64 column named `source` must not be silently overwritten
        {"source": [0.5]},
    ],
    ids=["other-bytes", "two-values", "repeated", "int64", "float"],
)
def test_tag_source_rejects_a_conflicting_existing_value(existing):
    serialized = make_example(x=[1.0], **existing).SerializeToString()
    with pytest.raises(ValueError, match=r"already has a 'source' feature.*rename that column"):
        split.tag_source(serialized, "source", "web")


# --- counts.nest / read_counts -------------------------------------------------------------


def test_nest_groups_by_split_then_source():
    flat = {"train/web": 3, "train/mobile": 2, "dev/web": 1, "test/mobile": 4}
    assert counts.nest(flat) == {
        "train": {"web": 3, "mobile": 2},
        "dev": {"web": 1},
        "test": {"mobile": 4},
    }


def test_nest_keeps_flat_keys_and_splits_only_on_the_first_slash():
    assert counts.nest({"total": 9, "a/b/c": 2}) == {"total": 9, "a": {"b/c": 2}}
    assert counts.nest({}) == {}


def test_read_counts_of_a_missing_file_is_empty(tmp_path):
    assert counts.read_counts(str(tmp_path / "absent.json")) == {}
    assert counts.counts_path("/out/uri", "split_counts") == "/out/uri/split_counts.json"


# --- component -----------------------------------------------------------------------------


def make_component(**overrides) -> component.HashSplit:
    args = dict(
        examples=tfx.dsl.Channel(type=standard_artifacts.Examples),
        splits=[("train", 0.6), ("dev", 0.2), ("test", 0.2)],
        seed=1,
    )
    args.update(overrides)
    return component.HashSplit(**args)


def test_component_exec_properties_hold_the_arguments():
    hash_split = make_component()
    assert hash_split.exec_properties == {
        "splits": "train,dev,test",
        "ratios": "0.6,0.2,0.2",
        "seed": 1,
        "source_feature": "source",
    }
    assert hash_split.id == "HashSplit"
    assert list(hash_split.inputs) == ["examples"]
    assert list(hash_split.outputs) == ["split_examples"]
    assert hash_split.outputs["split_examples"].type == standard_artifacts.Examples
    assert hash_split.executor_spec.executor_class is executor.Executor


def test_component_ratios_round_trip_through_the_executor_parser():
    thirds = make_component(
        splits=[("a", 1 / 3), ("b", 1 / 3), ("c", 1 / 3)], seed=42, source_feature="origin"
    )
    assert thirds.exec_properties["seed"] == 42
    assert thirds.exec_properties["source_feature"] == "origin"
    names, ratios = executor._parse_splits(thirds.exec_properties)
    assert names == ["a", "b", "c"]
    assert ratios == [1 / 3, 1 / 3, 1 / 3]  # repr() round-trips floats exactly
    assert math.fsum(ratios) == pytest.approx(1.0)
