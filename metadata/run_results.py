"""What a run produced, recorded on its run context in MLMD: data size and quality.

After each run, the runner reads two of the run's artifacts and writes the gist
on the run's `pipeline_run` context, so that comparing runs (the `history`
command) needs the metadata store alone:

- `training_rows_per_source`: training rows per source, from StatisticsGen's
  statistics of the train split (the `source` tag's value counts);
- `evaluation`: the Evaluator's test metrics, overall and per slice
  ({"overall": {...}, "source=web": {...}, "labelling_method=crowd": {...}});
  for a two-class label `METRICS`, for three or more classes
  `MULTI_CLASS_METRICS` and each of `PER_CLASS_METRICS` per class
  (`auc:Adelie`), classes named as the model names them;
- `confusion_matrix`: for three or more classes, the test confusion matrix per
  slice ({"overall": {actual class: {predicted class: rows}}, ...});
- `spans_per_source`: the spans each spanned source was read from, from
  CsvExampleGen's Examples ({} when the sources are not spanned).

Cached steps count: a run that reused an earlier run's model records that
model's metrics.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
from typing import Any, Mapping, Optional, Sequence

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from core.provenance import SOURCE_FEATURE
from metadata import names, run_summary
from pipeline import slicing
from pipeline.config import CANDIDATE_MODEL

TRAINING_ROWS_PROPERTY = "training_rows_per_source"
EVALUATION_PROPERTY = "evaluation"
SPANS_PROPERTY = "spans_per_source"
TRAIN_SPLIT = "train"
OVERALL = "overall"
# Rows of sources beyond the ones TFDV's statistics name (more than 1,000 sources).
OTHER_SOURCES = "(other sources)"
CONFUSION_PROPERTY = "confusion_matrix"
# The metrics the Evaluator is configured with (pipeline.eval_config), by the
# names recorded: for a two-class label,
METRICS = ("example_count", "auc", "binary_accuracy", "precision", "recall")
# for three or more classes (`accuracy` is TFMA's sparse_categorical_accuracy,
# `macro_auc` the macro-averaged one-vs-rest AUC the blessing judges),
MULTI_CLASS_METRICS = ("example_count", "accuracy", "macro_auc")
# and one-vs-rest per class, recorded as `<metric>:<class>`.
PER_CLASS_METRICS = ("auc", "precision", "recall")
CLASS_SEPARATOR = ":"
# TFMA's names of metrics recorded under another name.
_RECORDED_NAMES = {"sparse_categorical_accuracy": "accuracy"}
# TFMA's name of the MultiClassConfusionMatrixPlot's output.
CONFUSION_PLOT = "multi_class_confusion_matrix_plot"
# Where a Trainer's Model artifact holds the SavedModel (TFX's layout).
SERVING_MODEL_FOLDER = "Format-Serving"
# The predicted "class" of a row no class reached the threshold for (TFMA's -1).
NO_PREDICTION = "(none)"
_TITLES = {
    "example_count": "examples",
    "auc": "AUC",
    "binary_accuracy": "accuracy",
    "macro_auc": "macro AUC",
}


@dataclasses.dataclass(frozen=True)
class RunResults:
    """The recorded results of one run; empty when the run stopped before them."""

    training_rows_per_source: dict[str, int]
    evaluation: dict[str, dict[str, float]]
    spans_per_source: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    # Slice -> actual class -> predicted class -> rows (three or more classes).
    confusion_matrices: dict[str, dict[str, dict[str, float]]] = dataclasses.field(
        default_factory=dict
    )

    @property
    def training_rows(self) -> Optional[int]:
        """All training rows, or None if unknown."""
        return (
            sum(self.training_rows_per_source.values()) if self.training_rows_per_source else None
        )


def slice_name(slice_key: tuple) -> str:
    """TFMA's slice key -> "overall" or "source=web" (several: joined with " & ")."""
    if not slice_key:
        return OVERALL
    return " & ".join(slicing.slice_name(column, value) for column, value in slice_key)


def same_slices(evaluation: metadata_store_pb2.Artifact) -> dict[str, str]:
    """The slices a ModelEvaluation names after a computed one.

    See `pipeline.slicing`: a labelling-method slice holding the same rows as
    a source slice is not computed, and reports copy the source slice's values.

    Args:
      evaluation: A ModelEvaluation artifact.

    Returns:
      Slice name -> the computed slice's name; {} for an evaluation that
      computed every slice it reports.
    """
    recorded = evaluation.custom_properties.get(slicing.SAME_SLICES_PROPERTY)
    return json.loads(recorded.string_value) if recorded and recorded.string_value else {}


def with_same_slices(per_slice: dict[str, Any], same_as: Mapping[str, str]) -> dict[str, Any]:
    """`per_slice` plus a copy of each computed slice under its other names.

    Args:
      per_slice: Slice name -> its values, as read from TFMA's output.
      same_as: Slice name -> the computed slice with the same rows (`same_slices`).

    Returns:
      Every slice, in report order (`_ordered`); a name whose computed slice
      is absent (no test rows) is left out, as TFMA leaves out empty slices.
    """
    added = {
        name: copy.deepcopy(per_slice[computed])
        for name, computed in same_as.items()
        if computed in per_slice
    }
    return _ordered({**per_slice, **added})


def class_metric(metric: str, class_name: str) -> str:
    """The recorded name of a per-class metric: ("auc", "Adelie") -> "auc:Adelie"."""
    return f"{metric}{CLASS_SEPARATOR}{class_name}"


def is_metric(name: str) -> bool:
    """Whether `name` is a recorded metric's name (`auc`, `macro_auc`, `recall:Adelie`, ...)."""
    metric, separator, class_name = name.partition(CLASS_SEPARATOR)
    if separator:
        return metric in PER_CLASS_METRICS and bool(class_name)
    return name in METRICS or name in MULTI_CLASS_METRICS


def metric_title(name: str) -> str:
    """How reports name a recorded metric: "AUC", "macro AUC", "recall of Adelie"."""
    metric, separator, class_name = name.partition(CLASS_SEPARATOR)
    title = _TITLES.get(metric, metric)
    return f"{title} of {class_name}" if separator else title


def _class_name(class_id: int, classes: Sequence[str]) -> str:
    """A class id's name, or its number when the classes are not known."""
    if class_id < 0:
        return NO_PREDICTION
    return classes[class_id] if class_id < len(classes) else str(class_id)


def _recorded_name(key: Any, classes: Sequence[str]) -> Optional[str]:
    """The name a candidate's TFMA MetricKey is recorded under, or None if it is not recorded.

    Evaluations made with TFMA's default metrics also hold the model's compiled
    metrics under the same names; only the configured ones carry
    `example_weighted`. With a baseline, TFMA adds the baseline's metrics and
    the differences; the record is the candidate's.
    """
    if (
        not key.HasField("example_weighted")
        or key.is_diff
        or key.model_name not in ("", CANDIDATE_MODEL)
    ):
        return None
    if key.HasField("aggregation_type"):
        macro = key.aggregation_type.macro_average
        return "macro_auc" if macro and key.name == "auc" else None
    if key.HasField("sub_key"):
        if key.sub_key.HasField("class_id") and key.name in PER_CLASS_METRICS:
            return class_metric(key.name, _class_name(key.sub_key.class_id.value, classes))
        return None
    name = _RECORDED_NAMES.get(key.name, key.name)
    return name if name in METRICS or name in MULTI_CLASS_METRICS else None


def _ordered(per_slice: dict[str, Any]) -> dict[str, Any]:
    """Overall first, then the per-source slices, then the others."""
    order = sorted(
        per_slice,
        key=lambda name: (name != OVERALL, not name.startswith(SOURCE_FEATURE + "="), name),
    )
    return {name: per_slice[name] for name in order}


def read_evaluation(
    evaluation_uri: str, classes: Sequence[str] = (), same_as: Optional[Mapping[str, str]] = None
) -> dict[str, dict[str, float]]:
    """The Evaluator's configured metrics per slice, read from its output.

    Args:
      evaluation_uri: A ModelEvaluation artifact's URI (local or `gs://`).
      classes: The label's classes in model order (`label_classes`), which
        name the per-class metrics; a class not among them is named by its
        number.
      same_as: The slices named after a computed one (`same_slices`).

    Returns:
      Slice name -> metric name (see `METRICS`, `MULTI_CLASS_METRICS`,
      `PER_CLASS_METRICS`) -> value; the overall slice first.
    """
    import tensorflow_model_analysis as tfma

    per_slice: dict[str, dict[str, float]] = {}
    for metrics in tfma.load_metrics(evaluation_uri):
        values = {}
        for item in metrics.metric_keys_and_values:
            name = _recorded_name(item.key, classes)
            if name is not None:
                values[name] = item.value.double_value.value
        per_slice[slice_name(tfma.slicer.deserialize_slice_key(metrics.slice_key))] = values
    return with_same_slices(per_slice, same_as or {})


def read_confusion_matrices(
    evaluation_uri: str, classes: Sequence[str] = (), same_as: Optional[Mapping[str, str]] = None
) -> dict[str, dict[str, dict[str, float]]]:
    """The candidate's test confusion matrix per slice (three or more classes).

    Args:
      evaluation_uri: A ModelEvaluation artifact's URI (local or `gs://`).
      classes: The label's classes in model order, which name rows and columns.
      same_as: The slices named after a computed one (`same_slices`).

    Returns:
      Slice name -> actual class -> predicted class -> rows, every class of
      `classes` present (0 where no row was), plus NO_PREDICTION when some
      row's top class fell below TFMA's threshold; {} for an evaluation
      without MultiClassConfusionMatrixPlot (a two-class label).
    """
    import tensorflow_model_analysis as tfma

    per_slice: dict[str, dict[str, dict[str, float]]] = {}
    for plots in tfma.load_plots(evaluation_uri):
        for item in plots.plot_keys_and_values:
            key = item.key
            if key.name != CONFUSION_PLOT or key.model_name not in ("", CANDIDATE_MODEL):
                continue
            matrices = item.value.multi_class_confusion_matrix_at_thresholds.matrices
            if not matrices:
                continue
            matrix = {a: {p: 0.0 for p in classes} for a in classes}
            for entry in matrices[0].entries:
                actual = _class_name(entry.actual_class_id, classes)
                predicted = _class_name(entry.predicted_class_id, classes)
                row = matrix.setdefault(actual, {p: 0.0 for p in classes})
                row[predicted] = row.get(predicted, 0.0) + entry.num_weighted_examples
            name = slice_name(tfma.slicer.deserialize_slice_key(plots.slice_key))
            per_slice[name] = {
                actual: {p: _count(n) for p, n in row.items()} for actual, row in matrix.items()
            }
    return with_same_slices(per_slice, same_as or {})


def _count(n: float) -> float:
    """A row count as an int when whole (unweighted examples), else as it is."""
    return int(n) if float(n).is_integer() else n


def label_classes(model_uri: str) -> tuple[str, ...]:
    """The classes of a Trainer's model, in model order, from its label file.

    Args:
      model_uri: A Model artifact's URI (the Trainer exports the SavedModel
        into its `Format-Serving` folder).

    Returns:
      The classes, or () for a model without a label file.
    """
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    from core.labels import LabelSpec
    from models.model import LABEL_FILE

    path = os.path.join(model_uri, SERVING_MODEL_FOLDER, LABEL_FILE)
    if not fileio.exists(path):
        return ()
    with fileio.open(path, "r") as f:
        return LabelSpec.from_dict(json.loads(f.read())).classes or ()


def read_rows_per_source(statistics_uri: str, split: str = TRAIN_SPLIT) -> dict[str, int]:
    """Rows per source in one split, from StatisticsGen's output.

    Args:
      statistics_uri: An ExampleStatistics artifact's URI.
      split: The split to count.

    Returns:
      Source -> rows, or {} when the split has no `source` feature.
    """
    import tensorflow_data_validation as tfdv

    path = os.path.join(statistics_uri, f"Split-{split}", "FeatureStats.pb")
    statistics = tfdv.load_stats_binary(path)
    for feature in statistics.datasets[0].features:
        if list(feature.path.step) == [SOURCE_FEATURE]:
            return _value_counts(feature)
    return {}


def _value_counts(feature: Any) -> dict[str, int]:
    """A string feature's exact value counts from its TFDV statistics.

    StatisticsGen does not sample by default, so the counts are exact. The top
    values list holds at most 20 values, the rank histogram up to 1,000; beyond
    that the rest is counted under OTHER_SOURCES so the total stays exact.
    """
    stats = feature.string_stats
    if len(stats.top_values) >= stats.unique:
        counts = {v.value: int(v.frequency) for v in stats.top_values}
    else:
        counts = {b.label: int(b.sample_count) for b in stats.rank_histogram.buckets}
    rest = int(stats.common_stats.num_non_missing) - sum(counts.values())
    if rest > 0:
        counts[OTHER_SOURCES] = rest
    return counts


def outputs_by_component(
    store: metadata_store.MetadataStore, run_id: str
) -> dict[str, list[metadata_store_pb2.Artifact]]:
    """Component id -> the artifacts its execution(s) in the run output (cached ones too)."""
    context = names.run_context(store, run_id)
    if context is None:
        return {}
    found: dict[str, list[metadata_store_pb2.Artifact]] = {}
    for execution in store.get_executions_by_context(context.id):
        contexts = store.get_contexts_by_execution(execution.id)
        if not any(c.type == names.NODE_CONTEXT for c in contexts):
            continue
        events = store.get_events_by_execution_ids([execution.id])
        ids = [e.artifact_id for e in events if e.type in names.OUTPUT_EVENTS]
        found.setdefault(names.component_of(contexts, execution), []).extend(
            store.get_artifacts_by_id(ids) if ids else []
        )
    return found


def _component_output(
    store: metadata_store.MetadataStore, run_id: str, component: str, artifact_type: str
) -> Optional[metadata_store_pb2.Artifact]:
    """The run's newest `artifact_type` output of the component with id `component`."""
    found = [
        a for a in outputs_by_component(store, run_id).get(component, []) if a.type == artifact_type
    ]
    return max(found, key=lambda a: a.id) if found else None


def collect(store: metadata_store.MetadataStore, run_id: str) -> RunResults:
    """Reads a run's training rows per source and test metrics from its artifacts.

    The per-class metrics and the confusion matrix name the classes as the
    run's model does (its label file, see `label_classes`).
    """
    statistics = _component_output(store, run_id, "StatisticsGen", names.EXAMPLE_STATISTICS)
    evaluation = _component_output(store, run_id, "Evaluator", names.MODEL_EVALUATION)
    ingested = _component_output(store, run_id, "CsvExampleGen", names.EXAMPLES)
    model = _component_output(store, run_id, "Trainer", names.MODEL)
    classes = label_classes(model.uri) if evaluation and model else ()
    same_as = same_slices(evaluation) if evaluation else {}
    return RunResults(
        training_rows_per_source=read_rows_per_source(statistics.uri) if statistics else {},
        evaluation=read_evaluation(evaluation.uri, classes, same_as) if evaluation else {},
        spans_per_source=run_summary.spans_read(ingested) if ingested else {},
        confusion_matrices=(
            read_confusion_matrices(evaluation.uri, classes, same_as) if evaluation else {}
        ),
    )


def record(store: metadata_store.MetadataStore, run_id: str, results: RunResults) -> None:
    """Writes the results as custom properties of the run's context."""
    context = names.run_context(store, run_id)
    if context is None:
        return
    context.custom_properties[TRAINING_ROWS_PROPERTY].string_value = json.dumps(
        results.training_rows_per_source
    )
    context.custom_properties[EVALUATION_PROPERTY].string_value = json.dumps(results.evaluation)
    if results.spans_per_source:
        context.custom_properties[SPANS_PROPERTY].string_value = json.dumps(
            results.spans_per_source
        )
    if results.confusion_matrices:
        context.custom_properties[CONFUSION_PROPERTY].string_value = json.dumps(
            results.confusion_matrices
        )
    store.put_contexts([context])


def recorded(context: metadata_store_pb2.Context) -> RunResults:
    """The results `record` wrote on a run context (empty if it wrote none)."""

    def load(name: str) -> Any:
        value = context.custom_properties.get(name)
        return json.loads(value.string_value) if value is not None and value.string_value else {}

    return RunResults(
        load(TRAINING_ROWS_PROPERTY),
        load(EVALUATION_PROPERTY),
        load(SPANS_PROPERTY),
        load(CONFUSION_PROPERTY),
    )
