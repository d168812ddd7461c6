"""What a Transform graph learned: its analyzer constants and its vocabulary files."""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf


def learned_constants(transform_fn_dir: str) -> list[np.ndarray]:
    """Returns the analyzer results baked into a transform_fn SavedModel, in order.

    tf.Transform traces the final graph with every analyzer output replaced by
    a constant, which the saved function captures; its non-resource captured
    inputs are those constants (means, variances, vocabulary sizes), in the
    order tracing met them. Resources (vocabulary tables) are left out: their
    contents are the vocabulary files.

    Args:
      transform_fn_dir: A `transform_fn` folder (a TFTransformOutput's
        `transform_savedmodel_dir`).

    Returns:
      The constants as NumPy arrays.
    """
    function = tf.saved_model.load(transform_fn_dir).signatures["serving_default"]
    return [
        captured.numpy() for captured in function.captured_inputs if captured.dtype != tf.resource
    ]


def vocabulary_files(transform_fn_dir: str) -> dict[str, bytes]:
    """Returns {file name: bytes} of the assets (vocabularies) of a transform_fn."""
    assets = os.path.join(transform_fn_dir, "assets")
    return {
        name: tf.io.gfile.GFile(os.path.join(assets, name), "rb").read()
        for name in sorted(tf.io.gfile.listdir(assets))
    }
