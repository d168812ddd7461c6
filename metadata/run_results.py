"""What a run produced, recorded on its run context in MLMD: data size and quality.

After each run, the runner reads two of the run's artifacts and writes the gist
on the run's `pipeline_run` context, so that comparing runs (the `history`
command) needs the metadata store alone:

- `training_rows_per_source`: training rows per source, from StatisticsGen's
  statistics of the train split (the `source` tag's value counts);
- `evaluation`: the Evaluator's test metrics, overall and per slice
  ({"overall": {...}, "source=web": {...}, "labelling_method=crowd": {...}});
- `spans_per_source`: the spans each spanned source was read from, from
  CsvExampleGen's Examples ({} when the sources are not spanned).

Cached steps count: a run that reused an earlier run's model records that
model's metrics.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Optional

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from core.provenance import SOURCE_FEATURE
from metadata import names, run_summary
from pipeline.config import CANDIDATE_MODEL

TRAINING_ROWS_PROPERTY = "training_rows_per_source"
EVALUATION_PROPERTY = "evaluation"
SPANS_PROPERTY = "spans_per_source"
TRAIN_SPLIT = "train"
OVERALL = "overall"
# Rows of sources beyond the ones TFDV's statistics name (more than 1,000 sources).
OTHER_SOURCES = "(other sources)"
# The metrics the Evaluator is configured with (pipeline.eval_config), by name.
METRICS = ("example_count", "auc", "binary_accuracy", "precision", "recall")


@dataclasses.dataclass(frozen=True)
class RunResults:
    """The recorded results of one run; empty when the run stopped before them."""

    training_rows_per_source: dict[str, int]
    evaluation: dict[str, dict[str, float]]
    spans_per_source: dict[str, list[int]] = dataclasses.field(default_factory=dict)

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
    parts = []
    for column, value in slice_key:
        text = value.decode("utf-8") if isinstance(value, bytes) else str(value)
        parts.append(f"{column}={text}")
    return " & ".join(parts)


def read_evaluation(evaluation_uri: str) -> dict[str, dict[str, float]]:
    """The Evaluator's configured metrics per slice, read from its output.

    Args:
      evaluation_uri: A ModelEvaluation artifact's URI (local or `gs://`).

    Returns:
      Slice name -> metric name -> value; the overall slice first.
    """
    import tensorflow_model_analysis as tfma

    per_slice: dict[str, dict[str, float]] = {}
    for metrics in tfma.load_metrics(evaluation_uri):
        values = {}
        for item in metrics.metric_keys_and_values:
            # Evaluations made with TFMA's default metrics also hold the model's
            # compiled metrics under the same names; only the configured ones
            # carry `example_weighted`.
            # With a baseline, TFMA adds the baseline's metrics and the
            # differences; the report is the candidate's.
            if (
                item.key.name in METRICS
                and item.key.HasField("example_weighted")
                and not item.key.is_diff
                and item.key.model_name in ("", CANDIDATE_MODEL)
            ):
                values[item.key.name] = item.value.double_value.value
        per_slice[slice_name(tfma.slicer.deserialize_slice_key(metrics.slice_key))] = values
    # Overall first, then the per-source slices, then the others.
    order = sorted(
        per_slice,
        key=lambda name: (name != OVERALL, not name.startswith(SOURCE_FEATURE + "="), name),
    )
    return {name: per_slice[name] for name in order}


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
    """Reads a run's training rows per source and test metrics from its artifacts."""
    statistics = _component_output(store, run_id, "StatisticsGen", names.EXAMPLE_STATISTICS)
    evaluation = _component_output(store, run_id, "Evaluator", names.MODEL_EVALUATION)
    ingested = _component_output(store, run_id, "CsvExampleGen", names.EXAMPLES)
    return RunResults(
        training_rows_per_source=read_rows_per_source(statistics.uri) if statistics else {},
        evaluation=read_evaluation(evaluation.uri) if evaluation else {},
        spans_per_source=run_summary.spans_read(ingested) if ingested else {},
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
    store.put_contexts([context])


def recorded(context: metadata_store_pb2.Context) -> RunResults:
    """The results `record` wrote on a run context (empty if it wrote none)."""

    def load(name: str) -> Any:
        value = context.custom_properties.get(name)
        return json.loads(value.string_value) if value is not None and value.string_value else {}

    return RunResults(load(TRAINING_ROWS_PROPERTY), load(EVALUATION_PROPERTY), load(SPANS_PROPERTY))
