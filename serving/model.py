"""The serving model: a Pusher's or Trainer's SavedModel, loaded with its raw columns.

Scoring goes through the exported `serving_default` signature, which carries
the tf.Transform graph, so nothing is preprocessed outside the model.
"""

from __future__ import annotations

import gc

import os
from typing import Sequence

from core.errors import CascadeError


def resolve_model_dir(path: str) -> str:
    """The SavedModel folder `path` names.

    That is `path` itself, its newest numbered version, or the `Format-Serving`
    folder of a Trainer's Model artifact. Pusher pushes each model to `<base>/<version>`; naming the base folder means
    its newest version, as TF Serving reads it.

    Raises:
      CascadeError: `path` does not exist.
    """
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    if not fileio.exists(path):
        raise CascadeError(f"model folder {path} does not exist")
    if fileio.exists(os.path.join(path, "saved_model.pb")):
        return path
    trainer_export = os.path.join(path, "Format-Serving")
    if fileio.exists(os.path.join(trainer_export, "saved_model.pb")):
        return trainer_export
    versions = [
        name.rstrip("/")
        for name in fileio.listdir(path)
        if name.rstrip("/").isdigit() and fileio.isdir(os.path.join(path, name))
    ]
    return os.path.join(path, max(versions, key=int)) if versions else path


def read_columns(model_dir: str) -> list:
    """The raw columns a Cascade serving model reads (its `RAW_FEATURES_FILE`).

    Raises:
      CascadeError: The folder is not a Cascade serving model.
    """
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    from models import raw_features

    features_file = os.path.join(model_dir, raw_features.RAW_FEATURES_FILE)
    if not fileio.exists(features_file):
        raise CascadeError(
            f"{model_dir} is not a Cascade serving model (no {raw_features.RAW_FEATURES_FILE})"
        )
    with fileio.open(features_file, "r") as f:
        return raw_features.columns_from_json(f.read())


class ServingModel:
    """A loaded SavedModel's `serving_default` with the raw columns it reads.

    Args:
      model_dir: The exported model folder (Trainer's or Pusher's copy).

    Raises:
      CascadeError: The folder is not a Cascade serving model.
    """

    def __init__(self, model_dir: str) -> None:
        import tensorflow as tf

        from models.model import OUTPUT_KEY, SERVING_SIGNATURE

        self.columns = read_columns(model_dir)
        self._model = tf.saved_model.load(model_dir)
        self._serve = self._model.signatures[SERVING_SIGNATURE]
        self._output_key = OUTPUT_KEY
        self._tf = tf

    def close(self) -> None:
        """Releases the loaded TensorFlow functions now.

        A model still loaded when the interpreter shuts down is released
        after TensorFlow's modules are torn down, and each of its functions
        then prints an ignored `TypeError` to stderr.
        """
        self._serve = None
        self._model = None
        gc.collect()

    def score(self, examples: Sequence[bytes]) -> list[float]:
        """P(label = 1) for each serialized raw tf.Example."""
        if not examples:
            return []
        outputs = self._serve(examples=self._tf.constant(list(examples)))
        return [float(p) for p in outputs[self._output_key].numpy().reshape(-1)]
