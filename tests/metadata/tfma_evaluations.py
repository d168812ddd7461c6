"""Real TFMA evaluation outputs for the metadata readers, written without a model.

The metrics, slices and blessing thresholds are the Evaluator's own
(`pipeline.pipeline.eval_config` of the demo config with the given classes);
only the models are replaced: each example carries each model's prediction as
a feature, which TFMA reads as materialized predictions. The output folder
then holds what the Evaluator writes: metrics, plots, validations and
`eval_config.json`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional, Sequence, Union

from pipeline.config import BASELINE_MODEL, CANDIDATE_MODEL, load_config

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "demo.yaml"
LABEL = "label"
# Each model's prediction: P(positive) for two classes, else one probability per class.
PREDICTION = {CANDIDATE_MODEL: "candidate_prediction", BASELINE_MODEL: "baseline_prediction"}
# The demo's sources and their labelling methods (the config's inventory).
SOURCES = (("web", "in_house"), ("partner", "crowd"))

Prediction = Union[float, Sequence[float]]


def _same_slices() -> dict[str, str]:
    from pipeline.slicing import slice_plan

    return dict(slice_plan(load_config(str(DEMO_CONFIG))).same_as)


# The slices the demo's Evaluator names after a computed one (its labelling
# methods, one per source), as the ModelEvaluation artifact records them.
SAME_SLICES = _same_slices()


@dataclasses.dataclass(frozen=True)
class Row:
    """One test example: its class index, source and each model's prediction."""

    label: int
    candidate: Prediction
    baseline: Optional[Prediction] = None
    source: int = 0  # index into SOURCES


def _example(row: Row) -> bytes:
    import tensorflow as tf

    example = tf.train.Example()
    features = example.features.feature
    features[LABEL].int64_list.value.append(row.label)
    source, method = SOURCES[row.source]
    features["source"].bytes_list.value.append(source.encode())
    features["labelling_method"].bytes_list.value.append(method.encode())
    for model, prediction in ((CANDIDATE_MODEL, row.candidate), (BASELINE_MODEL, row.baseline)):
        if prediction is not None:
            values = [prediction] if isinstance(prediction, float) else list(prediction)
            features[PREDICTION[model]].float_list.value.extend(values)
    return example.SerializeToString()


def evaluate(
    folder: Path,
    classes: Sequence[str],
    rows: Sequence[Row],
    min_auc: float,
    max_auc_drop: float = 0.01,
) -> str:
    """Runs TFMA on `rows` with the Evaluator's config; returns the output folder.

    Args:
      folder: Where the evaluation goes (created).
      classes: The label's classes (two: the AUC metrics; more: the macro AUC).
      rows: The test examples; with a baseline prediction on every row the
        baseline is compared, as after a first blessed model.
      min_auc: `evaluation.min_auc`.
      max_auc_drop: `evaluation.max_auc_drop`.
    """
    import tensorflow as tf
    import tensorflow_model_analysis as tfma

    from pipeline.pipeline import eval_config

    config = load_config(str(DEMO_CONFIG))
    config = dataclasses.replace(
        config,
        label_classes=tuple(classes),
        evaluation=dataclasses.replace(
            config.evaluation, min_auc=min_auc, max_auc_drop=max_auc_drop
        ),
    )
    evaluation = eval_config(config)
    del evaluation.model_specs[:]
    with_baseline = all(row.baseline is not None for row in rows)
    models = [CANDIDATE_MODEL, BASELINE_MODEL] if with_baseline else [CANDIDATE_MODEL]
    for model in models:
        evaluation.model_specs.add(
            name=model,
            label_key=LABEL,
            prediction_key=PREDICTION[model],
            is_baseline=model == BASELINE_MODEL,
        )
    folder.mkdir(parents=True)
    data = folder / "examples.tfrecord"
    with tf.io.TFRecordWriter(str(data)) as writer:
        for row in rows:
            writer.write(_example(row))
    shared = [
        tfma.types.EvalSharedModel(
            model_name=model,
            model_type="materialized_prediction",  # tfma.constants.MATERIALIZED_PREDICTION
            include_default_metrics=False,
            is_baseline=model == BASELINE_MODEL,
            # As TFX's Evaluator without a baseline: change thresholds are dropped.
            rubber_stamp=not with_baseline,
        )
        for model in models
    ]
    tfma.run_model_analysis(
        eval_shared_model=shared if with_baseline else shared[0],
        eval_config=evaluation,
        data_location=str(data),
        output_path=str(folder / "evaluation"),
    )
    return str(folder / "evaluation")
