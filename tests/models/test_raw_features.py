"""models.raw_features: the raw columns a model exports, from its feature spec and back."""

from __future__ import annotations

import tensorflow as tf

from models import raw_features
from models.raw_features import FLOAT, INT64, STRING, RawColumn

COLUMNS = [
    RawColumn("age", INT64, required=False),
    RawColumn("score", FLOAT, required=False),
    RawColumn("country", STRING, required=False),
    RawColumn("status", STRING, required=True),
]


def test_columns_follow_the_feature_spec_types_and_presence():
    spec = {
        "age": tf.io.VarLenFeature(tf.int64),
        "score": tf.io.FixedLenFeature([1], tf.float32),
        "country": tf.io.FixedLenFeature([], tf.string, default_value=""),
        "ignored": tf.io.VarLenFeature(tf.string),
    }
    columns = raw_features.columns_from_feature_spec(spec, ["age", "score", "country"])
    assert columns == [
        RawColumn("age", INT64, False),
        RawColumn("score", FLOAT, True),
        RawColumn("country", STRING, False),  # a default makes it optional
    ]


def test_columns_survive_json_and_give_back_a_matching_feature_spec():
    assert raw_features.columns_from_json(raw_features.columns_to_json(COLUMNS)) == COLUMNS
    spec = raw_features.feature_spec(COLUMNS)
    assert spec["status"] == tf.io.FixedLenFeature([1], tf.string)
    assert spec["age"] == tf.io.VarLenFeature(tf.int64)
