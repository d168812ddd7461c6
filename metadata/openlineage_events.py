"""A pipeline's record in ML Metadata as OpenLineage run events.

Every execution of the pipeline (each TFX component of each run, each
scoring, skew check and batch transform) is one OpenLineage run of the job
`<pipeline>.<component id>` in the configured namespace: a START event at
the execution's creation time, then COMPLETE (COMPLETE or CACHED in MLMD),
FAIL or ABORT (CANCELED) at its last update. A pipeline run is a run of the
job `<pipeline>` too, and the `parent` facet of each of its components'
runs. Run ids are UUIDv5s of the execution id (or run name) and of the
pipeline's creation in the store, so exporting again gives the same ids.

Each event is keyed (`execution/<id>/START`, `run/<name>/COMPLETE`, ...)
so a delivery can tell what it has already sent (`metadata.openlineage_sent`).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import uuid
from typing import Any, Optional, Sequence

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.facet_v2 import error_message_run, job_type_job, parent_run

from core.errors import CascadeError
from metadata import names, openlineage_datasets, openlineage_facets, runs
from metadata.lineage import Lineage, property_values
from metadata.openlineage_datasets import Artifact

# Who produced the events (OpenLineage's `producer`: a URI naming the code).
PRODUCER = "https://cascade.dev/openlineage"
INTEGRATION = "CASCADE"
_STATES = {
    metadata_store_pb2.Execution.COMPLETE: RunState.COMPLETE,
    metadata_store_pb2.Execution.CACHED: RunState.COMPLETE,
    metadata_store_pb2.Execution.FAILED: RunState.FAIL,
    metadata_store_pb2.Execution.CANCELED: RunState.ABORT,
}
# What `Lineage.runs` says of a pipeline run, as the state of its last event.
_RUN_STATES = {
    "COMPLETE": RunState.COMPLETE,
    "NOT_PUSHED": RunState.COMPLETE,
    "FAILED": RunState.FAIL,
    "GATED": RunState.FAIL,
}
# The input whose data a step checked, by the step's input key.
_CHECKED_INPUTS = ("examples", "serving_data", "statistics")
# TFX records why an execution failed as JSON in this custom property
# (tfx.orchestration.portable.mlmd.execution_lib, not public API).
_EXECUTION_RESULT = "__execution_result__"


@dataclasses.dataclass(frozen=True)
class KeyedEvent:
    """One event and what it stands for, so a delivery can skip what it has sent.

    Attributes:
      key: `execution/<id>/<state>` or `run/<run name>/<state>`.
      event: The OpenLineage event.
    """

    key: str
    event: RunEvent


def event_time(ms: int) -> str:
    """An MLMD time (epoch milliseconds) as an ISO 8601 time in UTC."""
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds")


def run_id(pipeline: metadata_store_pb2.Context, kind: str, name: str) -> str:
    """A stable run id: a UUIDv5 of the pipeline's creation in the store and the record.

    Args:
      pipeline: The pipeline's context (its name and creation time tell two
        stores' executions with the same id apart).
      kind: `execution` or `run`.
      name: The execution id or the run's name.
    """
    seed = f"mlmd://{pipeline.name}@{pipeline.create_time_since_epoch}/{kind}/{name}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, seed))


@dataclasses.dataclass
class _Records:
    """The pipeline's executions, events and artifacts, read once."""

    pipeline: metadata_store_pb2.Context
    executions: list[metadata_store_pb2.Execution]
    component: dict[int, str]
    run_of: dict[int, str]
    inputs: dict[int, list[tuple[str, int]]]
    outputs: dict[int, list[tuple[str, int]]]
    artifacts: dict[int, Artifact]


def _read(store: metadata_store.MetadataStore, pipeline_name: str) -> _Records:
    """Reads what the events are built from.

    Raises:
      CascadeError: The store holds no such pipeline (naming the others).
    """
    pipeline = names.pipeline_context(store, pipeline_name)
    if pipeline is None:
        raise CascadeError(
            f"no pipeline {pipeline_name!r} in the metadata store"
            + runs.other_pipelines_hint(store, pipeline_name)
        )
    executions = sorted(store.get_executions_by_context(pipeline.id), key=lambda e: e.id)
    run_of = {}
    for context in store.get_children_contexts_by_context(pipeline.id):
        if context.type == names.RUN_CONTEXT:
            for execution in store.get_executions_by_context(context.id):
                run_of[execution.id] = context.name
    inputs: dict[int, list[tuple[str, int]]] = {}
    outputs: dict[int, list[tuple[str, int]]] = {}
    ids = [e.id for e in executions]
    events = store.get_events_by_execution_ids(ids) if ids else []
    for event in events:
        key = event.path.steps[0].key if event.path.steps else ""
        if event.type in names.INPUT_EVENTS:
            inputs.setdefault(event.execution_id, []).append((key, event.artifact_id))
        elif event.type in names.OUTPUT_EVENTS:
            outputs.setdefault(event.execution_id, []).append((key, event.artifact_id))
    artifact_ids = sorted({e.artifact_id for e in events})
    type_names = {t.id: t.name for t in store.get_artifact_types()}
    artifacts = {
        a.id: Artifact(
            id=a.id,
            type=a.type or type_names.get(a.type_id, ""),
            uri=a.uri,
            properties=property_values(a.properties),
            custom=property_values(a.custom_properties),
        )
        for a in (store.get_artifacts_by_id(artifact_ids) if artifact_ids else [])
    }
    return _Records(
        pipeline=pipeline,
        executions=executions,
        component=names.components_by_execution(store),
        run_of=run_of,
        inputs={k: sorted(v, key=lambda p: p[1]) for k, v in inputs.items()},
        outputs={k: sorted(v, key=lambda p: p[1]) for k, v in outputs.items()},
        artifacts=artifacts,
    )


class _Facts:
    """The files' facts (statistics, anomalies) of the artifacts, each read once."""

    def __init__(self, records: _Records) -> None:
        self._records = records
        self._statistics: dict[int, dict[str, Any]] = {}
        self._anomalies: dict[int, dict[str, Any]] = {}
        # Data artifact -> the statistics a step computed of it (StatisticsGen's
        # of the split examples, a scoring's of the serving data).
        self.statistics_of: dict[int, int] = {}
        for execution_id, read in records.inputs.items():
            written = records.outputs.get(execution_id, [])
            stats = [a for k, a in written if records.artifacts[a].type == names.EXAMPLE_STATISTICS]
            if len(stats) != 1:
                continue
            for key, artifact_id in read:
                if key in ("examples", "serving_data"):
                    self.statistics_of.setdefault(artifact_id, stats[0])

    def statistics(self, artifact_id: int) -> Optional[dict[str, Any]]:
        """Split -> TFDV statistics of a data artifact's data (None when none were computed)."""
        stats_id = self.statistics_of.get(artifact_id)
        if stats_id is None:
            return None
        if stats_id not in self._statistics:
            artifact = self._records.artifacts[stats_id]
            self._statistics[stats_id] = openlineage_datasets.read_statistics(artifact)
        return self._statistics[stats_id]

    def anomalies(self, artifact_id: int) -> dict[str, Any]:
        if artifact_id not in self._anomalies:
            artifact = self._records.artifacts[artifact_id]
            self._anomalies[artifact_id] = openlineage_datasets.read_anomalies(artifact)
        return self._anomalies[artifact_id]


def _assertions(records: _Records, facts: _Facts, execution_id: int) -> Optional[Any]:
    """The checks a step made, from what it wrote: quarantine, schema, gate or skew."""
    for key, artifact_id in records.outputs.get(execution_id, []):
        artifact = records.artifacts[artifact_id]
        if key == "cleaned_examples":
            accounting = artifact.json("accounting")
            if isinstance(accounting, dict):
                return openlineage_facets.quarantine_assertions(accounting)
        if key == "skew_anomalies":
            anomalies = facts.anomalies(artifact_id)
            return openlineage_facets.skew_assertions(next(iter(anomalies.values()), None))
        if key == "anomalies" and artifact.type == names.EXAMPLE_ANOMALIES:
            return openlineage_facets.schema_anomaly_assertions(facts.anomalies(artifact_id))
        if key == "report" and "verdict" in artifact.custom:
            return openlineage_facets.gate_assertions(artifact.custom)
    return None


def _job_facets(job_type: str) -> dict[str, Any]:
    return {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration=INTEGRATION, jobType=job_type
        )
    }


def _execution_events(
    records: _Records, facts: _Facts, execution: metadata_store_pb2.Execution, namespace: str
) -> list[KeyedEvent]:
    """START and, once it ended, the final event of one execution."""
    pipeline_name = records.pipeline.name
    component = records.component.get(execution.id) or execution.type.rsplit(".", 1)[-1]
    run_name = records.run_of.get(execution.id)
    run_facets: dict[str, Any] = {}
    if run_name is not None:
        parent_id = run_id(records.pipeline, "run", run_name)
        run_facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent_id),
            job=parent_run.Job(namespace=namespace, name=pipeline_name),
            root=parent_run.Root(
                run=parent_run.RootRun(runId=parent_id),
                job=parent_run.RootJob(namespace=namespace, name=pipeline_name),
            ),
        )
    checked = _assertions(records, facts, execution.id)
    props = property_values(execution.custom_properties) | property_values(execution.properties)
    outputs = [records.artifacts[a] for _, a in records.outputs.get(execution.id, [])]
    inputs = openlineage_datasets.raw_inputs(props, outputs)
    for key, artifact_id in records.inputs.get(execution.id, []):
        artifact = records.artifacts[artifact_id]
        inputs.append(
            openlineage_datasets.input_dataset(
                artifact,
                facts.statistics(artifact_id),
                checked if key in _CHECKED_INPUTS else None,
            )
        )
    output_datasets = [
        openlineage_datasets.output_dataset(a, facts.statistics(a.id)) for a in outputs
    ]
    job = Job(
        namespace=namespace,
        name=f"{pipeline_name}.{component}",
        facets=_job_facets("TASK" if run_name else "JOB"),
    )
    identity = run_id(records.pipeline, "execution", str(execution.id))
    found = [
        KeyedEvent(
            f"execution/{execution.id}/{RunState.START.value}",
            RunEvent(
                eventType=RunState.START,
                eventTime=event_time(execution.create_time_since_epoch),
                run=Run(runId=identity, facets=dict(run_facets)),
                job=job,
                inputs=inputs,
                outputs=output_datasets,
                producer=PRODUCER,
            ),
        )
    ]
    state = _STATES.get(execution.last_known_state)
    if state is not None:
        final_facets = dict(run_facets)
        message = _failure_message(execution)
        if state == RunState.FAIL and message:
            final_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=message, programmingLanguage="PYTHON"
            )
        found.append(
            KeyedEvent(
                f"execution/{execution.id}/{state.value}",
                RunEvent(
                    eventType=state,
                    eventTime=event_time(execution.last_update_time_since_epoch),
                    run=Run(runId=identity, facets=final_facets),
                    job=job,
                    inputs=inputs,
                    outputs=output_datasets,
                    producer=PRODUCER,
                ),
            )
        )
    return found


def _failure_message(execution: metadata_store_pb2.Execution) -> Optional[str]:
    """Why TFX says an execution failed, if it recorded it."""
    value = execution.custom_properties.get(_EXECUTION_RESULT)
    if value is None:
        return None
    try:
        return json.loads(value.string_value).get("resultMessage") or None
    except (ValueError, AttributeError):
        return None


def _run_events(
    records: _Records, run: dict[str, Any], end_ms: int, namespace: str
) -> list[KeyedEvent]:
    """START and, once it ended, the final event of one pipeline run (the parent job)."""
    identity = run_id(records.pipeline, "run", run["run"])
    job = Job(namespace=namespace, name=records.pipeline.name, facets=_job_facets("DAG"))
    found = [
        KeyedEvent(
            f"run/{run['run']}/{RunState.START.value}",
            RunEvent(
                eventType=RunState.START,
                eventTime=event_time(run["start_ms"]),
                run=Run(runId=identity),
                job=job,
                producer=PRODUCER,
            ),
        )
    ]
    state = _RUN_STATES.get(run["status"])
    if state is not None:
        found.append(
            KeyedEvent(
                f"run/{run['run']}/{state.value}",
                RunEvent(
                    eventType=state,
                    eventTime=event_time(max(end_ms, run["start_ms"])),
                    run=Run(runId=identity),
                    job=job,
                    producer=PRODUCER,
                ),
            )
        )
    return found


@dataclasses.dataclass(frozen=True)
class Selection:
    """Which of a pipeline's records to build events of.

    Attributes:
      since_run: Only what came after this run: later runs, and executions
        outside runs (scorings) recorded after its last execution.
      run: Only this run's executions (and the run itself).
      execution_ids: Only these executions (a scoring, a batch transform), no run.
    """

    since_run: Optional[str] = None
    run: Optional[str] = None
    execution_ids: Sequence[int] = ()


def _selected(
    records: _Records, run_list: list[dict[str, Any]], selection: Selection
) -> tuple[list[metadata_store_pb2.Execution], list[dict[str, Any]]]:
    """The executions and pipeline runs a selection keeps.

    Raises:
      CascadeError: `since_run` or `run` names no run of the pipeline.
    """
    known = [r["run"] for r in run_list]
    for asked, flag in ((selection.since_run, "--since"), (selection.run, "run")):
        if asked is not None and asked not in known:
            listed = ", ".join(known[-5:]) or "none"
            raise CascadeError(
                f"{flag} {asked}: no such run of pipeline {records.pipeline.name!r} "
                f"(latest runs: {listed}; `cascade lineage runs` lists them)"
            )
    executions, kept_runs = records.executions, run_list
    if selection.execution_ids:
        wanted = set(selection.execution_ids)
        return [e for e in executions if e.id in wanted], []
    if selection.run is not None:
        kept_runs = [r for r in run_list if r["run"] == selection.run]
        return [e for e in executions if records.run_of.get(e.id) == selection.run], kept_runs
    if selection.since_run is not None:
        position = known.index(selection.since_run)
        earlier = set(known[: position + 1])
        last = max(
            (e.id for e in executions if records.run_of.get(e.id) == selection.since_run),
            default=0,
        )
        executions = [
            e
            for e in executions
            if records.run_of.get(e.id) not in earlier and (e.id in records.run_of or e.id > last)
        ]
        kept_runs = run_list[position + 1 :]
    return executions, kept_runs


def build_events(
    store: metadata_store.MetadataStore,
    pipeline_name: str,
    namespace: str,
    selection: Selection = Selection(),
) -> list[KeyedEvent]:
    """The OpenLineage events of a pipeline's record, in time order.

    Args:
      store: The metadata store.
      pipeline_name: The pipeline (its MLMD context's name).
      namespace: The job namespace.
      selection: Which runs and executions (all by default).

    Returns:
      The events, oldest first (a run's START before its components').

    Raises:
      CascadeError: No such pipeline, or the selection names an unknown run.
    """
    records = _read(store, pipeline_name)
    run_list = [r for r in Lineage(store).runs() if r["pipeline"] == pipeline_name]
    executions, kept_runs = _selected(records, run_list, selection)
    facts = _Facts(records)
    found: list[tuple[str, int, KeyedEvent]] = []
    ends: dict[str, int] = {}
    for execution in records.executions:
        name = records.run_of.get(execution.id)
        if name is not None:
            ends[name] = max(ends.get(name, 0), execution.last_update_time_since_epoch)
    for run in kept_runs:
        for order, keyed in enumerate(
            _run_events(records, run, ends.get(run["run"], 0), namespace)
        ):
            # A run starts before its components and ends after them.
            found.append((keyed.event.eventTime, -1 if order == 0 else 1, keyed))
    for execution in executions:
        for keyed in _execution_events(records, facts, execution, namespace):
            found.append((keyed.event.eventTime, 0, keyed))
    found.sort(key=lambda item: (item[0], item[1]))
    return [keyed for _, _, keyed in found]
