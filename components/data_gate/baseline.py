"""The served model's training statistics, resolved from MLMD for the drift comparison.

A `tfx.dsl.Resolver` with `ServedModelStatisticsStrategy` gives DataGate the
StatisticsGen output the newest pushed model was trained on: from the newest
PushedModel that Pusher marked pushed, up through Pusher, the Model, the
Trainer and Transform to the split examples Transform read, then to the
StatisticsGen execution that read the same examples. Before any model is
pushed it resolves to nothing, and DataGate says so.
"""

from __future__ import annotations

from typing import Iterable, Optional

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2
from tfx import types
from tfx import v1 as tfx

PUSHED_MODEL_KEY = "pushed_model"
STATISTICS_KEY = "statistics"
# Pusher's custom property: 1 when the model was copied to the serving folder.
_PUSHED = "pushed"
_OUTPUT = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)
_INPUT = (metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT)
# Execution type names end in the stock component's class name.
_TRANSFORM = ".Transform"
_STATISTICS_GEN = ".StatisticsGen"
# PushedModel <- Pusher <- Model <- Trainer <- transformed examples <- Transform:
# the examples Transform read are at most this many executions up.
_MAX_HOPS = 6


def _producers(store: mlmd.MetadataStore, artifact_ids: Iterable[int]) -> set[int]:
    ids = list(artifact_ids)
    if not ids:
        return set()
    return {e.execution_id for e in store.get_events_by_artifact_ids(ids) if e.type in _OUTPUT}


def _inputs(store: mlmd.MetadataStore, execution_ids: Iterable[int]) -> dict[int, set[int]]:
    """Execution id -> the artifact ids it read."""
    ids = list(execution_ids)
    found: dict[int, set[int]] = {i: set() for i in ids}
    if ids:
        for event in store.get_events_by_execution_ids(ids):
            if event.type in _INPUT:
                found[event.execution_id].add(event.artifact_id)
    return found


def transform_inputs(store: mlmd.MetadataStore, model_artifact_id: int) -> set[int]:
    """The artifacts the Transform upstream of an artifact read (its examples among them)."""
    frontier = {model_artifact_id}
    seen: set[int] = set()
    for _ in range(_MAX_HOPS):
        executions = _producers(store, frontier) - seen
        if not executions:
            return set()
        seen |= executions
        read = _inputs(store, executions)
        for execution in store.get_executions_by_id(list(executions)):
            if execution.type.endswith(_TRANSFORM):
                return read[execution.id]
        frontier = set().union(*read.values())
    return set()


def statistics_of_examples(store: mlmd.MetadataStore, examples_ids: set[int]) -> set[int]:
    """The StatisticsGen outputs made from any of these artifacts."""
    readers = {
        e.execution_id
        for e in store.get_events_by_artifact_ids(list(examples_ids))
        if e.type in _INPUT
    }
    if not readers:
        return set()
    stats_gens = [
        e.id for e in store.get_executions_by_id(list(readers)) if e.type.endswith(_STATISTICS_GEN)
    ]
    if not stats_gens:
        return set()
    return {
        e.artifact_id for e in store.get_events_by_execution_ids(stats_gens) if e.type in _OUTPUT
    }


def newest_pushed(pushed_models: list[types.Artifact]) -> Optional[types.Artifact]:
    """The newest PushedModel Pusher actually pushed (blessed and copied)."""
    pushed = [
        m
        for m in pushed_models
        if m.has_custom_property(_PUSHED) and m.get_int_custom_property(_PUSHED) == 1
    ]
    return max(pushed, key=lambda m: m.id) if pushed else None


class ServedModelStatisticsStrategy(tfx.dsl.experimental.ResolverStrategy):
    """Resolves `statistics` to the training statistics of the newest pushed model."""

    def resolve_artifacts(
        self, store: mlmd.MetadataStore, input_dict: dict[str, list[types.Artifact]]
    ) -> Optional[dict[str, list[types.Artifact]]]:
        """Keeps the newest pushed model and its training statistics (both empty if none).

        Args:
          store: The pipeline's metadata store.
          input_dict: `pushed_model` and `statistics`: every such artifact of
            the pipeline.

        Returns:
          The same keys: one artifact each, or empty lists.
        """
        served = newest_pushed(input_dict.get(PUSHED_MODEL_KEY, []))
        nothing = {PUSHED_MODEL_KEY: [], STATISTICS_KEY: []}
        if served is None:
            return nothing
        examples = transform_inputs(store, served.id)
        made = statistics_of_examples(store, examples) if examples else set()
        candidates = [a for a in input_dict.get(STATISTICS_KEY, []) if a.id in made]
        if not candidates:
            return nothing
        return {
            PUSHED_MODEL_KEY: [served],
            STATISTICS_KEY: [max(candidates, key=lambda a: a.id)],
        }
