"""The serving model as a Beam RunInference model handler.

Beam's RunInference (`apache_beam.ml.inference`) loads a model once per
worker process and shares it between threads; this handler gives it the same
`ServingModel` the single-process scorer uses -- the exported
`serving_default` signature, tf.Transform graph inside -- so Beam and
one-process scores are the same computation.

Each element is already a batch (a list of serialized raw tf.Examples, see
`serving.beam_input`), so the handler asks Beam not to batch again. tfx_bsl's
SavedModel handler would build a PredictionLog proto per row, with a
TensorProto per output (`tf.make_tensor_proto`); this handler returns one
list of output cells per batch instead (`ServingModel.score`: each row's
scores, and its predicted class for three or more classes), which matters at
millions of rows.
"""

from __future__ import annotations

import atexit
from typing import Any, Iterable, Optional, Sequence

from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from serving.model import ServingModel


class ServingModelHandler(ModelHandler[Sequence[bytes], PredictionResult, ServingModel]):
    """Scores batches of serialized raw tf.Examples with a Cascade serving model.

    Args:
      model_dir: The SavedModel folder (Pusher's or Trainer's serving export;
        any path TensorFlow reads, `gs://` included).
    """

    def __init__(self, model_dir: str) -> None:
        super().__init__()
        self._model_dir = model_dir

    def load_model(self) -> ServingModel:
        """Loads the SavedModel, its raw-column list and its label.

        Beam keeps the model for the life of the worker process; it is closed
        when the process exits (see `ServingModel.close`).
        """
        model = ServingModel(self._model_dir)
        atexit.register(model.close)
        return model

    def run_inference(
        self,
        batch: Sequence[Sequence[bytes]],
        model: ServingModel,
        inference_args: Optional[dict[str, Any]] = None,
    ) -> Iterable[PredictionResult]:
        """One PredictionResult per element: its examples and their output cells."""
        return [PredictionResult(examples, model.score(examples)) for examples in batch]

    def get_num_bytes(self, batch: Sequence[Sequence[bytes]]) -> int:
        """The batch's serialized size (Beam's inference metrics report it)."""
        return sum(len(example) for examples in batch for example in examples)

    def batch_elements_kwargs(self) -> dict[str, int]:
        """Elements are batches already: one per model call."""
        return {"min_batch_size": 1, "max_batch_size": 1}

    def get_metrics_namespace(self) -> str:
        return "CascadeServingModel"
