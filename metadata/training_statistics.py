"""The statistics of the data a model was trained on, found through lineage.

StatisticsGen computes statistics of every split; its ExampleStatistics artifact
is upstream of the model (through SchemaGen, Transform and the Trainer). The
skew check compares serving data with that artifact's training split, so the
reference is the one this model learned from, not the newest run's.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Optional, Sequence

from ml_metadata import errors, metadata_store
from ml_metadata.proto import metadata_store_pb2

from core.errors import CascadeError
from metadata import names
from metadata.lineage import Lineage

TRAINING_SPLIT = "train"
STATISTICS_COMPONENT = "StatisticsGen"
_STATS_FILE = "FeatureStats.pb"


@dataclasses.dataclass(frozen=True)
class TrainingStatistics:
    """Where a model's training statistics are.

    Attributes:
      artifact_id: The ExampleStatistics artifact.
      path: Its training split's `FeatureStats.pb`.
      calibration_id: The newest SkewCalibration made from these statistics
        (None when there is none: a pipeline run in fixed skew mode).
      calibration_uri: That calibration's folder.
    """

    artifact_id: int
    path: str
    calibration_id: Optional[int] = None
    calibration_uri: Optional[str] = None


def _split_names(properties: dict) -> list[str]:
    try:
        return list(json.loads(properties.get("split_names") or "[]"))
    except ValueError:
        return []


def _component(graph: Any, execution_id: Optional[int]) -> str:
    execution = graph.executions.get(execution_id) if execution_id is not None else None
    return execution.component if execution is not None else ""


def training_statistics(
    store: metadata_store.MetadataStore,
    model_ids: Sequence[int],
    model_dir: str,
    features: Sequence[str] = (),
) -> TrainingStatistics:
    """The StatisticsGen output upstream of a model, and its training split's file.

    Args:
      store: The metadata store.
      model_ids: The model's artifacts (Model or PushedModel).
      model_dir: The model folder, named in errors.
      features: The model's raw features; the calibration chosen covers them.

    Returns:
      The newest such statistics artifact with a training split.

    Raises:
      CascadeError: The model is not in the store, nothing upstream of it is
        StatisticsGen's training statistics, or their file is gone.
    """
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    hint = "score with --no-skew-check to skip the comparison"
    if not model_ids:
        raise CascadeError(
            f"the model in {model_dir} is not in the metadata store, so the statistics of its "
            f"training data cannot be found; {hint}"
        )
    graph = Lineage(store).upstream(list(model_ids))
    candidates = [
        artifact
        for artifact in graph.artifacts.values()
        if artifact.type == names.EXAMPLE_STATISTICS
        and _component(graph, artifact.producer) == STATISTICS_COMPONENT
        and TRAINING_SPLIT in _split_names(artifact.properties)
    ]
    if not candidates:
        raise CascadeError(
            f"the metadata store holds no training statistics for the model in {model_dir} "
            f"(no StatisticsGen output with a {TRAINING_SPLIT!r} split is upstream of it); {hint}"
        )
    chosen = max(candidates, key=lambda a: a.id)
    path = os.path.join(chosen.uri, f"Split-{TRAINING_SPLIT}", _STATS_FILE)
    if not fileio.exists(path):
        raise CascadeError(
            f"the training statistics of the model in {model_dir} (artifact {chosen.id}) "
            f"were written to {path}, which no longer exists; {hint}"
        )
    calibration = calibration_of(store, chosen.id, features)
    return TrainingStatistics(
        chosen.id,
        path,
        calibration_id=calibration.id if calibration is not None else None,
        calibration_uri=calibration.uri if calibration is not None else None,
    )


def calibration_of(
    store: metadata_store.MetadataStore, statistics_id: int, features: Sequence[str] = ()
) -> Optional[metadata_store_pb2.Artifact]:
    """The SkewCalibration made from a statistics artifact for these features.

    The calibration is not upstream of the model (it only reads the training
    data), so it is found beside the statistics: a live SkewCalibration
    output of an execution that read them, made for (at least) `features`.
    Of several (a code, seed or resamples change while the statistics stayed
    cached), the one a run used last wins: the one output by the newest
    execution, cached ones included.
    """
    try:
        calibration_type = store.get_artifact_type(names.SKEW_CALIBRATION)
    except errors.NotFoundError:
        return None
    calibrations = {
        a.id: a
        for a in store.get_artifacts_by_type(calibration_type.name)
        if a.state == metadata_store_pb2.Artifact.LIVE and _covers(a, features)
    }
    if not calibrations:
        return None
    made_by: dict[int, set[int]] = {}
    for event in store.get_events_by_artifact_ids(list(calibrations)):
        if event.type in names.OUTPUT_EVENTS:
            made_by.setdefault(event.execution_id, set()).add(event.artifact_id)
    read_statistics = {
        e.execution_id
        for e in store.get_events_by_execution_ids(list(made_by))
        if e.type in names.INPUT_EVENTS and e.artifact_id == statistics_id
    }
    if not read_statistics:
        return None
    newest = max(read_statistics)
    return calibrations[max(made_by[newest])]


def _covers(calibration: metadata_store_pb2.Artifact, features: Sequence[str]) -> bool:
    """Whether a calibration was made for every one of `features` (its `features` property)."""
    try:
        made_for = set(json.loads(calibration.custom_properties["features"].string_value))
    except (KeyError, ValueError, TypeError):
        return False
    return set(features) <= made_for
