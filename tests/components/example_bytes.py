"""Serialized tf.Examples with a chosen feature order, as another process may write them."""

from __future__ import annotations

import tensorflow as tf


def reversed_feature_order(record: bytes) -> bytes:
    """The same example serialized with its features in reverse name order.

    Concatenated serialized messages parse as one merged message, so writing
    each feature as its own one-feature Example gives the order we choose.
    Protobuf itself writes map entries in an order that can differ between
    processes; code that must agree across runners has to see through it.
    """
    example = tf.train.Example.FromString(record)
    parts = []
    for name in sorted(example.features.feature, reverse=True):
        single = tf.train.Example()
        single.features.feature[name].CopyFrom(example.features.feature[name])
        parts.append(single.SerializeToString())
    return b"".join(parts)
