"""Hypothesis strategies for serialized tf.Examples of every shape a feature can take.

A feature may be absent, present without a kind, empty, or hold one or several
values of each type (text that is or is not a number or UTF-8); a record may
set a feature twice (messages appended to each other, as CleanExamples' tags
are), and a batch may hold one feature of two types.
"""

from __future__ import annotations

import tensorflow as tf
from hypothesis import strategies as st

NAMES = ["user_id", "employment_status", "signup_ts", "label", "source", "canonical_id", "other"]

values = st.one_of(
    st.just(("absent", None)),
    st.just(("kindless", None)),
    st.tuples(st.just("int64"), st.lists(st.integers(-(2**63), 2**63 - 1), max_size=2)),
    st.tuples(
        st.just("float"),
        st.lists(st.floats(width=32, allow_nan=True, allow_infinity=True), max_size=2),
    ),
    st.tuples(
        st.just("bytes"),
        st.lists(
            st.one_of(
                st.sampled_from([b"u1", b"u2", b"12", b"1.5", b"web", b"", b"\xff\xfe", b"nan"]),
                st.binary(max_size=6),
            ),
            max_size=2,
        ),
    ),
)


def example_bytes(features: dict) -> bytes:
    """Serializes {name: (kind, values)}: kind "absent", "kindless", "int64", "float" or "bytes"."""
    example = tf.train.Example()
    for name, (kind, items) in features.items():
        if kind == "absent":
            continue
        feature = example.features.feature[name]
        if kind == "kindless":
            feature.Clear()
        elif kind == "int64":
            feature.int64_list.value.extend(items)
        elif kind == "float":
            feature.float_list.value.extend(items)
        else:
            feature.bytes_list.value.extend(items)
    return example.SerializeToString()


one_record = st.dictionaries(st.sampled_from(NAMES), values, max_size=len(NAMES)).map(example_bytes)
# Appended messages: the later one's features win, as the tags CleanExamples appends do.
records = st.one_of(
    one_record, st.tuples(one_record, one_record).map(lambda pair: pair[0] + pair[1])
)
batches = st.lists(records, min_size=1, max_size=8)
