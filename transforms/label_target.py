"""The label in the graph: raw values to what the model learns.

Shared by the Transform's preprocessing_fn and the exported model's
`transform_label` signature (the Evaluator's label), so both map a label value
the same way.
"""

from __future__ import annotations

import tensorflow as tf

from core.labels import LabelSpec
from transforms.tensors import RawTensor, as_strings, to_dense


def label_target(raw: RawTensor, label: LabelSpec) -> tf.Tensor:
    """Maps raw label values to what the model learns, in the graph.

    Values are compared as stripped text with the classes (see `core.labels`).

    Args:
      raw: The raw label feature, int64 or string.
      label: The label with its classes.

    Returns:
      int64 [batch]: for two classes 1 for the positive class and 0 for the
      other; for more, the class index. -1 for a value that is not a class (or
      missing), so such a row is never taken for a class.
    """
    text, present = to_dense(as_strings(raw), "")
    text = tf.strings.strip(text)
    classes = tf.constant(list(label.classes), tf.string)
    matches = tf.equal(tf.expand_dims(text, 1), tf.expand_dims(classes, 0))
    index = tf.where(
        tf.logical_and(present, tf.reduce_any(matches, axis=1)),
        tf.argmax(tf.cast(matches, tf.int64), axis=1),
        tf.constant(-1, tf.int64),
    )
    if not label.binary:
        return index
    positive = label.classes.index(label.positive_class)
    return tf.where(index < 0, index, tf.cast(tf.equal(index, positive), tf.int64))
