"""Raw feature tensors as the preprocessing_fn receives them: dense, sparse or ragged.

Helpers shared by the feature transforms (`transforms.preprocessing`) and the
label's (`transforms.label_target`).
"""

from __future__ import annotations

from typing import Any, Union

import tensorflow as tf

RawTensor = Union[tf.Tensor, tf.SparseTensor, tf.RaggedTensor]


def to_dense(x: RawTensor, default: Any) -> tuple[tf.Tensor, tf.Tensor]:
    """Turns a [batch, 0 or 1] raw feature into a [batch] tensor and a presence mask.

    Args:
      x: A raw feature as parsed from tf.Examples: dense [batch, 1] when the
        schema says it is always present, sparse or ragged when it may be missing.
      default: The value used where `x` has no value.

    Returns:
      (values, present): `values` is [batch] with `default` where missing;
      `present` is a [batch] bool tensor.
    """
    if isinstance(x, tf.RaggedTensor):
        x = x.to_sparse()
    if isinstance(x, tf.SparseTensor):
        batch_size = x.dense_shape[0]
        shaped = tf.SparseTensor(x.indices, x.values, [batch_size, 1])
        values = tf.sparse.to_dense(shaped, default_value=default)
        ones = tf.SparseTensor(x.indices, tf.ones_like(x.values, tf.int64), [batch_size, 1])
        present = tf.sparse.to_dense(ones, default_value=0) > 0
        return tf.squeeze(values, axis=1), tf.squeeze(present, axis=1)
    values = tf.reshape(x, [-1])
    return values, tf.ones_like(values, dtype=tf.bool)


def as_strings(x: RawTensor) -> RawTensor:
    """Categorical columns may be inferred as numbers (e.g. codes); use their text."""
    if x.dtype == tf.string:
        return x
    if isinstance(x, tf.SparseTensor):
        return tf.SparseTensor(x.indices, tf.strings.as_string(x.values), x.dense_shape)
    if isinstance(x, tf.RaggedTensor):
        return x.with_flat_values(tf.strings.as_string(x.flat_values))
    return tf.strings.as_string(x)
