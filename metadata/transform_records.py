"""Batch transforms in ML Metadata: what `cascade transform` read, applied and wrote.

A batch transform is stored as a scoring is (`metadata.execution_records`):
a `cascade.BatchTransform` execution in the pipeline's context, with INPUT
events from the raw data (`cascade.ServingData`: the file or pattern, its
sha256, rows and files) and the Transform graph, and an OUTPUT event to the
transformed examples (`cascade.TransformedExamples`: the output folder and
the rows written). So `downstream` of a bad source reaches the features
made with the graph it fed, and the OpenLineage export makes a run of it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ml_metadata import errors, metadata_store
from ml_metadata.proto import metadata_store_pb2

from metadata import names
from metadata.execution_records import (
    EventPair,
    absolute,
    event,
    new_artifact,
    put_execution,
    retire_earlier,
    serving_data,
)


@dataclasses.dataclass(frozen=True)
class RecordedTransform:
    """Ids of what `record_batch_transform` stored.

    Attributes:
      execution_id: The `cascade.BatchTransform` execution.
      graph_ids: The Transform graph's artifacts (a TransformGraph, or a
        `cascade.TransformGraphFolder` made for a folder MLMD does not know).
      serving_data_id: The input's `cascade.ServingData` artifact.
      transformed_id: The output's `cascade.TransformedExamples` artifact.
    """

    execution_id: int
    graph_ids: tuple[int, ...]
    serving_data_id: int
    transformed_id: int


def transform_graph_ids(store: metadata_store.MetadataStore, transform_dir: str) -> list[int]:
    """The TransformGraph artifacts recorded at a folder (ascending; [] if none).

    Args:
      store: The metadata store.
      transform_dir: A Transform component's `transform_graph` folder.
    """
    try:
        type_id = store.get_artifact_type(names.TRANSFORM_GRAPH).id
    except errors.NotFoundError:
        return []
    uri = absolute(transform_dir).rstrip("/")
    return sorted(a.id for a in store.get_artifacts_by_uri(uri) if a.type_id == type_id)


def _graph_events(store: metadata_store.MetadataStore, transform_dir: str) -> list[EventPair]:
    """INPUT events from the graph's TransformGraph artifacts, or from a folder artifact made for it."""
    known = transform_graph_ids(store, transform_dir)
    if known:
        return [
            (artifact, event(metadata_store_pb2.Event.INPUT, "transform_graph", index))
            for index, artifact in enumerate(store.get_artifacts_by_id(known))
        ]
    folder = new_artifact(store, names.TRANSFORM_GRAPH_FOLDER, transform_dir, {})
    return [(folder, event(metadata_store_pb2.Event.INPUT, "transform_graph"))]


def record_batch_transform(
    store: metadata_store.MetadataStore,
    pipeline_name: str,
    transform_dir: str,
    input_path: str,
    output_dir: str,
    result: Any,
) -> RecordedTransform:
    """Stores one batch transform: raw data + Transform graph -> BatchTransform
    -> transformed examples.

    Earlier transformed examples recorded at `output_dir` are marked DELETED:
    the job removed their files before writing.

    Args:
      store: A writable store.
      pipeline_name: The pipeline whose context the execution joins (if any).
      transform_dir: The Transform graph folder applied.
      input_path: The raw data read (a file, glob or folder).
      output_dir: The folder the transformed examples were written to.
      result: What the job did: `rows`, `input_sha256`, `input_files` and
        `seconds`.

    Returns:
      The ids recorded.
    """
    transformed = new_artifact(
        store,
        names.TRANSFORMED_EXAMPLES,
        output_dir,
        {"rows": result.rows, "transform_graph": absolute(transform_dir)},
    )
    events = [
        (
            serving_data(store, input_path, result),
            event(metadata_store_pb2.Event.INPUT, "serving_data"),
        ),
        *_graph_events(store, transform_dir),
        (transformed, event(metadata_store_pb2.Event.OUTPUT, "transformed_examples")),
    ]
    properties = {
        "transform_graph": absolute(transform_dir),
        "input": absolute(input_path),
        "output": absolute(output_dir),
        "input_sha256": result.input_sha256,
        "input_files": result.input_files,
        "rows": result.rows,
        "seconds": round(result.seconds, 3),
    }
    retire_earlier(store, absolute(output_dir), names.TRANSFORMED_EXAMPLES)
    execution_id, ids = put_execution(
        store, pipeline_name, names.BATCH_TRANSFORM_EXECUTION, properties, events
    )
    return RecordedTransform(
        execution_id=execution_id,
        graph_ids=tuple(ids["transform_graph"]),
        serving_data_id=ids["serving_data"][0],
        transformed_id=ids["transformed_examples"][0],
    )
