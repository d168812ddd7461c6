"""Batch scoring in ML Metadata: which model to use, and the record of each scoring.

A scoring is stored like a pipeline step, so the lineage commands need nothing
special for it: a `cascade.BatchPredict` execution with INPUT events from the
model and the serving data and an OUTPUT event to the predictions, attributed to
the pipeline's context. `downstream` of a bad source then walks from the
models it fed to the predictions they made.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Optional

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from core.errors import CascadeError
from metadata import names
from metadata.lineage import Lineage, LineageError


@dataclasses.dataclass(frozen=True)
class RecordedScoring:
    """Ids of what `record_scoring` stored."""

    execution_id: int
    model_ids: tuple[int, ...]
    serving_data_id: int
    predictions_id: int


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
        )
    return newest.uri, "the newest graph (no model has been pushed)"


def _type_id(store: metadata_store.MetadataStore, name: str, kind: str) -> int:
    if kind == "execution":
        return store.put_execution_type(metadata_store_pb2.ExecutionType(name=name))
    return store.put_artifact_type(metadata_store_pb2.ArtifactType(name=name))


def _set(message: Any, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if isinstance(value, bool) or isinstance(value, int):
            message.custom_properties[key].int_value = int(value)
        elif isinstance(value, float):
            message.custom_properties[key].double_value = value
        else:
            message.custom_properties[key].string_value = str(value)


def _event(kind: int, key: str, index: int = 0) -> metadata_store_pb2.Event:
    event = metadata_store_pb2.Event(type=kind)
    event.path.steps.add().key = key
    event.path.steps.add().index = index
    return event


def model_artifact_ids(store: metadata_store.MetadataStore, model_dir: str) -> tuple[int, ...]:
    """The MLMD artifacts a serving folder belongs to ((): none).

    A Pusher destination, an artifact URI, or the Trainer's `Format-Serving`
    folder inside a Model artifact.
    """
    lineage = Lineage(store)
    candidates = [_absolute(model_dir)]
    if os.path.basename(model_dir.rstrip("/")) == "Format-Serving":
        candidates.append(os.path.dirname(_absolute(model_dir).rstrip("/")))
    for candidate in candidates:
        try:
            return tuple(lineage.resolve(candidate))
        except LineageError:
            continue
    return ()


def _retire_earlier_predictions(store: metadata_store.MetadataStore, uri: str) -> None:
    """Marks predictions artifacts at `uri` DELETED: this scoring overwrote their file."""
    earlier = [
        a
        for a in store.get_artifacts_by_uri(uri)
        if a.type == names.PREDICTIONS and a.state != metadata_store_pb2.Artifact.DELETED
    ]
    for artifact in earlier:
        artifact.state = metadata_store_pb2.Artifact.DELETED
    if earlier:
        store.put_artifacts(earlier)


def _absolute(path: str) -> str:
    return path if "://" in path else os.path.abspath(path)


def record_scoring(
    store: metadata_store.MetadataStore,
    pipeline_name: str,
    model_dir: str,
    input_path: str,
    output_path: str,
    result: Any,
) -> RecordedScoring:
    """Stores one scoring: model + serving data -> BatchPredict -> predictions.

    The model is the MLMD artifact(s) the folder belongs to (see
    `model_artifact_ids`); a folder MLMD does not know is recorded as a new
    `cascade.ModelFolder` artifact, so the record is complete either way.
    Earlier predictions artifacts whose file this scoring overwrote are marked
    DELETED.

    Args:
      store: A writable store.
      pipeline_name: The pipeline whose context the execution joins (if any).
      model_dir: The serving model folder used.
      input_path: The serving CSV.
      output_path: The predictions CSV written.
      result: The `ScoringResult` (rows, seconds, input_sha256).

    Returns:
      The ids recorded.
    """
    model_ids = model_artifact_ids(store, model_dir)
    model_events = []
    if model_ids:
        for index, artifact in enumerate(store.get_artifacts_by_id(list(model_ids))):
            model_events.append((artifact, _event(metadata_store_pb2.Event.INPUT, "model", index)))
    else:
        folder = metadata_store_pb2.Artifact(
            type_id=_type_id(store, names.MODEL_FOLDER, "artifact"),
            uri=_absolute(model_dir),
            state=metadata_store_pb2.Artifact.LIVE,
        )
        model_events.append((folder, _event(metadata_store_pb2.Event.INPUT, "model")))

    serving_data = metadata_store_pb2.Artifact(
        type_id=_type_id(store, names.SERVING_DATA, "artifact"),
        uri=_absolute(input_path),
        state=metadata_store_pb2.Artifact.LIVE,
    )
    _set(serving_data, {"sha256": result.input_sha256, "rows": result.rows})
    predictions = metadata_store_pb2.Artifact(
        type_id=_type_id(store, names.PREDICTIONS, "artifact"),
        uri=_absolute(output_path),
        state=metadata_store_pb2.Artifact.LIVE,
    )
    _set(predictions, {"rows": result.rows, "model_dir": _absolute(model_dir)})
    execution = metadata_store_pb2.Execution(
        type_id=_type_id(store, names.SCORING_EXECUTION, "execution"),
        last_known_state=metadata_store_pb2.Execution.COMPLETE,
    )
    _set(
        execution,
        {
            "model_dir": _absolute(model_dir),
            "input": _absolute(input_path),
            "input_sha256": result.input_sha256,
            "rows": result.rows,
            "seconds": round(result.seconds, 3),
        },
    )
    _retire_earlier_predictions(store, _absolute(output_path))
    context = names.pipeline_context(store, pipeline_name)
    execution_id, artifact_ids, _ = store.put_execution(
        execution,
        [
            *model_events,
            (serving_data, _event(metadata_store_pb2.Event.INPUT, "serving_data")),
            (predictions, _event(metadata_store_pb2.Event.OUTPUT, "predictions")),
        ],
        [context] if context is not None else [],
    )
    return RecordedScoring(
        execution_id=execution_id,
        model_ids=tuple(artifact_ids[: len(model_events)]),
        serving_data_id=artifact_ids[-2],
        predictions_id=artifact_ids[-1],
    )
