"""Batch scoring in ML Metadata: which model to use, and the record of each scoring.

A scoring is stored like a pipeline step, so the lineage commands need nothing
special for it: a `cascade.BatchPredict` execution with INPUT events from the
model, the serving data and (with the skew check) the training statistics, and
OUTPUT events to the predictions and the serving statistics and anomalies,
attributed to the pipeline's context; a skew check on its own is a
`cascade.SkewCheck` execution without predictions. `downstream` of a bad
source then walks from the models it fed to the predictions and checks made
with them.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Optional

from ml_metadata import errors, metadata_store
from ml_metadata.proto import metadata_store_pb2

from core.errors import CascadeError
from metadata import names, runs
from metadata.execution_records import (
    EventPair,
    absolute,
    event,
    new_artifact,
    put_execution,
    retire_earlier,
    serving_data,
)
from metadata.lineage import Lineage, LineageError


@dataclasses.dataclass(frozen=True)
class RecordedScoring:
    """Ids of what `record_scoring` (or `record_skew_check`) stored."""

    execution_id: int
    model_ids: tuple[int, ...]
    serving_data_id: int
    predictions_id: Optional[int]
    statistics_id: Optional[int] = None
    anomalies_id: Optional[int] = None


def _quoted(text: str) -> str:
    """A string literal for an MLMD filter query."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _newest_in_pipeline(
    store: metadata_store.MetadataStore, pipeline_name: str, type_name: str, condition: str = ""
) -> Optional[metadata_store_pb2.Artifact]:
    """The newest LIVE artifact of a type in a pipeline's context, found by one filter query.

    Args:
      store: The metadata store.
      pipeline_name: The pipeline whose context the artifact is in.
      type_name: The artifact type.
      condition: More of the filter (MLMD's filter syntax), ANDed.
    """
    query = (
        f"type = {_quoted(type_name)} AND state = LIVE"
        f" AND contexts_p.type = {_quoted(names.PIPELINE_CONTEXT)}"
        f" AND contexts_p.name = {_quoted(pipeline_name)}"
    )
    if condition:
        query += f" AND {condition}"
    found = store.get_artifacts(
        list_options=metadata_store.ListOptions(
            limit=1,
            order_by=metadata_store.OrderByField.CREATE_TIME,
            is_asc=False,
            filter_query=query,
        )
    )
    return found[0] if found else None


def _latest_pushed(
    store: metadata_store.MetadataStore, pipeline_name: str
) -> Optional[metadata_store_pb2.Artifact]:
    return _newest_in_pipeline(
        store, pipeline_name, names.PUSHED_MODEL, f"custom_properties.{names.PUSHED}.int_value = 1"
    )


def latest_pushed_model(store: metadata_store.MetadataStore, pipeline_name: str) -> str:
    """The serving folder of the newest model Pusher pushed for a pipeline.

    Raises:
      CascadeError: The pipeline has no pushed model, or its folder is gone.
    """
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    newest = _latest_pushed(store, pipeline_name)
    if newest is None:
        raise CascadeError(
            f"no pushed model for pipeline {pipeline_name!r} in the metadata store "
            "(run the pipeline until the Evaluator blesses a model, or pass --model)"
            + runs.other_pipelines_hint(store, pipeline_name)
        )
    folder = newest.custom_properties[names.PUSHED_DESTINATION].string_value
    if not fileio.exists(folder):
        raise CascadeError(
            f"the latest pushed model (artifact {newest.id}) was pushed to {folder}, "
            "which no longer exists; pass --model"
        )
    return folder


def served_transform_graph(
    store: metadata_store.MetadataStore, pipeline_name: str
) -> tuple[str, str]:
    """The Transform graph that serves: the one the latest pushed model was trained with.

    Found by walking MLMD upstream from the latest pushed model, so it is the
    graph inside that model. With no pushed model, the newest graph.

    Returns:
      (graph folder, how it was chosen, for the report).

    Raises:
      CascadeError: The pipeline has no Transform graph in the store.
    """
    pushed = _latest_pushed(store, pipeline_name)
    if pushed is not None:
        graphs = [
            a
            for a in Lineage(store).upstream([pushed.id]).artifacts.values()
            if a.type == names.TRANSFORM_GRAPH
        ]
        if graphs:
            chosen = max(graphs, key=lambda a: a.id)
            return chosen.uri, f"the graph of the latest pushed model (artifact {pushed.id})"
    newest = _newest_in_pipeline(store, pipeline_name, names.TRANSFORM_GRAPH)
    if newest is None:
        raise CascadeError(
            f"no Transform graph for pipeline {pipeline_name!r} in the metadata store "
            "(run the pipeline first, or pass --transform-graph)"
            + runs.other_pipelines_hint(store, pipeline_name)
        )
    return newest.uri, "the newest graph (no model has been pushed)"


def model_artifact_ids(store: metadata_store.MetadataStore, model_dir: str) -> tuple[int, ...]:
    """The MLMD artifacts a serving folder belongs to ((): none).

    A Pusher destination, an artifact URI, or the Trainer's `Format-Serving`
    folder inside a Model artifact.
    """
    lineage = Lineage(store)
    candidates = [absolute(model_dir)]
    if os.path.basename(model_dir.rstrip("/")) == "Format-Serving":
        candidates.append(os.path.dirname(absolute(model_dir).rstrip("/")))
    for candidate in candidates:
        try:
            return tuple(lineage.resolve(candidate))
        except LineageError:
            continue
    return ()


@dataclasses.dataclass(frozen=True)
class SkewCheckRecord:
    """What a skew check adds to the record of a scoring (or is, on its own).

    Attributes:
      training_statistics_id: The ExampleStatistics artifact compared against.
      statistics_uri: The serving statistics folder written (TFX layout).
      anomalies_uri: The anomalies folder written (TFX layout).
      skewed: The features over their threshold.
      max_distance: The largest distance measured.
      split: The split name the serving statistics are stored under.
    """

    training_statistics_id: int
    statistics_uri: str
    anomalies_uri: str
    skewed: tuple[str, ...]
    max_distance: float
    split: str


def _standard_artifact(
    store: metadata_store.MetadataStore, type_name: str, uri: str, split: str
) -> metadata_store_pb2.Artifact:
    """An ExampleStatistics / ExampleAnomalies artifact, typed as TFX types it."""
    try:
        type_id = store.get_artifact_type(type_name).id
    except errors.NotFoundError:
        type_id = store.put_artifact_type(
            metadata_store_pb2.ArtifactType(
                name=type_name,
                properties={
                    "span": metadata_store_pb2.INT,
                    "split_names": metadata_store_pb2.STRING,
                },
            )
        )
    artifact = metadata_store_pb2.Artifact(
        type_id=type_id, uri=absolute(uri), state=metadata_store_pb2.Artifact.LIVE
    )
    artifact.properties["split_names"].string_value = json.dumps([split])
    artifact.properties["span"].int_value = 0
    return artifact


def _model_events(store: metadata_store.MetadataStore, model_dir: str) -> list[EventPair]:
    """INPUT events from the model's artifacts, or from a new ModelFolder artifact."""
    model_ids = model_artifact_ids(store, model_dir)
    if model_ids:
        return [
            (artifact, event(metadata_store_pb2.Event.INPUT, "model", index))
            for index, artifact in enumerate(store.get_artifacts_by_id(list(model_ids)))
        ]
    folder = new_artifact(store, names.MODEL_FOLDER, model_dir, {})
    return [(folder, event(metadata_store_pb2.Event.INPUT, "model"))]


def _check_events(store: metadata_store.MetadataStore, check: SkewCheckRecord) -> list[EventPair]:
    training = store.get_artifacts_by_id([check.training_statistics_id])[0]
    return [
        (training, event(metadata_store_pb2.Event.INPUT, "training_statistics")),
        (
            _standard_artifact(store, names.EXAMPLE_STATISTICS, check.statistics_uri, check.split),
            event(metadata_store_pb2.Event.OUTPUT, "serving_statistics"),
        ),
        (
            _standard_artifact(store, names.EXAMPLE_ANOMALIES, check.anomalies_uri, check.split),
            event(metadata_store_pb2.Event.OUTPUT, "skew_anomalies"),
        ),
    ]


def _check_properties(check: Optional[SkewCheckRecord]) -> dict[str, Any]:
    if check is None:
        return {"skew_checked": False}
    return {
        "skew_checked": True,
        "skewed_features": ",".join(check.skewed),
        "skew_max_distance": round(check.max_distance, 6),
    }


def record_scoring(
    store: metadata_store.MetadataStore,
    pipeline_name: str,
    model_dir: str,
    input_path: str,
    output_path: str,
    result: Any,
    check: Optional[SkewCheckRecord] = None,
) -> RecordedScoring:
    """Stores one scoring: model + serving data (+ training statistics) -> BatchPredict
    -> predictions (+ serving statistics and skew anomalies).

    The model is the MLMD artifact(s) the folder belongs to (see
    `model_artifact_ids`); a folder MLMD does not know is recorded as a new
    `cascade.ModelFolder` artifact, so the record is complete either way.
    Earlier predictions artifacts whose file this scoring overwrote are marked
    DELETED.

    Args:
      store: A writable store.
      pipeline_name: The pipeline whose context the execution joins (if any).
      model_dir: The serving model folder used.
      input_path: The serving data (a file, glob or folder).
      output_path: The predictions file or folder written.
      result: The `ScoringResult` / `BeamScoringResult` (rows, seconds,
        input_sha256).
      check: The skew check made with the scoring, if one was.

    Returns:
      The ids recorded.
    """
    predictions = new_artifact(
        store,
        names.PREDICTIONS,
        output_path,
        {"rows": result.rows, "model_dir": absolute(model_dir)},
    )
    events = [
        *_model_events(store, model_dir),
        (
            serving_data(store, input_path, result),
            event(metadata_store_pb2.Event.INPUT, "serving_data"),
        ),
        (predictions, event(metadata_store_pb2.Event.OUTPUT, "predictions")),
        *(_check_events(store, check) if check is not None else []),
    ]
    properties = {
        "model_dir": absolute(model_dir),
        "input": absolute(input_path),
        "input_sha256": result.input_sha256,
        "rows": result.rows,
        "seconds": round(result.seconds, 3),
        **_check_properties(check),
    }
    retire_earlier(store, absolute(output_path), names.PREDICTIONS)
    execution_id, ids = put_execution(
        store, pipeline_name, names.SCORING_EXECUTION, properties, events
    )
    return RecordedScoring(
        execution_id=execution_id,
        model_ids=tuple(ids["model"]),
        serving_data_id=ids["serving_data"][0],
        predictions_id=ids["predictions"][0],
        statistics_id=ids.get("serving_statistics", [None])[0],
        anomalies_id=ids.get("skew_anomalies", [None])[0],
    )


def record_skew_check(
    store: metadata_store.MetadataStore,
    pipeline_name: str,
    model_dir: str,
    input_path: str,
    result: Any,
    check: SkewCheckRecord,
) -> RecordedScoring:
    """Stores a skew check made without scoring: model + serving data + training
    statistics -> SkewCheck -> serving statistics and skew anomalies.

    Args:
      store: A writable store.
      pipeline_name: The pipeline whose context the execution joins (if any).
      model_dir: The model whose training statistics were compared.
      input_path: The serving data.
      result: Rows, seconds and input_sha256 of the pass over the data.
      check: What the check wrote and found.

    Returns:
      The ids recorded (no predictions: `predictions_id` is None).
    """
    events = [
        *_model_events(store, model_dir),
        (
            serving_data(store, input_path, result),
            event(metadata_store_pb2.Event.INPUT, "serving_data"),
        ),
        *_check_events(store, check),
    ]
    properties = {
        "model_dir": absolute(model_dir),
        "input": absolute(input_path),
        "input_sha256": result.input_sha256,
        "rows": result.rows,
        "seconds": round(result.seconds, 3),
        **_check_properties(check),
    }
    execution_id, ids = put_execution(
        store, pipeline_name, names.SKEW_CHECK_EXECUTION, properties, events
    )
    return RecordedScoring(
        execution_id=execution_id,
        model_ids=tuple(ids["model"]),
        serving_data_id=ids["serving_data"][0],
        predictions_id=None,
        statistics_id=ids["serving_statistics"][0],
        anomalies_id=ids["skew_anomalies"][0],
    )
