"""Small MLMD look-ups shared by the end-to-end tests."""

from __future__ import annotations

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx

from metadata import names, run_summary


def open_store(path: str) -> metadata_store.MetadataStore:
    return metadata_store.MetadataStore(
        tfx.orchestration.metadata.sqlite_metadata_connection_config(path)
    )


def runs(store: metadata_store.MetadataStore) -> list[metadata_store_pb2.Context]:
    """Pipeline-run contexts, oldest first."""
    contexts = store.get_contexts_by_type(names.RUN_CONTEXT)
    return sorted(contexts, key=lambda c: (c.create_time_since_epoch, c.id))


def executions_by_component(
    store: metadata_store.MetadataStore, run: metadata_store_pb2.Context, pipeline_name: str
) -> dict[str, metadata_store_pb2.Execution]:
    summary = run_summary.summarize_run(store, run.name)
    by_id = {e.id: e for e in store.get_executions_by_context(run.id)}
    return {c.component_id: by_id[c.execution_id] for c in summary.components}


def artifact_ids(
    store: metadata_store.MetadataStore, execution_id: int, event_type: int
) -> dict[str, list[int]]:
    """Artifact ids by input/output key for one execution's events of `event_type`."""
    keys: dict[str, list[int]] = {}
    for event in store.get_events_by_execution_ids([execution_id]):
        if event.type == event_type:
            key = event.path.steps[0].key
            keys.setdefault(key, []).append(event.artifact_id)
    return keys


def outputs(store, execution_id):
    return artifact_ids(store, execution_id, metadata_store_pb2.Event.OUTPUT)


def inputs(store, execution_id):
    return artifact_ids(store, execution_id, metadata_store_pb2.Event.INPUT)
