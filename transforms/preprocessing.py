"""The tf.Transform `preprocessing_fn`: one graph for training and serving data.

The Transform component analyzes the train split with it; the resulting graph is
embedded in the exported model (see `models.model`) and reused by batch
transform jobs, so raw data is turned into model inputs by exactly one
implementation everywhere.

Per feature kind (see `transforms.features`):
  numeric         missing -> mean of the analysis data; then z-score; plus a 0/1
                  `<name>_missing` indicator.
  skewed_numeric  log1p(max(x, 0)), then as numeric. Long tails stop dominating.
  categorical     missing or empty -> "__MISSING__"; vocabulary of values seen at
                  least `min_frequency` times; other values hash into
                  `oov_buckets` extra ids.
  timestamp       epoch seconds (UTC) -> hour-of-day sine/cosine and day of week
                  (0 = Monday, 7 = missing); missing -> sine/cosine 0 with a
                  `<name>_missing` indicator.

Same input, same constants, same outputs, bit for bit: means and variances
come from `transforms.exact_moments` (exact sums, not tft's order-dependent
float merges), and log1p, sine and cosine are computed in float64, then cast
to float32. TensorFlow's float32 kernels for those take a vectorized path for
most elements and a scalar one for the rest, which round differently, so a
value's float32 result would depend on its position in the batch; its float64
kernels give one result per value.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import tensorflow as tf
import tensorflow_transform as tft

from transforms import exact_moments, features, label_target, tensors


SECONDS_PER_DAY = 86400
# 1970-01-01 was a Thursday; with Monday = 0 it is day 3.
EPOCH_DAY_OF_WEEK = 3


def _observed_values(x: tensors.RawTensor) -> tf.Tensor:
    """Returns only the values present in `x`, for analyzers that must skip gaps."""
    if isinstance(x, tf.RaggedTensor):
        return x.flat_values
    if isinstance(x, tf.SparseTensor):
        return x.values
    return tf.reshape(x, [-1])


def _scale_observed(values: tf.Tensor, observed: tf.Tensor, present: tf.Tensor) -> tf.Tensor:
    """Z-scores `values` with the mean/variance of `observed`; missing rows get 0.

    Imputing with the mean before scaling is the same as writing 0 afterwards, so
    missing rows sit exactly at the analysis data's mean. `values` and
    `observed` are float64; the result is float32.
    """
    mean, variance = exact_moments.mean_and_var(observed)
    std = tf.sqrt(variance)
    scaled = tf.where(std > 0, (values - mean) / tf.where(std > 0, std, 1.0), values - mean)
    return tf.cast(tf.where(present, scaled, tf.zeros_like(scaled)), tf.float32)


def _log1p_nonnegative(x: tf.Tensor) -> tf.Tensor:
    """log(1 + x), with negative values (data errors) clamped to 0 first."""
    return tf.math.log1p(tf.maximum(x, 0.0))


def _cast(x: tensors.RawTensor, dtype: tf.DType) -> tensors.RawTensor:
    """Casts the values of a dense, sparse or ragged tensor."""
    if isinstance(x, tf.SparseTensor):
        return tf.SparseTensor(x.indices, tf.cast(x.values, dtype), x.dense_shape)
    if isinstance(x, tf.RaggedTensor):
        return x.with_flat_values(tf.cast(x.flat_values, dtype))
    return tf.cast(x, dtype)


def _transform_numeric(x: tensors.RawTensor, skewed: bool) -> tuple[tf.Tensor, tf.Tensor]:
    """Returns (scaled value, missing indicator) for a (skewed) numeric column."""
    x = _cast(x, tf.float64)
    values, present = tensors.to_dense(x, 0.0)
    observed = _observed_values(x)
    if skewed:
        values = _log1p_nonnegative(values)
        observed = _log1p_nonnegative(observed)
    scaled = _scale_observed(values, observed, present)
    return scaled, 1.0 - tf.cast(present, tf.float32)


def _transform_categorical(x: tensors.RawTensor, column: features.FeatureColumn) -> tf.Tensor:
    """Returns vocabulary ids (OOV values hashed into extra ids) for a categorical."""
    values, present = tensors.to_dense(tensors.as_strings(x), features.MISSING_CATEGORY)
    stripped = tf.strings.strip(values)
    values = tf.where(
        tf.logical_and(present, tf.strings.length(stripped) > 0),
        stripped,
        tf.fill(tf.shape(values), features.MISSING_CATEGORY),
    )
    return tft.compute_and_apply_vocabulary(
        values,
        frequency_threshold=column.min_frequency,
        num_oov_buckets=column.oov_buckets,
        vocab_filename=features.vocabulary_filename(column.name),
    )


def _transform_timestamp(x: tensors.RawTensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    """Returns (hour sine, hour cosine, day of week, missing) for epoch seconds."""
    seconds, present = tensors.to_dense(_cast(x, tf.int64), tf.constant(0, tf.int64))
    seconds_of_day = tf.math.floormod(seconds, SECONDS_PER_DAY)
    angle = tf.cast(seconds_of_day, tf.float64) * (2.0 * math.pi / SECONDS_PER_DAY)
    day_of_week = tf.math.floormod(seconds // SECONDS_PER_DAY + EPOCH_DAY_OF_WEEK, 7)
    day_of_week = tf.where(
        present, day_of_week, tf.constant(features.MISSING_DAY_OF_WEEK, tf.int64)
    )
    mask = tf.cast(present, tf.float32)
    hour_sin = tf.cast(tf.sin(angle), tf.float32)
    hour_cos = tf.cast(tf.cos(angle), tf.float32)
    return hour_sin * mask, hour_cos * mask, day_of_week, 1.0 - mask


def preprocessing_fn(
    inputs: Mapping[str, tensors.RawTensor], custom_config: Mapping[str, Any]
) -> dict[str, tf.Tensor]:
    """Maps raw features to model inputs; TFX's Transform calls it with the config.

    Args:
      inputs: Raw features parsed with the raw schema. Columns not named in the
        config (ids, provenance tags) are ignored.
      custom_config: `transforms.features.to_custom_config(...)` output.

    Returns:
      Dense [batch] transformed features named by `transforms.features`, and the
      label's target (see `label_target`) when it is among `inputs` (it is
      absent at serving time).
    """
    columns, label = features.from_custom_config(custom_config)
    label_spec = features.label_from_custom_config(custom_config)
    outputs: dict[str, tf.Tensor] = {}
    for column in columns:
        raw = inputs[column.name]
        if column.kind in (features.FeatureKind.NUMERIC, features.FeatureKind.SKEWED_NUMERIC):
            scaled, missing = _transform_numeric(
                raw, skewed=column.kind == features.FeatureKind.SKEWED_NUMERIC
            )
            outputs[features.transformed_name(column.name)] = scaled
            outputs[features.missing_indicator_name(column.name)] = missing
        elif column.kind == features.FeatureKind.CATEGORICAL:
            outputs[features.transformed_name(column.name)] = _transform_categorical(raw, column)
        elif column.kind == features.FeatureKind.TIMESTAMP:
            hour_sin, hour_cos, day_of_week, missing = _transform_timestamp(raw)
            names = features.timestamp_output_names(column.name)
            outputs[names[0]] = hour_sin
            outputs[names[1]] = hour_cos
            outputs[names[2]] = day_of_week
            outputs[features.missing_indicator_name(column.name)] = missing
        else:  # pragma: no cover - FeatureKind is closed; config validation rejects others
            raise ValueError(f"unsupported feature kind {column.kind!r} for {column.name!r}")
    if label in inputs:
        outputs[features.label_output_name(label)] = label_target.label_target(
            inputs[label], label_spec
        )
    return outputs
