"""Reachable lineage in a few queries: MLMD's `get_lineage_subgraph`, batched.

MLMD answers "everything up- or downstream of these artifacts" in one query,
but silently caps a query at about 100 starting nodes and 100 hops. This
module sends the starting artifacts in batches of at most 100 and, when a
query's answer reaches the hop limit, asks again from the artifacts at its
edge, so the answer is complete however large the store or deep the lineage.
Upstream queries stop at CACHED executions: they re-output artifacts an
earlier execution produced, and are not where those artifacts came from.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from metadata import names

MAX_STARTING_NODES = 100
MAX_HOPS = 100
DOWNSTREAM = metadata_store_pb2.LineageSubgraphQueryOptions.DOWNSTREAM
UPSTREAM = metadata_store_pb2.LineageSubgraphQueryOptions.UPSTREAM


@dataclasses.dataclass
class Subgraph:
    """Nodes and events of one or more lineage subgraph answers, merged by id."""

    artifacts: dict[int, metadata_store_pb2.Artifact] = dataclasses.field(default_factory=dict)
    executions: dict[int, metadata_store_pb2.Execution] = dataclasses.field(default_factory=dict)
    events: set[tuple[int, int, int]] = dataclasses.field(default_factory=set)
    artifact_types: dict[int, str] = dataclasses.field(default_factory=dict)
    contexts: dict[int, metadata_store_pb2.Context] = dataclasses.field(default_factory=dict)
    context_types: dict[int, str] = dataclasses.field(default_factory=dict)
    contexts_of: dict[int, set[int]] = dataclasses.field(default_factory=dict)

    def add(self, graph: metadata_store_pb2.LineageGraph) -> None:
        """Merges one `get_lineage_subgraph` answer (type names filled in)."""
        self.artifact_types.update((t.id, t.name) for t in graph.artifact_types)
        execution_types = {t.id: t.name for t in graph.execution_types}
        for artifact in graph.artifacts:
            artifact.type = artifact.type or self.artifact_types.get(artifact.type_id, "")
            self.artifacts[artifact.id] = artifact
        for execution in graph.executions:
            execution.type = execution.type or execution_types.get(execution.type_id, "")
            self.executions[execution.id] = execution
        self.events.update((e.artifact_id, e.execution_id, e.type) for e in graph.events)
        self.contexts.update((c.id, c) for c in graph.contexts)
        self.context_types.update((t.id, t.name) for t in graph.context_types)
        for association in graph.associations:
            self.contexts_of.setdefault(association.execution_id, set()).add(association.context_id)

    def execution_contexts(self, execution_id: int) -> list[metadata_store_pb2.Context]:
        """The contexts an execution belongs to, each with its type name set."""
        found = []
        for context_id in sorted(self.contexts_of.get(execution_id, ())):
            context = metadata_store_pb2.Context()
            context.CopyFrom(self.contexts[context_id])
            context.type = self.context_types.get(context.type_id, context.type)
            found.append(context)
        return found


def _query(
    store: metadata_store.MetadataStore, artifact_ids: list[int], direction: int
) -> metadata_store_pb2.LineageGraph:
    options = metadata_store_pb2.LineageSubgraphQueryOptions(
        max_num_hops=MAX_HOPS, direction=direction
    )
    options.starting_artifacts.filter_query = f"id IN ({', '.join(map(str, artifact_ids))})"
    if direction == UPSTREAM:
        options.ending_executions.filter_query = "last_known_state = CACHED"
        options.ending_executions.include_ending_nodes = False
    return store.get_lineage_subgraph(options)


def _edge_artifacts(found: Subgraph, start: Iterable[int], direction: int) -> set[int]:
    """The artifacts MAX_HOPS away from `start` in `found`: where a query may have stopped.

    A hop is one event: artifact -> execution -> artifact is two hops, so with an
    even MAX_HOPS a query's edge is made of artifacts.
    """
    inputs, outputs = names.INPUT_EVENTS, names.OUTPUT_EVENTS
    forward, backward = (inputs, outputs) if direction == DOWNSTREAM else (outputs, inputs)
    executions_of: dict[int, set[int]] = {}
    artifacts_of: dict[int, set[int]] = {}
    for artifact_id, execution_id, kind in found.events:
        if kind in forward:
            executions_of.setdefault(artifact_id, set()).add(execution_id)
        if kind in backward:
            artifacts_of.setdefault(execution_id, set()).add(artifact_id)
    frontier = set(start)
    seen_artifacts, seen_executions = set(frontier), set()
    for _ in range(MAX_HOPS // 2):
        executions = {e for a in frontier for e in executions_of.get(a, ())} - seen_executions
        seen_executions |= executions
        frontier = {a for e in executions for a in artifacts_of.get(e, ())} - seen_artifacts
        seen_artifacts |= frontier
        if not frontier:
            return set()
    return frontier


def reachable(
    store: metadata_store.MetadataStore, artifact_ids: Iterable[int], direction: int
) -> Subgraph:
    """Everything MLMD finds up- or downstream of the artifacts, however far.

    Args:
      store: The metadata store.
      artifact_ids: Where to start.
      direction: DOWNSTREAM or UPSTREAM (which stops at CACHED executions).

    Returns:
      The merged nodes and events (the starting artifacts included).
    """
    found = Subgraph()
    frontier = sorted(set(artifact_ids))
    started: set[int] = set()
    while frontier:
        for i in range(0, len(frontier), MAX_STARTING_NODES):
            found.add(_query(store, frontier[i : i + MAX_STARTING_NODES], direction))
        started.update(frontier)
        frontier = sorted(_edge_artifacts(found, frontier, direction) - started)
    return found
