"""Cascade's own executions in ML Metadata: types, artifacts, events and one put.

A scoring, a skew check and a batch transform are stored as TFX stores a
pipeline step: an execution of a `cascade.*` type with INPUT and OUTPUT
events, attributed to the pipeline's context, so the lineage commands and
the OpenLineage export read them as they read the pipeline's steps. The
records themselves are `metadata.scoring_records` and
`metadata.transform_records`.
"""

from __future__ import annotations

import os
from typing import Any

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from metadata import names

# An artifact and the event that joins it to an execution.
EventPair = tuple[metadata_store_pb2.Artifact, metadata_store_pb2.Event]


def absolute(path: str) -> str:
    """A local path made absolute; a URI (`gs://...`) as it is."""
    return path if "://" in path else os.path.abspath(path)


def type_id(store: metadata_store.MetadataStore, name: str, kind: str) -> int:
    """The id of an execution type (`kind` "execution") or artifact type, made if missing.

    Args:
      store: A writable store.
      name: The type's name.
      kind: "execution", or anything else for an artifact type.

    Returns:
      The type's id.
    """
    if kind == "execution":
        return store.put_execution_type(metadata_store_pb2.ExecutionType(name=name))
    return store.put_artifact_type(metadata_store_pb2.ArtifactType(name=name))


def set_custom(message: Any, values: dict[str, Any]) -> None:
    """Sets custom properties: bools and ints as ints, floats as doubles, the rest as text.

    Args:
      message: An Artifact or Execution proto.
      values: Property name -> value.
    """
    for key, value in values.items():
        if isinstance(value, bool) or isinstance(value, int):
            message.custom_properties[key].int_value = int(value)
        elif isinstance(value, float):
            message.custom_properties[key].double_value = value
        else:
            message.custom_properties[key].string_value = str(value)


def event(kind: int, key: str, index: int = 0) -> metadata_store_pb2.Event:
    """An INPUT or OUTPUT event at the path `key`/`index`, as TFX writes them."""
    found = metadata_store_pb2.Event(type=kind)
    found.path.steps.add().key = key
    found.path.steps.add().index = index
    return found


def new_artifact(
    store: metadata_store.MetadataStore, type_name: str, uri: str, values: dict[str, Any]
) -> metadata_store_pb2.Artifact:
    """A LIVE artifact of a Cascade type (made if missing) at `uri`, not yet stored.

    Args:
      store: A writable store.
      type_name: The artifact type.
      uri: A local path (made absolute) or a URI.
      values: Its custom properties.
    """
    artifact = metadata_store_pb2.Artifact(
        type_id=type_id(store, type_name, "artifact"),
        uri=absolute(uri),
        state=metadata_store_pb2.Artifact.LIVE,
    )
    set_custom(artifact, values)
    return artifact


def serving_data(
    store: metadata_store.MetadataStore, input_path: str, result: Any
) -> metadata_store_pb2.Artifact:
    """The `cascade.ServingData` artifact of a job's input: its sha256, rows and files.

    Args:
      store: A writable store.
      input_path: The file, glob or folder read.
      result: What the job read: `rows`, `input_sha256` and (if several)
        `input_files`.
    """
    return new_artifact(
        store,
        names.SERVING_DATA,
        input_path,
        {
            "sha256": result.input_sha256,
            "rows": result.rows,
            "files": getattr(result, "input_files", 1),
        },
    )


def retire_earlier(store: metadata_store.MetadataStore, uri: str, type_name: str) -> None:
    """Marks the artifacts of a type at `uri` DELETED: a job overwrote their files.

    Args:
      store: A writable store.
      uri: The absolute path or URI written anew.
      type_name: The type of the artifacts to retire.
    """
    earlier = [
        a
        for a in store.get_artifacts_by_uri(uri)
        if a.type == type_name and a.state != metadata_store_pb2.Artifact.DELETED
    ]
    for artifact in earlier:
        artifact.state = metadata_store_pb2.Artifact.DELETED
    if earlier:
        store.put_artifacts(earlier)


def put_execution(
    store: metadata_store.MetadataStore,
    pipeline_name: str,
    execution_type: str,
    properties: dict[str, Any],
    events: list[EventPair],
) -> tuple[int, dict[str, list[int]]]:
    """Stores one COMPLETE execution with its events, in the pipeline's context (if any).

    Args:
      store: A writable store.
      pipeline_name: The pipeline whose context the execution joins.
      execution_type: The execution's type name.
      properties: Its custom properties.
      events: Its artifacts (stored ones, or ones to store with it) with their events.

    Returns:
      The execution's id, and {event key: artifact ids} in event order.
    """
    execution = metadata_store_pb2.Execution(
        type_id=type_id(store, execution_type, "execution"),
        last_known_state=metadata_store_pb2.Execution.COMPLETE,
    )
    set_custom(execution, properties)
    context = names.pipeline_context(store, pipeline_name)
    execution_id, artifact_ids, _ = store.put_execution(
        execution, events, [context] if context is not None else []
    )
    by_key: dict[str, list[int]] = {}
    for (_, stored), artifact_id in zip(events, artifact_ids):
        by_key.setdefault(stored.path.steps[0].key, []).append(artifact_id)
    return execution_id, by_key
