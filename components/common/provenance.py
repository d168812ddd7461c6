"""Provenance tags on examples: which source (input split) each one came from."""

from __future__ import annotations

import tensorflow as tf


def tag_source(serialized: bytes, feature: str, source: str) -> bytes:
    """Returns the tf.Example `serialized` with bytes feature `feature` set to `source`.

    Args:
      serialized: A serialized tf.Example.
      feature: The tag's feature name, e.g. `source`.
      source: The value to record, e.g. the input split name `web`.

    Returns:
      The re-serialized example (deterministic field order).

    Raises:
      ValueError: The example already has `feature` with another value (of any
        type), which would make the provenance tag ambiguous.
    """
    example = tf.train.Example.FromString(serialized)
    existing = example.features.feature.get(feature)
    # Look at whichever list the feature holds: an int64 or float column conflicts too.
    kind = existing.WhichOneof("kind") if existing is not None else None
    values = list(getattr(existing, kind).value) if kind else []
    if values not in ([], [source.encode()]):
        raise ValueError(
            f"input example already has a {feature!r} feature ({values!r}); rename that column"
        )
    example.features.feature[feature].bytes_list.value[:] = [source.encode("utf-8")]
    return example.SerializeToString(deterministic=True)
