"""The serving model: a Pusher's or Trainer's SavedModel, loaded with its raw columns and label.

Scoring goes through the exported `serving_default` signature, which carries
the tf.Transform graph, so nothing is preprocessed outside the model. What a
scoring writes per row follows the label's classes (`output_columns`): for two
classes one `score`, P(positive); for more, one `score_<class>` per class in
class order and the `predicted` class.
"""

from __future__ import annotations

import gc
import json
import os
from typing import Sequence

from core.errors import CascadeError
from core.labels import PREDICTED_COLUMN, LabelError, LabelSpec
from models.signature_names import (
    LABEL_FILE,
    OUTPUT_KEY,
    PREDICTED_KEY,
    PROBABILITIES_KEY,
    SERVING_SIGNATURE,
)

# The label name `read_label` gives a model folder without a label file: such a
# model predicts a 0/1 label whose column it does not name.
UNKNOWN_LABEL = ""


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


def read_label(model_dir: str) -> LabelSpec:
    """The label a Cascade serving model predicts, with its classes (its `LABEL_FILE`).

    Every scoring path reads the label here: the one-process scorer, the Beam
    job's header and each Beam worker's model.

    Args:
      model_dir: The SavedModel folder (any `fileio` path, `gs://` included).

    Returns:
      The label from the model folder; for a folder without the file (a 0/1
      model), the classes "0" and "1" under the name `UNKNOWN_LABEL`.

    Raises:
      CascadeError: The file is there but does not hold a label with two or
        more classes (naming the file and what is wrong).
    """
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    path = os.path.join(model_dir, LABEL_FILE)
    if not fileio.exists(path):
        return LabelSpec(UNKNOWN_LABEL, ("0", "1"))
    with fileio.open(path, "r") as f:
        text = f.read()
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise CascadeError(f"{path} is not JSON: {e}") from None
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("name"), str)
        or not isinstance(raw.get("classes"), list)
    ):
        raise CascadeError(
            f'{path} is not a Cascade label file: expected {{"name": ..., "classes": [...], '
            '"positive": ...}'
        )
    label = LabelSpec.from_dict(raw)
    try:
        label.check()
    except LabelError as e:
        raise CascadeError(f"{path}: {e}") from None
    return label


def output_columns(label: LabelSpec) -> list[str]:
    """The predictions' columns after `line` and the kept ones.

    `score` for two classes; `score_<class>` per class in class order, then
    `predicted`, for more (see `core.labels`).
    """
    if label.binary:
        return label.score_columns()
    return [*label.score_columns(), PREDICTED_COLUMN]


def format_score(score: float) -> str:
    """A score as written: 8 decimals, finer than float32's spread between
    batchings (~3e-7), so the written scores of both scorers agree within 1e-6."""
    return f"{score:.8f}"


class ServingModel:
    """A loaded SavedModel's `serving_default` with the raw columns it reads and its label.

    Args:
      model_dir: The exported model folder (Trainer's or Pusher's copy).

    Raises:
      CascadeError: The folder is not a Cascade serving model, or its label
        file is unreadable.
    """

    def __init__(self, model_dir: str) -> None:
        import tensorflow as tf

        self.columns = read_columns(model_dir)
        self.label = read_label(model_dir)
        self.output_columns = output_columns(self.label)
        self._model = tf.saved_model.load(model_dir)
        self._serve = self._model.signatures[SERVING_SIGNATURE]
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

    def score(self, examples: Sequence[bytes]) -> list[tuple[str, ...]]:
        """The `output_columns` cells of each serialized raw tf.Example.

        Two classes: the signature's `outputs`, P(positive). More: its
        `probabilities`, one per class in class order, then its `predicted`
        class. Scores are written with `format_score`.
        """
        if not examples:
            return []
        outputs = self._serve(examples=self._tf.constant(list(examples)))
        if self.label.binary:
            return [(format_score(float(p)),) for p in outputs[OUTPUT_KEY].numpy().reshape(-1)]
        probabilities = outputs[PROBABILITIES_KEY].numpy()
        predicted = outputs[PREDICTED_KEY].numpy()
        return [
            (*(format_score(float(p)) for p in row), name.decode("utf-8"))
            for row, name in zip(probabilities, predicted)
        ]
