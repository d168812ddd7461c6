"""What a pipeline run did, read back from ML Metadata.

The summary comes from the metadata store, not from the runner's memory, so it
shows what was recorded: each component's execution state (COMPLETE, CACHED,
FAILED), its wall time, and the outputs a user looks for next.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Optional

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from components.source_example_gen.properties import SOURCE_FACTS_PROPERTY
from metadata import names, runs


@dataclasses.dataclass(frozen=True)
class ComponentRun:
    """One component's execution in a run."""

    component_id: str
    state: str
    seconds: float
    execution_id: int


@dataclasses.dataclass(frozen=True)
class RunSummary:
    """A pipeline run as recorded in MLMD."""

    run_id: str
    components: list[ComponentRun]
    pushed_model: Optional[str]
    split_counts: dict[str, dict[str, int]]
    cleaning: Optional[dict] = None
    rejected_uri: Optional[str] = None
    evaluation: Optional[dict[str, dict[str, float]]] = None
    # Stratum -> rows per split (every split, in order), for the strata with
    # fewer rows than there are splits (see `small_strata`).
    small_strata: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    # Source -> the spans ingested (spanned sources only; see `spans_read`).
    spans: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    # Split -> label class -> rows, splits in their configured order.
    class_counts: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    # The overall test confusion matrix, actual class -> predicted class -> rows
    # (three or more classes; see `run_results.read_confusion_matrices`).
    confusion_matrix: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)


def _state_name(execution: metadata_store_pb2.Execution) -> str:
    return metadata_store_pb2.Execution.State.Name(execution.last_known_state)


def record_run_config(store: metadata_store.MetadataStore, run_id: str, config: Any) -> None:
    """Records the config file and its sha256 on the run's context in MLMD.

    The run context is created by the orchestrator; adding these properties
    afterwards makes every run say which config produced it.
    """
    context = names.run_context(store, run_id)
    if context is None:
        return
    context.custom_properties[names.CONFIG_PATH].string_value = config.config_path
    context.custom_properties[names.CONFIG_HASH].string_value = config.config_hash
    store.put_contexts([context])


def run_id_of_executions(
    store: metadata_store.MetadataStore, execution_ids: list[int]
) -> Optional[str]:
    """The run (the `pipeline_run` context) these executions were registered in.

    A run is found from its own executions rather than as the pipeline's
    newest run: another process may be running the same pipeline against the
    same store, and a run that failed before its first execution has no run
    of its own to report (the previous one must not be marked as it).

    Returns:
      The run id, or None when `execution_ids` is empty or none is in a run.
    """
    for execution_id in execution_ids:
        for context in store.get_contexts_by_execution(execution_id):
            if context.type == names.RUN_CONTEXT:
                return context.name
    return None


def newest_run_since(
    store: metadata_store.MetadataStore, pipeline_name: str, since_ms: int
) -> Optional[str]:
    """The newest run of `pipeline_name` created at or after `since_ms` (epoch ms), if any.

    The fallback for a run that failed before its process saw an execution of
    its own (a component's driver failing, say): it may still have a run.
    """
    recent = [
        c for c in runs.run_contexts(store, pipeline_name) if c.create_time_since_epoch >= since_ms
    ]
    return recent[-1].name if recent else None


def small_strata(
    split_counts: dict[str, dict[str, int]], stratum_counts: dict[str, int], splits: int
) -> dict[str, dict[str, int]]:
    """The strata with fewer rows than there are splits, and where their rows went.

    StratifiedSplit allows them (a split then gets none of the stratum) and
    warns about them in the run's log; these are the same strata, read from
    the counts it records on its output.

    Args:
      split_counts: Split -> stratum -> rows, splits in their configured order.
      stratum_counts: Stratum -> rows over all splits.
      splits: The number of splits the ratios name (an unlabeled split is not one).

    Returns:
      Stratum -> split -> rows (every split, 0 included), by stratum name.
    """
    return {
        stratum: {split: per_stratum.get(stratum, 0) for split, per_stratum in split_counts.items()}
        for stratum, n in sorted(stratum_counts.items())
        if n < splits
    }


def spans_read(artifact: metadata_store_pb2.Artifact) -> dict[str, list[int]]:
    """Source -> the spans an ingesting Examples artifact read ({} when unspanned).

    CsvSourceExampleGen records them per source in its `source_facts`.
    """
    value = artifact.custom_properties.get(SOURCE_FACTS_PROPERTY)
    if value is None or not value.string_value:
        return {}
    facts = json.loads(value.string_value)
    return {
        source: [entry["span"] for entry in measured["spans"]]
        for source, measured in facts.items()
        if measured.get("spans")
    }


def _output_artifacts(
    store: metadata_store.MetadataStore, execution_id: int
) -> list[metadata_store_pb2.Artifact]:
    events = store.get_events_by_execution_ids([execution_id])
    ids = [e.artifact_id for e in events if e.type in names.OUTPUT_EVENTS]
    return store.get_artifacts_by_id(ids) if ids else []


def summarize_run(store: metadata_store.MetadataStore, run_id: str) -> RunSummary:
    """Reads one run's executions and key outputs from MLMD.

    Args:
      store: The metadata store the run wrote to.
      run_id: The run's id (the `pipeline_run` context name).

    Returns:
      The run summary, components in execution order.

    Raises:
      LookupError: No such run in the store.
    """
    context = names.run_context(store, run_id)
    if context is None:
        raise LookupError(f"no run {run_id!r} in the metadata store")
    executions = sorted(
        store.get_executions_by_context(context.id), key=lambda e: (e.create_time_since_epoch, e.id)
    )
    components = []
    pushed_model = None
    split_counts: dict[str, dict[str, int]] = {}
    class_counts: dict[str, dict[str, int]] = {}
    small: dict[str, dict[str, int]] = {}
    cleaning = rejected_uri = None
    spans: dict[str, list[int]] = {}
    for execution in executions:
        components.append(
            ComponentRun(
                component_id=names.component_of(
                    store.get_contexts_by_execution(execution.id), execution
                ),
                state=_state_name(execution),
                seconds=(execution.last_update_time_since_epoch - execution.create_time_since_epoch)
                / 1000.0,
                execution_id=execution.id,
            )
        )
        for artifact in _output_artifacts(store, execution.id):
            props = artifact.custom_properties
            spans = spans_read(artifact) or spans
            if names.was_pushed(artifact):
                pushed_model = props[names.PUSHED_DESTINATION].string_value
            if "accounting" in props and "kept" in props:
                cleaning = json.loads(props["accounting"].string_value)
            elif "accounting" in props:
                rejected_uri = artifact.uri
            if "split_counts" in props:
                split_counts = json.loads(props["split_counts"].string_value)
                if "ratios" in props:  # list splits in their configured order
                    order = list(json.loads(props["ratios"].string_value))
                    split_counts = {k: split_counts[k] for k in order if k in split_counts}
                if "class_counts" in props:
                    class_counts = json.loads(props["class_counts"].string_value)
                if "stratum_counts" in props and "ratios" in props:
                    small = small_strata(
                        split_counts,
                        json.loads(props["stratum_counts"].string_value),
                        len(json.loads(props["ratios"].string_value)),
                    )
    return RunSummary(
        run_id,
        components,
        pushed_model,
        split_counts,
        cleaning,
        rejected_uri,
        small_strata=small,
        spans=spans,
        class_counts=class_counts,
    )
