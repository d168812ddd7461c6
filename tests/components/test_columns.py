"""Columnar reading of batches: the same answers as reading each record on its own.

CleanExamples reads the few features their rules need from a
whole batch at once (`columns.decode`, `columns.ListColumn`), and falls back to
parsing record by record where the columnar decoder cannot serve. These property tests generate
batches with every shape a feature can take (absent, present without a kind,
empty, one or several values of each type, text that is or is not a number or
UTF-8, a record setting a feature twice, one feature of two types in a batch)
and check the batched readers against the per-record ones.
"""

from __future__ import annotations

import math

import pyarrow as pa
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from components.clean_examples import beam_clean
from components.clean_examples.id_map import IdMap
from components.clean_examples.options import CleanOptions
from components.common import columns
from components.common.example_features import canonical_bytes, text_of
from tests.components.example_strategies import NAMES, batches, example_bytes

OPTIONS = [
    CleanOptions(
        id_key="user_id",
        required_columns=("employment_status", "other"),
        keep_latest_by="signup_ts",
        label="label",
    ),
    CleanOptions(required_columns=("user_id",)),
    CleanOptions(id_key="user_id", label="label", label_classes=("u1", "12", "web")),
]
# u1 -> u2 -> 12: a chain; "web" -> itself is no alias.
ALIASES = {"u1": "u2", "u2": "12", "web": "web"}
ID_MAP = IdMap.of(ALIASES)


def _per_record(batch: list[bytes], options: CleanOptions) -> list[tuple]:
    """Each record's verdict, timestamp and label, read on its own."""
    found = []
    for record in batch:
        view = beam_clean.view_of_record(record, options)
        reason, canonical = beam_clean.verdict(view, ALIASES, options)
        if reason is None:
            found.append((reason, canonical, _text(view.timestamp), view.label))
        else:
            found.append((reason, canonical, None, None))
    return found


def _batched(verdicts: beam_clean.BatchVerdicts) -> list[tuple]:
    return [
        (reason, canonical, _text(timestamp), label)
        for reason, canonical, timestamp, label in zip(*verdicts)
    ]


def _text(timestamp):
    # NaN compares unequal to itself; compare its text.
    return "nan" if timestamp is not None and math.isnan(timestamp) else timestamp


@settings(max_examples=300, deadline=None)
@given(batches, st.sampled_from(OPTIONS))
def test_verdicts_of_a_batch_equal_verdicts_of_each_record(batch, options):
    verdicts = beam_clean.verdicts_of_batch(batch, ID_MAP, options)
    assert _batched(verdicts) == _per_record(batch, options)


@pytest.mark.parametrize(
    "values",
    [
        pa.array([1, None, 3]),
        pa.array([1, 2], type=pa.int64()),
        pa.array([1.5, None], type=pa.float32()),
        pa.array([0.25, float("nan")], type=pa.float32()),
        pa.array(["a", None, "é"], type=pa.large_string()),
        pa.array([b"\xff", None], type=pa.large_binary()),
        pa.array([b"x"], type=pa.binary()),
        pa.array([None, None]),
        pa.array([], type=pa.large_string()),
        pa.array([True, None]),
        pa.array([True, False]),
        pa.array([0.1, 2.5], type=pa.float64()),
        pa.array([7, 8, 9, 10], type=pa.int64()).slice(1, 2),
        pa.array(["a", None, "b", "c"], type=pa.large_string()).slice(1, 3),
    ],
)
def test_python_list_gives_what_to_pylist_gives(values):
    found, expected = columns.python_list(values), values.to_pylist()
    assert repr(found) == repr(expected)
    assert [type(v) for v in found] == [type(v) for v in expected]


def test_canonical_bytes_keep_one_setting_of_a_feature_set_twice():
    once = example_bytes({"user_id": ("bytes", [b"u2"])})
    twice = example_bytes({"user_id": ("bytes", [b"u1"])}) + once
    assert canonical_bytes(tf.train.Example.FromString(twice)) == once


def test_row_values_tell_absent_kindless_empty_and_values_apart():
    batch = [
        example_bytes({"a": ("int64", [3, 4])}),
        example_bytes({"a": ("kindless", None)}),
        example_bytes({"a": ("int64", [])}),
        example_bytes({"b": ("bytes", [b"x"])}),
    ]
    decoded = columns.decode(batch)
    assert {name: columns.ListColumn(decoded, name).row_values() for name in "abc"} == {
        "a": [[3, 4], None, [], None],
        "b": [None, None, None, [b"x"]],
        "c": [None, None, None, None],
    }


def test_decode_declines_a_batch_mixing_a_feature_s_types():
    batch = [example_bytes({"a": ("int64", [1])}), example_bytes({"a": ("bytes", [b"1"])})]
    assert columns.decode(batch) is None
    assert columns.decode([b"not a tf.Example"]) is None


@settings(max_examples=300, deadline=None)
@given(batches)
def test_first_texts_are_text_of_each_row_s_first_value(batch):
    decoded = columns.decode(batch)
    if decoded is None:  # a feature of two types: the callers read record by record
        return
    for name in NAMES:
        column = columns.ListColumn(decoded, name)
        expected = [text_of(values[0]) if values else None for values in column.row_values()]
        assert column.first_texts() == expected, name


@settings(max_examples=300, deadline=None)
@given(st.lists(batches, min_size=1, max_size=4), st.sampled_from(OPTIONS))
def test_a_narrow_decoder_kept_across_batches_gives_the_verdicts_of_each_record(sequence, options):
    # The first batch typing every rule feature narrows the decoder; later
    # batches may hold those features with other types, or none.
    decoder = beam_clean.rule_decoder(options)
    for batch in sequence:
        verdicts = beam_clean.verdicts_of_batch(batch, ID_MAP, options, decoder)
        assert _batched(verdicts) == _per_record(batch, options)


def test_a_narrow_decoder_reads_only_the_wanted_features_once_typed():
    decoder = columns.NarrowDecoder(["a", "b"], whole_if_present=["tag"])
    typed = [example_bytes({"a": ("int64", [1]), "b": ("bytes", [b"x"]), "c": ("float", [1.0])})]
    assert set(decoder.decode(typed).schema.names) == {"a", "b", "c"}
    assert decoder.decode(typed).schema.names == ["a", "b"]
    # Another type for a wanted feature, or a record naming a marker: the whole batch.
    retyped = [example_bytes({"a": ("float", [1.5]), "c": ("float", [2.0])})]
    assert set(decoder.decode(retyped).schema.names) == {"a", "c"}
    marked = [
        example_bytes({"a": ("int64", [2]), "b": ("bytes", [b"y"]), "tag": ("bytes", [b"t"])})
    ]
    assert set(decoder.decode(marked).schema.names) == {"a", "b", "tag"}
    # The failed narrow decode left nothing behind: the next batch decodes right.
    assert decoder.decode(typed).to_pydict() == {"a": [[1]], "b": [[b"x"]]}
    # A longer name, or a longer value holding the marker's text, is no marker.
    lookalike = [
        example_bytes(
            {"a": ("int64", [3]), "b": ("bytes", [b"a tag"]), "tagline": ("bytes", [b"x"])}
        )
    ]
    assert decoder.decode(lookalike).schema.names == ["a", "b"]


def test_a_narrow_decoder_waits_for_a_batch_typing_every_wanted_feature():
    decoder = columns.NarrowDecoder(["a", "b"])
    only_a = [example_bytes({"a": ("int64", [1]), "c": ("int64", [3])})]
    assert set(decoder.decode(only_a).schema.names) == {"a", "c"}
    assert set(decoder.decode(only_a).schema.names) == {"a", "c"}
