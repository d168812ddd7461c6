"""preprocessing_fn on a handful of in-memory rows, against values computed by hand."""

import math

import pytest
import tensorflow as tf
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils

from core.labels import LabelSpec
from transforms import features, preprocessing

COLUMNS = [
    features.FeatureColumn("age", features.FeatureKind.NUMERIC),
    features.FeatureColumn("views", features.FeatureKind.SKEWED_NUMERIC),
    features.FeatureColumn("country", features.FeatureKind.CATEGORICAL, min_frequency=2),
    features.FeatureColumn("signup_ts", features.FeatureKind.TIMESTAMP),
]
CUSTOM_CONFIG = features.to_custom_config(COLUMNS, LabelSpec("label", ("0", "1")))
# Optional columns parse as sparse; `views` and the label are always present (dense).
RAW_SPEC = {
    "age": tf.io.VarLenFeature(tf.int64),
    "views": tf.io.FixedLenFeature([1], tf.int64),
    "country": tf.io.VarLenFeature(tf.string),
    "signup_ts": tf.io.VarLenFeature(tf.int64),
    "label": tf.io.FixedLenFeature([1], tf.int64),
    "user_id": tf.io.FixedLenFeature([1], tf.string),
}
MONDAY_06_00 = 4 * 86400 + 6 * 3600  # 1970-01-05 06:00 UTC
THURSDAY_12_00 = 12 * 3600  # 1970-01-01 12:00 UTC
ROWS = [
    {
        "age": [20],
        "views": [0],
        "country": [b"US"],
        "signup_ts": [0],
        "label": [1],
        "user_id": [b"a"],
    },
    {
        "age": [40],
        "views": [99],
        "country": [b"US"],
        "signup_ts": [MONDAY_06_00],
        "label": [0],
        "user_id": [b"b"],
    },
    {"age": [], "views": [9], "country": [], "signup_ts": [], "label": [0], "user_id": [b"c"]},
    {
        "age": [30],
        "views": [999],
        "country": [b"IS"],
        "signup_ts": [THURSDAY_12_00],
        "label": [1],
        "user_id": [b"d"],
    },
]


@pytest.fixture(scope="module")
def transformed(tmp_path_factory):
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(RAW_SPEC))
    with tft_beam.Context(temp_dir=str(tmp_path_factory.mktemp("tft"))):
        (rows, _), _ = (ROWS, metadata) | tft_beam.AnalyzeAndTransformDataset(
            lambda inputs: preprocessing.preprocessing_fn(inputs, CUSTOM_CONFIG)
        )
    # Beam does not promise order; raw views (0, 99, 9, 999) are distinct and
    # log1p is monotonic, so sorting by views_xf and undoing that order recovers ROWS.
    by_views = sorted(rows, key=lambda row: row["views_xf"])
    return [by_views[0], by_views[2], by_views[1], by_views[3]]


def _column(rows, name):
    return [row[name] for row in rows]


def test_outputs_are_exactly_the_documented_features(transformed):
    expected = {"label_xf"}
    for column in COLUMNS:
        expected |= set(features.float_outputs(column)) | set(features.integer_outputs(column))
    assert set(transformed[0]) == expected
    assert "user_id" not in transformed[0]


def test_numeric_is_z_scored_with_missing_imputed_to_the_mean(transformed):
    std = math.sqrt(((20 - 30) ** 2 + (40 - 30) ** 2 + 0) / 3)
    assert _column(transformed, "age_xf") == pytest.approx(
        [-10 / std, 10 / std, 0.0, 0.0], abs=1e-6
    )
    assert _column(transformed, "age_missing_xf") == [0.0, 0.0, 1.0, 0.0]


def test_skewed_numeric_is_log_then_z_scored(transformed):
    logs = [math.log1p(v) for v in (0, 99, 9, 999)]
    mean = sum(logs) / 4
    std = math.sqrt(sum((v - mean) ** 2 for v in logs) / 4)
    expected = [(v - mean) / std for v in logs]
    assert _column(transformed, "views_xf") == pytest.approx(expected, abs=1e-6)
    assert _column(transformed, "views_missing_xf") == [0.0, 0.0, 0.0, 0.0]


def test_categorical_rare_and_missing_values_share_the_oov_bucket(transformed):
    # Only "US" reaches min_frequency=2, so the vocabulary is ["US"] (id 0); the one
    # OOV bucket (id 1) takes "IS" and the missing value.
    assert _column(transformed, "country_xf") == [0, 0, 1, 1]


def test_timestamp_gives_hour_angle_and_day_of_week(transformed):
    assert _column(transformed, "signup_ts_hour_sin_xf") == pytest.approx(
        [0.0, 1.0, 0.0, 0.0], abs=1e-6
    )
    assert _column(transformed, "signup_ts_hour_cos_xf") == pytest.approx(
        [1.0, 0.0, 0.0, -1.0], abs=1e-6
    )
    # Thursday = 3, Monday = 0, missing = 7.
    assert _column(transformed, "signup_ts_day_of_week_xf") == [3, 0, 7, 3]
    assert _column(transformed, "signup_ts_missing_xf") == [0.0, 0.0, 1.0, 0.0]


def test_label_is_passed_through_as_int(transformed):
    assert _column(transformed, "label_xf") == [1, 0, 0, 1]
