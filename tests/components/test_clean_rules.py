"""CleanExamples' pure parts: the rules, CleanOptions, and the tf.Example helpers.

No Beam here: every function is called on in-memory values with exact expected
results; survivor choice is also checked property-based (input order never matters).
"""

from __future__ import annotations

import json
import re

import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from components.clean_examples import rules
from components.clean_examples.options import RESERVED_FEATURES, CleanOptions
from components.clean_examples.rules import (
    DUPLICATE_MERGED,
    MAX_ALIAS_HOPS,
    MISSING_ID,
    SPAM,
    IdMapError,
    RowFacts,
    canonical_conflict,
    has_label_conflict,
    quarantine_reason,
    resolve_alias,
    survivor_index,
)
from components.common.example_features import (
    feature_values,
    numeric_value,
    single_value,
    string_features,
)


def make_example(**features: list) -> tf.train.Example:
    """A tf.Example from {name: values}; the list type follows the first value's type."""
    example = tf.train.Example()
    for name, values in features.items():
        feature = example.features.feature[name]
        if values and isinstance(values[0], bytes):
            feature.bytes_list.value.extend(values)
        elif values and isinstance(values[0], float):
            feature.float_list.value.extend(values)
        elif values:
            feature.int64_list.value.extend(values)
    return example


def row(
    source: str, timestamp: float | None, record: bytes = b"r", label: str | None = None
) -> RowFacts:
    return RowFacts(source=source, timestamp=timestamp, label=label, record=record)


# --- quarantine_reason ----------------------------------------------------------------------


def test_quarantine_reason_is_none_for_a_valid_row():
    assert quarantine_reason(True, []) is None
    assert quarantine_reason(True, ()) is None


def test_quarantine_reason_missing_id_comes_before_missing_columns():
    assert quarantine_reason(False, []) == "missing_id"
    assert quarantine_reason(False, ["email", "age"]) == MISSING_ID == "missing_id"


def test_quarantine_reason_names_the_first_missing_column_in_config_order():
    assert quarantine_reason(True, ["email"]) == "missing_required:email"
    assert quarantine_reason(True, ["email", "age"]) == "missing_required:email"
    assert quarantine_reason(True, ("age", "email")) == "missing_required:age"


def test_a_label_that_is_not_a_class_comes_after_missing_id_and_columns():
    assert quarantine_reason(True, [], label_is_a_class=False) == "label_not_a_class"
    assert quarantine_reason(True, ["email"], label_is_a_class=False) == "missing_required:email"
    assert quarantine_reason(False, [], label_is_a_class=False) == "missing_id"


def test_reason_constants_are_the_documented_strings():
    assert (SPAM, DUPLICATE_MERGED, rules.MISSING_REQUIRED, rules.KEPT) == (
        "spam",
        "duplicate_merged",
        "missing_required:",
        "kept",
    )
    assert rules.LABEL_NOT_A_CLASS == "label_not_a_class"


# --- resolve_alias ----------------------------------------------------------------------------


def test_resolve_alias_returns_an_unmapped_id_unchanged():
    assert resolve_alias("u1", {}) == "u1"
    assert resolve_alias("u1", {"other": "u2"}) == "u1"


def test_resolve_alias_follows_one_link_and_stops_at_the_canonical_id():
    aliases = {"m-u1": "u1"}
    assert resolve_alias("m-u1", aliases) == "u1"
    assert resolve_alias("u1", aliases) == "u1"


def test_resolve_alias_follows_chains_transitively():
    aliases = {"a": "b", "b": "c", "x": "a"}
    assert resolve_alias("x", aliases) == "c"
    assert resolve_alias("a", aliases) == "c"
    assert resolve_alias("b", aliases) == "c"
    assert resolve_alias("c", aliases) == "c"


def test_resolve_alias_treats_a_self_link_as_canonical():
    assert resolve_alias("u1", {"u1": "u1"}) == "u1"
    assert resolve_alias("a", {"a": "u1", "u1": "u1"}) == "u1"


def test_resolve_alias_two_cycle_names_both_ids_from_either_start():
    aliases = {"a": "b", "b": "a"}
    for start in ("a", "b"):
        with pytest.raises(IdMapError, match=re.escape("id map has a cycle: a -> b -> a")):
            resolve_alias(start, aliases)


@pytest.mark.parametrize("start", ["m", "k", "z", "t", "s"])
def test_resolve_alias_cycle_message_starts_at_the_smallest_id(start):
    # m -> k -> z -> m is a loop; t and s lead into it but are not part of it.
    aliases = {"m": "k", "k": "z", "z": "m", "t": "m", "s": "t"}
    with pytest.raises(IdMapError) as raised:
        resolve_alias(start, aliases)
    assert str(raised.value) == "id map has a cycle: k -> z -> m -> k"


def test_id_map_error_is_a_value_error():
    with pytest.raises(ValueError, match="id map has a cycle: a -> b -> a"):
        resolve_alias("a", {"a": "b", "b": "a"})


def test_resolve_alias_follows_a_chain_of_exactly_max_hops():
    chain = {f"n{i:03d}": f"n{i + 1:03d}" for i in range(MAX_ALIAS_HOPS)}
    assert resolve_alias("n000", chain) == f"n{MAX_ALIAS_HOPS:03d}"


def test_resolve_alias_rejects_a_chain_longer_than_max_hops():
    chain = {f"n{i:03d}": f"n{i + 1:03d}" for i in range(MAX_ALIAS_HOPS + 1)}
    with pytest.raises(IdMapError) as raised:
        resolve_alias("n000", chain)
    assert str(raised.value) == "id map chain from 'n000' is longer than 64 links"
    # From one link further down the chain is short enough again.
    assert resolve_alias("n001", chain) == f"n{MAX_ALIAS_HOPS + 1:03d}"


# --- canonical_conflict -----------------------------------------------------------------------


def test_canonical_conflict_is_none_for_one_canonical_even_if_repeated():
    assert canonical_conflict("a", ["b"]) is None
    assert canonical_conflict("a", ["b", "b", "b"]) is None
    assert canonical_conflict("a", []) is None


def test_canonical_conflict_names_the_alias_and_sorted_distinct_canonicals():
    message = canonical_conflict("a", ["q", "b", "q"])
    assert message == "id map maps alias 'a' to 2 canonical ids: 'b', 'q'"
    assert canonical_conflict("x", ["3", "1", "2"]) == (
        "id map maps alias 'x' to 3 canonical ids: '1', '2', '3'"
    )


# --- survivor_index ---------------------------------------------------------------------------


def test_survivor_is_the_most_recent_row():
    rows = [row("web", 10.0), row("mobile", 30.0), row("partner", 20.0)]
    assert survivor_index(rows, ("web", "mobile", "partner")) == 1


def test_survivor_single_row_is_index_zero():
    assert survivor_index([row("web", None)], ()) == 0


def test_a_missing_timestamp_is_the_oldest():
    rows = [row("web", None), row("partner", -5.0)]
    assert survivor_index(rows, ("web", "partner")) == 1
    rows = [row("web", None), row("partner", 0.0)]
    assert survivor_index(rows, ("web", "partner")) == 1


def test_recency_ties_go_to_the_first_source_in_priority():
    rows = [row("partner", 5.0), row("web", 5.0), row("mobile", 5.0)]
    assert survivor_index(rows, ("mobile", "web", "partner")) == 2
    assert survivor_index(rows, ("web", "mobile", "partner")) == 1


def test_rows_without_timestamps_are_ordered_by_priority():
    rows = [row("partner", None), row("web", None)]
    assert survivor_index(rows, ("web", "partner")) == 1
    assert survivor_index(rows, ("partner", "web")) == 0


def test_unlisted_sources_come_after_listed_ones_then_by_name():
    rows = [row("zeta", 1.0), row("alpha", 1.0), row("web", 1.0)]
    assert survivor_index(rows, ("web",)) == 2
    # Neither listed: by name.
    assert survivor_index(rows[:2], ("web",)) == 1
    assert survivor_index(rows[:2], ()) == 1


def test_full_ties_go_to_the_smallest_serialized_bytes():
    rows = [
        row("web", 1.0, b"\x02b"),
        row("web", 1.0, b"\x01z"),
        row("web", 1.0, b"\x02a"),
    ]
    assert survivor_index(rows, ("web",)) == 1


def test_a_nan_timestamp_is_the_oldest_whatever_the_order():
    nan, newer, older = (
        row("web", float("nan"), b"n"),
        row("web", 5.0, b"5"),
        row("web", 1.0, b"1"),
    )
    for rows in (
        [nan, newer, older],
        [newer, nan, older],
        [older, nan, newer],
        [nan, older, newer],
    ):
        assert rows[survivor_index(rows, ("web",))].record == b"5"
    # NaN ties with a missing timestamp; the priority then decides.
    rows = [row("partner", float("nan")), row("web", None)]
    assert survivor_index(rows, ("web", "partner")) == 1


ROWS = st.builds(
    RowFacts,
    source=st.sampled_from(["web", "mobile", "partner", "other"]),
    timestamp=st.one_of(st.none(), st.just(float("nan")), st.integers(0, 3).map(float)),
    label=st.none(),
    record=st.binary(min_size=0, max_size=3),
)


def identity(facts: RowFacts) -> tuple:
    """What the output shows of a row: its source and its bytes.

    (Real bytes hold the timestamp; here a NaN and a missing one may share bytes.)
    """
    return facts.source, facts.record


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(ROWS, min_size=1, max_size=8), data=st.data())
def test_survivor_record_does_not_depend_on_input_order(rows, data):
    priority = ("partner", "web")
    chosen = rows[survivor_index(rows, priority)]
    shuffled = data.draw(st.permutations(rows))
    assert identity(shuffled[survivor_index(shuffled, priority)]) == identity(chosen)
    # And it is a most recent row (missing or NaN only if no row has a timestamp).
    stamps = [r.timestamp for r in rows if r.timestamp is not None and r.timestamp == r.timestamp]
    if stamps:
        assert chosen.timestamp == max(stamps)
    else:
        assert chosen.timestamp is None or chosen.timestamp != chosen.timestamp


# --- has_label_conflict -----------------------------------------------------------------------


def test_label_conflict_needs_two_distinct_present_labels():
    assert has_label_conflict([]) is False
    assert has_label_conflict([row("web", 1.0, label="1")]) is False
    assert has_label_conflict([row("web", 1.0, label="1"), row("mobile", 2.0, label="1")]) is False
    assert has_label_conflict([row("web", 1.0, label="1"), row("mobile", 2.0, label="0")]) is True


def test_label_conflict_ignores_missing_labels():
    rows = [row("web", 1.0, label=None), row("mobile", 2.0, label="1"), row("x", 3.0)]
    assert has_label_conflict(rows) is False
    assert has_label_conflict(rows + [row("y", 0.0, label="0")]) is True


# --- CleanOptions ---------------------------------------------------------------------------

FULL = dict(
    id_key="user_id",
    required_columns=("email", "age"),
    keep_latest_by="ts",
    source_priority=("web", "mobile"),
    label="label",
    label_classes=("Adelie", "Chinstrap", "Gentoo"),
    spam_id_column="spam_id",
    alias_column="alias",
    canonical_column="canonical",
    has_spam_list=True,
    has_id_map=True,
    source_tags={"web": {"labelling_method": "in_house"}},
)


def test_default_options_are_valid_and_do_nothing_but_tag():
    options = CleanOptions()
    assert options.id_key is None
    assert options.required_columns == ()
    assert (options.has_spam_list, options.has_id_map) == (False, False)


def test_options_json_round_trip_keeps_every_field_and_tuple_types():
    options = CleanOptions(**FULL)
    text = options.to_json()
    assert json.loads(text) == {
        "id_key": "user_id",
        "required_columns": ["email", "age"],
        "keep_latest_by": "ts",
        "source_priority": ["web", "mobile"],
        "label": "label",
        "label_classes": ["Adelie", "Chinstrap", "Gentoo"],
        "spam_id_column": "spam_id",
        "alias_column": "alias",
        "canonical_column": "canonical",
        "has_spam_list": True,
        "has_id_map": True,
        "source_tags": {"web": {"labelling_method": "in_house"}},
    }
    back = CleanOptions.from_json(text)
    assert back == options
    assert isinstance(back.required_columns, tuple)
    assert isinstance(back.source_priority, tuple)
    assert isinstance(back.label_classes, tuple)
    assert CleanOptions.from_json(CleanOptions().to_json()) == CleanOptions()


def test_source_tags_come_after_the_source_in_name_order():
    options = CleanOptions(source_tags={"web": {"b": "2", "a": "1"}})
    assert options.tags_of("web") == (("source", "web"), ("a", "1"), ("b", "2"))
    assert options.tags_of("mobile") == (("source", "mobile"),)
    assert options.added_features == ("source", "canonical_id", "reject_reason", "a", "b")


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(source_tags={"web": {"source": "x"}}), "source_tags of 'web' sets 'source'"),
        (
            dict(id_key="labelling_method", source_tags={"web": {"labelling_method": "crowd"}}),
            "column 'labelling_method' clashes",
        ),
    ],
)
def test_source_tags_that_clash_fail_naming_the_feature(options, message):
    with pytest.raises(ValueError, match=message):
        CleanOptions(**options)


def test_options_to_json_is_deterministic_with_sorted_keys():
    text = CleanOptions(**FULL).to_json()
    assert text == CleanOptions(**FULL).to_json()
    assert list(json.loads(text)) == sorted(json.loads(text))


def test_options_from_json_fills_missing_sequences_and_validates():
    assert CleanOptions.from_json('{"id_key": "u"}') == CleanOptions(id_key="u")
    with pytest.raises(ValueError, match="a spam list or id map needs id_key"):
        CleanOptions.from_json('{"has_spam_list": true, "spam_id_column": "s"}')


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(id_key=None), "CleanExamples: a spam list or id map needs id_key"),
        (
            dict(id_key=None, has_spam_list=False),
            "CleanExamples: a spam list or id map needs id_key",
        ),
        (
            dict(id_key=None, has_id_map=False),
            "CleanExamples: a spam list or id map needs id_key",
        ),
        (
            dict(spam_id_column=None),
            "CleanExamples: spam_id_column (the spam list's id column) is required",
        ),
        (
            dict(alias_column=None),
            "CleanExamples: alias_column and canonical_column (the id map's columns) are required",
        ),
        (
            dict(canonical_column=""),
            "CleanExamples: alias_column and canonical_column (the id map's columns) are required",
        ),
        (
            dict(source_priority=("web", "mobile", "web")),
            "CleanExamples: source_priority repeats a source: ('web', 'mobile', 'web')",
        ),
        (dict(label=None), "CleanExamples: label_classes only applies with a label"),
    ],
)
def test_inconsistent_options_fail_with_a_message_naming_the_option(overrides, message):
    with pytest.raises(ValueError) as raised:
        CleanOptions(**{**FULL, **overrides})
    assert str(raised.value) == message


def test_timestamp_without_id_key_is_rejected():
    with pytest.raises(ValueError) as raised:
        CleanOptions(keep_latest_by="ts")
    assert str(raised.value) == "CleanExamples: keep_latest_by only applies with an id_key"


def test_spam_and_id_map_keys_are_not_needed_without_those_inputs():
    options = CleanOptions(id_key="user_id", keep_latest_by="ts")
    assert options.spam_id_column is None and options.alias_column is None


@pytest.mark.parametrize("reserved", RESERVED_FEATURES)
@pytest.mark.parametrize("field", ["id_key", "keep_latest_by", "label", "required_columns"])
def test_reserved_feature_names_cannot_be_used_as_columns(field, reserved):
    value = (reserved,) if field == "required_columns" else reserved
    with pytest.raises(ValueError) as raised:
        CleanOptions(**{**FULL, field: value})
    assert str(raised.value) == (
        f"CleanExamples: column {reserved!r} clashes with a feature CleanExamples adds "
        "(source, canonical_id, reject_reason, labelling_method)"  # FULL tags labelling_method
    )


def test_reserved_names_are_the_three_added_features():
    assert RESERVED_FEATURES == ("source", "canonical_id", "reject_reason")


# --- example_features -----------------------------------------------------------------------


def test_feature_values_reads_each_list_type_as_text():
    example = make_example(i=[7, -2], f=[2.5, 3.0], b=[b"u1", "é".encode()])
    assert feature_values(example, "i") == ["7", "-2"]
    assert feature_values(example, "f") == ["2.5", "3"]  # whole floats print without .0
    assert feature_values(example, "b") == ["u1", "é"]


def test_feature_values_is_empty_for_absent_or_empty_features():
    example = make_example(empty=[])
    assert "empty" in example.features.feature
    assert feature_values(example, "empty") == []
    assert feature_values(example, "absent") == []
    bare = tf.train.Example()
    bare.features.feature["kindless"].CopyFrom(tf.train.Feature())
    assert feature_values(bare, "kindless") == []


def test_feature_values_keeps_invalid_utf8_visible():
    assert feature_values(make_example(b=[b"a\xff"]), "b") == ["a\\xff"]


def test_an_id_reads_the_same_as_int_float_or_bytes():
    texts = {
        single_value(make_example(id=[42]), "id"),
        single_value(make_example(id=[42.0]), "id"),
        single_value(make_example(id=[b"42"]), "id"),
    }
    assert texts == {"42"}


def test_single_value_returns_the_value_or_none():
    assert single_value(make_example(x=[b"a"]), "x") == "a"
    assert single_value(make_example(x=[]), "x") is None
    assert single_value(make_example(), "x") is None


def test_single_value_rejects_several_values_naming_the_feature():
    with pytest.raises(ValueError) as raised:
        single_value(make_example(tags=[b"a", b"b", b"c"]), "tags")
    assert str(raised.value) == "feature 'tags' has 3 values; expected one"


def test_numeric_value_reads_ints_floats_and_numeric_text():
    assert numeric_value(make_example(t=[1700000000]), "t") == 1700000000.0
    assert numeric_value(make_example(t=[2.5, 9.0]), "t") == 2.5  # the first value
    assert numeric_value(make_example(t=[b"12.25"]), "t") == 12.25
    assert numeric_value(make_example(t=[b"-3"]), "t") == -3.0


def test_numeric_value_is_none_when_absent_empty_or_not_a_number():
    assert numeric_value(make_example(), "t") is None
    assert numeric_value(make_example(t=[]), "t") is None
    assert numeric_value(make_example(t=[b"yesterday"]), "t") is None


def test_string_features_alone_is_an_example_with_exactly_those_features():
    tags = tf.train.Example.FromString(string_features({"source": "web", "canonical_id": "u1"}))
    assert sorted(tags.features.feature) == ["canonical_id", "source"]
    assert feature_values(tags, "source") == ["web"]
    assert feature_values(tags, "canonical_id") == ["u1"]
    assert string_features({}) == b""


def test_string_features_is_deterministic_and_order_independent():
    a = string_features({"source": "web", "canonical_id": "u1"})
    b = string_features({"canonical_id": "u1", "source": "web"})
    assert a == b


def test_appending_string_features_sets_them_and_keeps_the_rest():
    original = make_example(x=[3], score=[0.5], user_id=[b"u1"])
    tagged = tf.train.Example.FromString(
        original.SerializeToString() + string_features({"source": "mobile", "canonical_id": "c9"})
    )
    assert feature_values(tagged, "source") == ["mobile"]
    assert feature_values(tagged, "canonical_id") == ["c9"]
    del tagged.features.feature["source"]
    del tagged.features.feature["canonical_id"]
    assert tagged == original


def test_appended_string_features_replace_an_existing_value():
    original = make_example(source=[b"old"], x=[1])
    tagged = tf.train.Example.FromString(
        original.SerializeToString() + string_features({"source": "web"})
    )
    assert feature_values(tagged, "source") == ["web"]
    assert feature_values(tagged, "x") == ["1"]


def test_tensorflow_parse_example_reads_appended_features():
    records = [
        make_example(x=[1], user_id=[b"u1"]).SerializeToString()
        + string_features({"source": "web", "canonical_id": "u1"}),
        make_example(x=[2], user_id=[b"m-u2"]).SerializeToString()
        + string_features({"source": "mobile", "canonical_id": "u2"}),
    ]
    parsed = tf.io.parse_example(
        records,
        {
            "x": tf.io.FixedLenFeature([], tf.int64),
            "user_id": tf.io.FixedLenFeature([], tf.string),
            "source": tf.io.FixedLenFeature([], tf.string),
            "canonical_id": tf.io.FixedLenFeature([], tf.string),
        },
    )
    assert parsed["x"].numpy().tolist() == [1, 2]
    assert parsed["user_id"].numpy().tolist() == [b"u1", b"m-u2"]
    assert parsed["source"].numpy().tolist() == [b"web", b"mobile"]
    assert parsed["canonical_id"].numpy().tolist() == [b"u1", b"u2"]
