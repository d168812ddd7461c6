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

from pipeline.runs import PIPELINE_RUN_CONTEXT

NODE_CONTEXT = "node"
PUSHED_MODEL_TYPE = "PushedModel"


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


def _state_name(execution: metadata_store_pb2.Execution) -> str:
    return metadata_store_pb2.Execution.State.Name(execution.last_known_state)


def record_run_config(store: metadata_store.MetadataStore, run_id: str, config: Any) -> None:
    """Records the config file and its sha256 on the run's context in MLMD.

    The run context is created by the orchestrator; adding these properties
    afterwards makes every run say which config produced it.
    """
    context = store.get_context_by_type_and_name(PIPELINE_RUN_CONTEXT, run_id)
    if context is None:
        return
    context.custom_properties["config_path"].string_value = config.config_path
    context.custom_properties["config_hash"].string_value = config.config_hash
    store.put_contexts([context])


def latest_run_id(store: metadata_store.MetadataStore, pipeline_name: str) -> Optional[str]:
    """Returns the newest run id of `pipeline_name`, or None if it never ran."""
    runs = [
        c
        for c in store.get_contexts_by_type(PIPELINE_RUN_CONTEXT)
        if any(p.name == pipeline_name for p in store.get_parent_contexts_by_context(c.id))
    ]
    if not runs:
        return None
    return max(runs, key=lambda c: (c.create_time_since_epoch, c.id)).name


def _component_id(store: metadata_store.MetadataStore, execution_id: int, pipeline: str) -> str:
    for context in store.get_contexts_by_execution(execution_id):
        if context.type == NODE_CONTEXT or context.name.startswith(pipeline + "."):
            if context.name.startswith(pipeline + "."):
                return context.name[len(pipeline) + 1 :]
    return "?"


def _output_artifacts(
    store: metadata_store.MetadataStore, execution_id: int
) -> list[metadata_store_pb2.Artifact]:
    events = store.get_events_by_execution_ids([execution_id])
    ids = [e.artifact_id for e in events if e.type == metadata_store_pb2.Event.OUTPUT]
    return store.get_artifacts_by_id(ids) if ids else []


def summarize_run(
    store: metadata_store.MetadataStore, pipeline_name: str, run_id: str
) -> RunSummary:
    """Reads one run's executions and key outputs from MLMD.

    Args:
      store: The metadata store the run wrote to.
      pipeline_name: The pipeline's name.
      run_id: The run's id (the `pipeline_run` context name).

    Returns:
      The run summary, components in execution order.

    Raises:
      LookupError: No such run in the store.
    """
    context = store.get_context_by_type_and_name(PIPELINE_RUN_CONTEXT, run_id)
    if context is None:
        raise LookupError(f"no run {run_id!r} in the metadata store")
    executions = sorted(
        store.get_executions_by_context(context.id), key=lambda e: (e.create_time_since_epoch, e.id)
    )
    components = []
    pushed_model = None
    split_counts: dict[str, dict[str, int]] = {}
    cleaning = rejected_uri = None
    for execution in executions:
        components.append(
            ComponentRun(
                component_id=_component_id(store, execution.id, pipeline_name),
                state=_state_name(execution),
                seconds=(execution.last_update_time_since_epoch - execution.create_time_since_epoch)
                / 1000.0,
                execution_id=execution.id,
            )
        )
        for artifact in _output_artifacts(store, execution.id):
            props = artifact.custom_properties
            if "pushed_destination" in props and props.get("pushed") and props["pushed"].int_value:
                pushed_model = props["pushed_destination"].string_value
            if "accounting" in props and "kept" in props:
                cleaning = json.loads(props["accounting"].string_value)
            elif "accounting" in props:
                rejected_uri = artifact.uri
            if "split_counts" in props:
                split_counts = json.loads(props["split_counts"].string_value)
                if "ratios" in props:  # list splits in their configured order
                    order = list(json.loads(props["ratios"].string_value))
                    split_counts = {k: split_counts[k] for k in order if k in split_counts}
    return RunSummary(run_id, components, pushed_model, split_counts, cleaning, rejected_uri)


def _by_key(per_stratum: dict[str, int]) -> str:
    """Totals per stratum component: {"label=1|source=web": 3} -> "label 1: 3 | source web: 3"."""
    totals: dict[str, dict[str, int]] = {}
    for stratum, n in per_stratum.items():
        for part in stratum.split("|"):
            key, _, value = part.partition("=")
            totals.setdefault(key, {})
            totals[key][value] = totals[key].get(value, 0) + n
    return " | ".join(
        f"{key} " + ", ".join(f"{value}: {n:,}" for value, n in sorted(values.items()))
        for key, values in totals.items()
    )


def _cleaning_lines(accounting: dict, rejected_uri: Optional[str]) -> list[str]:
    """The cleaning accounting: rows in, kept and removed per reason."""
    per_source = ", ".join(
        f"{source} {accounting['kept_per_source'].get(source, 0):,} of {n:,}"
        for source, n in accounting["rows_in_per_source"].items()
    )
    removed = ", ".join(f"{reason} {n:,}" for reason, n in accounting["removed_per_reason"].items())
    lines = [
        f"  cleaning: kept {accounting['kept']:,} of {accounting['rows_in']:,} rows ({per_source})",
        f"            removed: {removed or 'none'}; "
        f"{accounting['label_conflicts']:,} label conflicts among merged rows",
    ]
    if accounting.get("spam_ids") is not None:
        lines.append(
            f"            spam list: {accounting['spam_ids']:,} ids "
            f"({accounting['spam_ids_not_in_data']:,} not in the data)"
        )
    if rejected_uri:
        lines.append(f"            removed rows, each with its reject_reason: {rejected_uri}")
    return lines


_METRIC_COLUMNS = (
    ("AUC", "auc"),
    ("accuracy", "binary_accuracy"),
    ("precision", "precision"),
    ("recall", "recall"),
)


def _evaluation_lines(evaluation: dict[str, dict[str, float]]) -> list[str]:
    """The test metrics per slice: overall, per source, per labelling method."""
    width = max(len(name) for name in evaluation) + 2
    header = f"    {'slice':<{width}}{'examples':>8}" + "".join(
        f"{title:>11}" for title, _ in _METRIC_COLUMNS
    )
    lines = ["  test metrics by slice (Evaluator):", header]
    for name, metrics in evaluation.items():
        count = metrics.get("example_count")
        row = f"    {name:<{width}}{int(count) if count is not None else '-':>8}"
        for _, key in _METRIC_COLUMNS:
            value = metrics.get(key)
            row += f"{value:>11.3f}" if value is not None else f"{'-':>11}"
        lines.append(row)
    return lines


def format_summary(summary: RunSummary, output_root: str, store_name: str) -> str:
    """Renders a run summary as a short plain-text table and pointers."""
    width = max([len(c.component_id) for c in summary.components] + [9])
    lines = [f"Run {summary.run_id}", ""]
    lines.append(f"  {'component':<{width}}  {'status':<9} {'wall time':>9}")
    for c in summary.components:
        lines.append(f"  {c.component_id:<{width}}  {c.state:<9} {c.seconds:>8.1f}s")
    if summary.cleaning:
        lines += [""] + _cleaning_lines(summary.cleaning, summary.rejected_uri)
    if summary.split_counts:
        lines.append("")
        lines.append("  rows per split:")
        for split, per_stratum in summary.split_counts.items():
            lines.append(f"    {split:<6} {sum(per_stratum.values()):>7,}  {_by_key(per_stratum)}")
    if summary.evaluation:
        lines += [""] + _evaluation_lines(summary.evaluation)
    lines += [
        "",
        f"  outputs:        {output_root}",
        f"  metadata store: {store_name}",
        f"  pushed model:   {summary.pushed_model or 'none (not blessed by the Evaluator)'}",
    ]
    return "\n".join(lines)
