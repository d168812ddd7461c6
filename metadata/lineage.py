"""Lineage questions answered from ML Metadata, as a Python API and a command.

TFX records every artifact, execution and event in MLMD; this module walks those
records so two questions take one command:

    cascade-lineage downstream data/demo/spam_accounts   # what did it affect?
    cascade-lineage upstream 42                          # where did it come from?

A REF is an MLMD artifact id, an artifact URI, or a raw input path (a file or
folder an ExampleGen read), which stands for the ExampleGen outputs that
ingested it. The store is the SQLite file a run wrote (opened read-only) or a
shared MySQL store.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
from typing import Any, Iterable, Mapping, Optional, Sequence

from ml_metadata import errors as mlmd_errors
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from components.source_example_gen.properties import (
    SOURCE_FACTS_PROPERTY,
    SOURCE_INVENTORY_PROPERTY,
)
from core.errors import CascadeError
from core.provenance import SOURCE_FEATURE
from metadata import artifact_files, names, run_verdict, subgraph
from pipeline.inventory import INVENTORY_FIELDS

# What `--where` can filter ingested sources by.
PROVENANCE_FIELDS = (SOURCE_FEATURE, *INVENTORY_FIELDS)
_OUTPUT_TYPES = names.OUTPUT_EVENTS
_INPUT_TYPES = names.INPUT_EVENTS
# Artifacts per event read when finding producers.
_EVENT_BATCH = 500


def run_status(states: Sequence[str], finished: bool) -> str:
    """A run's status from its executions' states.

    Args:
      states: Each node's MLMD state name (its latest execution's).
      finished: Whether the run's config was recorded, which `cascade run`
        does once LocalDagRunner has returned (failed or not), and a scheduled
        run after its last task or a failed one. A run killed
        outright (SIGKILL, a lost machine) never does, and may leave its steps
        COMPLETE or RUNNING with later steps never started.

    Returns:
      FAILED (a step failed); UNFINISHED (still running, or stopped before the
      end: a step is RUNNING, or the run never finished); or COMPLETE.
    """
    if "FAILED" in states:
        return "FAILED"
    if not finished or "RUNNING" in states or "NEW" in states:
        return "UNFINISHED"
    return "COMPLETE"


class LineageError(CascadeError):
    """A REF that names nothing, or a store that cannot be read."""


def _value(value: metadata_store_pb2.Value) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "proto_value":
        return str(value.proto_value)
    if kind == "struct_value":
        from google.protobuf import json_format

        return json_format.MessageToDict(value.struct_value)
    return getattr(value, kind)


def property_values(mapping: Mapping[str, metadata_store_pb2.Value]) -> dict[str, Any]:
    """MLMD (custom) properties as Python values, by sorted key (a struct as a dict)."""
    return {key: _value(mapping[key]) for key in sorted(mapping)}


@dataclasses.dataclass(frozen=True)
class ArtifactInfo:
    """One artifact as the lineage commands show it."""

    id: int
    type: str
    uri: str
    state: str
    properties: dict[str, Any]
    custom_properties: dict[str, Any]
    producer: Optional[int]
    # artifact_files.PRESENT / MISSING (deleted since it was recorded) / NO_URI / UNKNOWN.
    files: str = artifact_files.PRESENT


@dataclasses.dataclass(frozen=True)
class ExecutionInfo:
    """One component execution."""

    id: int
    component: str
    type: str
    state: str
    runs: tuple[str, ...]
    parameters: dict[str, Any]
    start_ms: int
    end_ms: int


@dataclasses.dataclass
class LineageGraph:
    """Artifacts and executions joined by events (input: artifact -> execution,
    output: execution -> artifact), and the runs the executions belong to."""

    artifacts: dict[int, ArtifactInfo] = dataclasses.field(default_factory=dict)
    executions: dict[int, ExecutionInfo] = dataclasses.field(default_factory=dict)
    edges: set[tuple[str, int, int]] = dataclasses.field(default_factory=set)
    roots: list[int] = dataclasses.field(default_factory=list)

    @property
    def runs(self) -> list[str]:
        return sorted({run for e in self.executions.values() for run in e.runs})

    def to_json(self) -> dict[str, Any]:
        """The documented JSON shape (see README, "Lineage")."""
        return {
            "roots": list(self.roots),
            "artifacts": [dataclasses.asdict(a) for _, a in sorted(self.artifacts.items())],
            "executions": [
                {**dataclasses.asdict(e), "runs": list(e.runs)}
                for _, e in sorted(self.executions.items())
            ],
            "edges": [
                {"kind": kind, "from": src, "to": dst} for kind, src, dst in sorted(self.edges)
            ],
            "runs": self.runs,
        }


class Lineage:
    """Read-only lineage queries over one MLMD store.

    Args:
      store: An open MLMD store.
    """

    def __init__(self, store: metadata_store.MetadataStore) -> None:
        self._store = store
        self._type_names: dict[int, str] = {}

    # --- single records -------------------------------------------------------

    def _type_name(self, artifact: metadata_store_pb2.Artifact) -> str:
        if artifact.type:
            return artifact.type
        if artifact.type_id not in self._type_names:
            [artifact_type] = self._store.get_artifact_types_by_id([artifact.type_id])
            self._type_names[artifact.type_id] = artifact_type.name
        return self._type_names[artifact.type_id]

    def _producer(self, artifact_id: int) -> Optional[int]:
        """The execution that first wrote the artifact (later ones reused it from cache)."""
        events = self._store.get_events_by_artifact_ids([artifact_id])
        produced = sorted(e.execution_id for e in events if e.type in _OUTPUT_TYPES)
        return produced[0] if produced else None

    def artifact(self, artifact_id: int) -> ArtifactInfo:
        """Returns one artifact with its properties and producing execution.

        Raises:
          LineageError: No artifact has this id.
        """
        found = self._store.get_artifacts_by_id([artifact_id])
        if not found:
            raise LineageError(f"no artifact with id {artifact_id} in the metadata store")
        artifact = found[0]
        return _artifact_info(artifact, self._type_name(artifact), self._producer(artifact.id))

    def execution(self, execution_id: int) -> ExecutionInfo:
        """Returns one execution with its component id, runs and parameters.

        Raises:
          LineageError: No execution has this id.
        """
        found = self._store.get_executions_by_id([execution_id])
        if not found:
            raise LineageError(f"no execution with id {execution_id} in the metadata store")
        try:
            contexts = self._store.get_contexts_by_execution(execution_id)
        except mlmd_errors.NotFoundError:  # an execution outside any context
            contexts = []
        return _execution_info(found[0], contexts)

    # --- REF resolution -------------------------------------------------------

    def resolve(self, ref: str) -> list[int]:
        """Returns the artifact ids a REF names.

        Args:
          ref: An artifact id, an artifact URI, a serving folder Pusher pushed a
            model to, or a raw input path (file or folder) that an ExampleGen read.

        Returns:
          Artifact ids, ascending.

        Raises:
          LineageError: The REF names nothing in the store.
        """
        text = ref.strip()
        if text.isdigit():
            if not self._store.get_artifacts_by_id([int(text)]):
                raise LineageError(f"no artifact matches {ref!r}: no artifact has id {text}")
            return [int(text)]
        by_uri = self._store.get_artifacts_by_uri(text) or self._store.get_artifacts_by_uri(
            os.path.abspath(text)
        )
        if by_uri:
            return sorted(a.id for a in by_uri)
        pushed = self._pushed_to(text)
        if pushed:
            return pushed
        ingested = self._ingested_by(text)
        if ingested:
            return ingested
        raise LineageError(
            f"no artifact matches {ref!r}: it is not an artifact id, an artifact URI, "
            "or a path any ExampleGen read"
        )

    def _pushed_to(self, path: str) -> list[int]:
        """PushedModel artifacts whose model Pusher copied to `path` (a serving dir)."""
        target = path.rstrip("/") if "://" in path else os.path.abspath(path)
        return sorted(
            a.id
            for a in self._store.get_artifacts_by_type(names.PUSHED_MODEL)
            if names.PUSHED_DESTINATION in a.custom_properties
            and a.custom_properties[names.PUSHED_DESTINATION].string_value.rstrip("/") == target
        )

    def _ingested_by(self, path: str) -> list[int]:
        """Output artifacts of ExampleGen executions whose input includes `path`."""
        return sorted(self.ingested_splits(path))

    def ingested_splits(self, path: str) -> dict[int, frozenset[str]]:
        """What read a raw input path: the ExampleGens' output artifacts, each with
        the input splits (sources) whose files the path is or holds.

        Args:
          path: A file or folder (local or a URI).

        Returns:
          Artifact id -> split names; empty when no ExampleGen read the path.
        """
        target = path.rstrip("/") if "://" in path else os.path.abspath(path)
        found: dict[int, frozenset[str]] = {}
        for execution in self._store.get_executions():
            props = execution.custom_properties
            if "input_base" not in props:
                continue
            base = props["input_base"].string_value.rstrip("/")
            declared = _splits(props)
            splits = frozenset(
                name for name, pattern in declared if _path_in_input(target, base, [pattern])
            )
            if not splits and (declared or not _path_in_input(target, base, [])):
                continue
            events = self._store.get_events_by_execution_ids([execution.id])
            for event in events:
                if event.type in _OUTPUT_TYPES:
                    found[event.artifact_id] = found.get(event.artifact_id, frozenset()) | splits
        return found

    def ingested_where(self, conditions: Mapping[str, str]) -> list[int]:
        """Ingested Examples with a source whose provenance matches every condition.

        Args:
          conditions: Field -> wanted value; fields are `source` and the
            inventory's (owner, labelling_method, labeller_qualification, ...).
            Numbers compare by value (30 matches 30.0).

        Returns:
          Artifact ids, ascending.

        Raises:
          LineageError: An unknown field, or no ingested source matches (the
            message lists the values recorded for the fields asked about).
        """
        unknown = sorted(set(conditions) - set(PROVENANCE_FIELDS))
        if unknown:
            raise LineageError(
                f"--where: unknown field {unknown[0]!r} (fields: {', '.join(PROVENANCE_FIELDS)})"
            )
        found, seen = [], {key: set() for key in conditions}
        for artifact in self._store.get_artifacts_by_type(names.EXAMPLES):
            facts = artifact.custom_properties.get(SOURCE_FACTS_PROPERTY)
            if facts is None:
                continue
            declared = artifact.custom_properties.get(SOURCE_INVENTORY_PROPERTY)
            inventory = json.loads(declared.string_value) if declared is not None else {}
            for source in json.loads(facts.string_value):
                record = {SOURCE_FEATURE: source, **inventory.get(source, {})}
                for key in conditions:
                    if key in record:
                        seen[key].add(str(record[key]))
                if all(_same(record.get(k), v) for k, v in conditions.items()):
                    found.append(artifact.id)
                    break
        if not found:
            recorded = "; ".join(
                f"{key}: {', '.join(sorted(values)) or 'none recorded'}"
                for key, values in seen.items()
            )
            wanted = " and ".join(f"{k}={v}" for k, v in conditions.items())
            raise LineageError(f"no ingested source has {wanted} (recorded {recorded})")
        return sorted(found)

    # --- traversal --------------------------------------------------------------

    def downstream(self, artifact_ids: Sequence[int], types: Iterable[str] = ()) -> LineageGraph:
        """Everything derived from the given artifacts, transitively.

        Found with MLMD's lineage subgraph query (see `metadata.subgraph`), then
        walked here: artifact -> every execution that read it (CACHED ones too:
        they used it) -> what those wrote.

        Args:
          artifact_ids: Where to start.
          types: Keep only artifacts of these type names (e.g. "Model"); the
            executions and runs that led to them are kept either way.

        Returns:
          The downstream graph, the starting artifacts included.

        Raises:
          LineageError: A starting id names no artifact.
        """
        self._check_roots(artifact_ids)
        found = subgraph.reachable(self._store, artifact_ids, subgraph.DOWNSTREAM)
        readers: dict[int, set[int]] = {}
        written: dict[int, set[int]] = {}
        for artifact_id, execution_id, kind in found.events:
            if kind in _INPUT_TYPES:
                readers.setdefault(artifact_id, set()).add(execution_id)
            elif kind in _OUTPUT_TYPES:
                written.setdefault(execution_id, set()).add(artifact_id)
        edges: set[tuple[str, int, int]] = set()
        artifacts, executions = set(artifact_ids), set()
        frontier = list(artifact_ids)
        while frontier:
            consumers = set()
            for artifact_id in frontier:
                for execution_id in readers.get(artifact_id, ()):
                    edges.add(("input", artifact_id, execution_id))
                    consumers.add(execution_id)
            consumers -= executions
            executions |= consumers
            frontier = []
            for execution_id in consumers:
                for artifact_id in written.get(execution_id, ()):
                    edges.add(("output", execution_id, artifact_id))
                    if artifact_id not in artifacts:
                        artifacts.add(artifact_id)
                        frontier.append(artifact_id)
        graph = self._graph(found, artifact_ids, artifacts, executions, edges)
        return _filter_types(graph, types)

    def upstream(self, artifact_ids: Sequence[int]) -> LineageGraph:
        """The full provenance of the given artifacts, back to the raw inputs.

        An artifact's producer is the execution that first wrote it; later
        CACHED executions that reused it are not where it came from, so the
        subgraph query stops at them.

        Returns:
          The upstream graph: every producing execution (with its parameters,
          e.g. ExampleGen's input_base and file fingerprints) and its inputs.

        Raises:
          LineageError: A starting id names no artifact.
        """
        self._check_roots(artifact_ids)
        found = subgraph.reachable(self._store, artifact_ids, subgraph.UPSTREAM)
        producers = self._producers(found.artifacts)
        read: dict[int, set[int]] = {}
        for artifact_id, execution_id, kind in found.events:
            if kind in _INPUT_TYPES:
                read.setdefault(execution_id, set()).add(artifact_id)
        # A producer the query did not return (it stops at CACHED executions, and
        # one is a producer only in a store written by hand): read its inputs.
        missing = sorted(set(producers.values()) - set(found.executions))
        for event in self._store.get_events_by_execution_ids(missing) if missing else ():
            if event.type in _INPUT_TYPES:
                read.setdefault(event.execution_id, set()).add(event.artifact_id)
        edges: set[tuple[str, int, int]] = set()
        artifacts, executions = set(artifact_ids), set()
        frontier = list(artifact_ids)
        while frontier:
            new = set()
            for artifact_id in frontier:
                producer = producers.get(artifact_id)
                if producer is not None:
                    edges.add(("output", producer, artifact_id))
                    new.add(producer)
            new -= executions
            executions |= new
            frontier = []
            for execution_id in new:
                for artifact_id in read.get(execution_id, ()):
                    edges.add(("input", artifact_id, execution_id))
                    if artifact_id not in artifacts:
                        artifacts.add(artifact_id)
                        frontier.append(artifact_id)
        return self._graph(found, artifact_ids, artifacts, executions, edges, producers)

    def _check_roots(self, artifact_ids: Sequence[int]) -> None:
        """Raises LineageError naming the first id that is not an artifact."""
        known = {a.id for a in self._store.get_artifacts_by_id(list(artifact_ids))}
        for artifact_id in artifact_ids:
            if artifact_id not in known:
                raise LineageError(f"no artifact with id {artifact_id} in the metadata store")

    def _producers(self, artifact_ids: Iterable[int]) -> dict[int, int]:
        """Artifact id -> the execution that first wrote it, in batched event reads."""
        ids = sorted(artifact_ids)
        producers: dict[int, int] = {}
        for i in range(0, len(ids), _EVENT_BATCH):
            for event in self._store.get_events_by_artifact_ids(ids[i : i + _EVENT_BATCH]):
                if event.type in _OUTPUT_TYPES:
                    known = producers.get(event.artifact_id)
                    if known is None or event.execution_id < known:
                        producers[event.artifact_id] = event.execution_id
        return producers

    def _graph(
        self,
        found: subgraph.Subgraph,
        roots: Sequence[int],
        artifact_ids: set[int],
        execution_ids: set[int],
        edges: set[tuple[str, int, int]],
        producers: Optional[dict[int, int]] = None,
    ) -> LineageGraph:
        """The LineageGraph of the walked ids, built from the subgraph's records."""
        producers = producers if producers is not None else self._producers(artifact_ids)
        graph = LineageGraph(roots=list(roots), edges=edges)
        for artifact_id in sorted(artifact_ids):
            artifact = found.artifacts.get(artifact_id)
            if artifact is None:
                graph.artifacts[artifact_id] = self.artifact(artifact_id)
                continue
            type_name = artifact.type or found.artifact_types.get(artifact.type_id)
            graph.artifacts[artifact_id] = _artifact_info(
                artifact, type_name or self._type_name(artifact), producers.get(artifact_id)
            )
        for execution_id in sorted(execution_ids):
            execution = found.executions.get(execution_id)
            if execution is None:
                graph.executions[execution_id] = self.execution(execution_id)
                continue
            graph.executions[execution_id] = _execution_info(
                execution, found.execution_contexts(execution_id)
            )
        return graph

    def run_configs(self, run_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The config file and sha256 each run recorded (empty if it recorded none)."""
        configs = {}
        for run_id in run_ids:
            context = names.run_context(self._store, run_id)
            values = property_values(context.custom_properties) if context is not None else {}
            configs[run_id] = {
                "config_path": values.get(names.CONFIG_PATH),
                "config_hash": values.get(names.CONFIG_HASH),
            }
        return configs

    def run_graph(self, run_id: str) -> LineageGraph:
        """Every execution of one run, with its input and output artifacts.

        Raises:
          LineageError: No such run.
        """
        context = names.run_context(self._store, run_id)
        if context is None:
            raise LineageError(f"no run {run_id!r} in the metadata store")
        graph = LineageGraph()
        executions = self._store.get_executions_by_context(context.id)
        for execution in executions:
            graph.executions[execution.id] = self.execution(execution.id)
        for e in self._store.get_events_by_execution_ids([x.id for x in executions]):
            if e.artifact_id not in graph.artifacts:
                graph.artifacts[e.artifact_id] = self.artifact(e.artifact_id)
            if e.type in _OUTPUT_TYPES:
                graph.edges.add(("output", e.execution_id, e.artifact_id))
            elif e.type in _INPUT_TYPES:
                graph.edges.add(("input", e.artifact_id, e.execution_id))
        return graph

    def runs(self) -> list[dict[str, Any]]:
        """Pipeline runs, oldest first: id, pipeline, start time, status, executions.

        The status is one of `run_status`'s.
        """
        component_of = names.components_by_execution(self._store)
        result = []
        contexts = sorted(
            self._store.get_contexts_by_type(names.RUN_CONTEXT),
            key=lambda c: (c.create_time_since_epoch, c.id),
        )
        for context in contexts:
            pipelines = [p.name for p in self._store.get_parent_contexts_by_context(context.id)]
            executions = sorted(
                self._store.get_executions_by_context(context.id),
                key=lambda e: (e.create_time_since_epoch, e.id),
            )
            states = [
                metadata_store_pb2.Execution.State.Name(e.last_known_state) for e in executions
            ]
            # A node tried again in the same run (a scheduler's retry) counts by
            # its latest try.
            latest = {component_of.get(e.id, e.type): state for e, state in zip(executions, states)}
            config = property_values(context.custom_properties)
            status = run_status(list(latest.values()), finished=names.CONFIG_PATH in config)
            verdict, reason = run_verdict.recorded(context)
            if verdict in (run_verdict.GATED, run_verdict.NOT_PUSHED):
                status = verdict
            result.append(
                {
                    "run": context.name,
                    "pipeline": pipelines[0] if pipelines else None,
                    "start_ms": context.create_time_since_epoch,
                    "status": status,
                    "config_path": config.get(names.CONFIG_PATH),
                    "config_hash": config.get(names.CONFIG_HASH),
                    "reason": reason,
                    "executions": [
                        {
                            "id": e.id,
                            "component": component_of.get(e.id, e.type.rsplit(".", 1)[-1]),
                            "state": state,
                        }
                        for e, state in zip(executions, states)
                    ],
                }
            )
        return result


def _artifact_info(
    artifact: metadata_store_pb2.Artifact, type_name: str, producer: Optional[int]
) -> ArtifactInfo:
    return ArtifactInfo(
        id=artifact.id,
        type=type_name,
        uri=artifact.uri,
        state=metadata_store_pb2.Artifact.State.Name(artifact.state),
        properties=property_values(artifact.properties),
        custom_properties=property_values(artifact.custom_properties),
        producer=producer,
        files=artifact_files.files_state(artifact.uri),
    )


def _execution_info(
    execution: metadata_store_pb2.Execution, contexts: Sequence[metadata_store_pb2.Context]
) -> ExecutionInfo:
    return ExecutionInfo(
        id=execution.id,
        component=names.component_of(contexts, execution),
        type=execution.type,
        state=metadata_store_pb2.Execution.State.Name(execution.last_known_state),
        runs=tuple(sorted(c.name for c in contexts if c.type == names.RUN_CONTEXT)),
        parameters=property_values(execution.custom_properties)
        | property_values(execution.properties),
        start_ms=execution.create_time_since_epoch,
        end_ms=execution.last_update_time_since_epoch,
    )


def _same(recorded: Any, wanted: str) -> bool:
    """Whether a recorded provenance value equals the wanted text (numbers by value)."""
    if recorded is None:
        return False
    if isinstance(recorded, (int, float)) and not isinstance(recorded, bool):
        try:
            return float(wanted) == float(recorded)
        except ValueError:
            return False
    return str(recorded) == wanted


def _splits(props: Mapping[str, metadata_store_pb2.Value]) -> list[tuple[str, str]]:
    """An ExampleGen execution's input splits: (name, pattern) pairs."""
    if "input_config" not in props:
        return []
    try:
        config = json.loads(props["input_config"].string_value or "{}")
    except json.JSONDecodeError:
        return []
    return [(split.get("name", ""), split.get("pattern", "")) for split in config.get("splits", [])]


def _path_in_input(target: str, base: str, patterns: Sequence[str]) -> bool:
    """Whether `target` (file or folder) is, or is inside, what an ExampleGen read."""
    if target == base:
        return True
    if not target.startswith(base + "/"):
        return False
    relative = target[len(base) + 1 :]
    for pattern in patterns or ["*"]:
        if fnmatch.fnmatch(relative, pattern) or pattern.startswith(relative + "/"):
            return True
    return False


def _filter_types(graph: LineageGraph, types: Iterable[str]) -> LineageGraph:
    wanted = {t.lower() for t in types}
    if not wanted:
        return graph
    keep = {i for i, a in graph.artifacts.items() if a.type.lower() in wanted or i in graph.roots}
    graph.artifacts = {i: a for i, a in graph.artifacts.items() if i in keep}
    graph.edges = {
        edge
        for edge in graph.edges
        if (edge[0] == "input" and edge[1] in keep) or (edge[0] == "output" and edge[2] in keep)
    }
    producers = {src for kind, src, _ in graph.edges if kind == "output"}
    graph.executions = {i: e for i, e in graph.executions.items() if i in producers}
    graph.edges = {e for e in graph.edges if e[0] == "output" or e[2] in producers}
    return graph
