"""Finding a pipeline's runs in the metadata store, oldest first."""

from __future__ import annotations

from typing import Optional

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from core.errors import CascadeError
from metadata import names


def pipelines(store: metadata_store.MetadataStore) -> list[str]:
    """The names of the pipelines that have run into the store, sorted."""
    return sorted(c.name for c in store.get_contexts_by_type(names.PIPELINE_CONTEXT))


def pipeline_name(store: metadata_store.MetadataStore, wanted: Optional[str]) -> str:
    """The pipeline to report on: `wanted`, or the store's only pipeline.

    Raises:
      CascadeError: `wanted` is not in the store, or it is None and the store
        holds no pipeline or several (the message lists them).
    """
    found = pipelines(store)
    if wanted is not None:
        if wanted not in found:
            raise CascadeError(
                f"no pipeline {wanted!r} in the metadata store (pipelines: {', '.join(found) or 'none'})"
            )
        return wanted
    if not found:
        raise CascadeError("the metadata store holds no pipeline run yet")
    if len(found) > 1:
        raise CascadeError(
            f"the store holds several pipelines; pick one with --pipeline: {', '.join(found)}"
        )
    return found[0]


def other_pipelines_hint(store: metadata_store.MetadataStore, wanted: str) -> str:
    """A clause for a "nothing found" message when the store never ran `wanted`.

    Returns:
      "" when the store holds a run of `wanted`; otherwise a sentence tail
      naming the pipelines it does hold (a config or store mix-up).
    """
    found = pipelines(store)
    if wanted in found:
        return ""
    if not found:
        return "; the store holds no pipeline run yet"
    return (
        f"; the store holds no run of it, only of {', '.join(repr(f) for f in found)} "
        "(another pipeline's store: check --config, --output-root or --metadata)"
    )


def run_contexts(
    store: metadata_store.MetadataStore, pipeline: str
) -> list[metadata_store_pb2.Context]:
    """The pipeline's `pipeline_run` contexts, oldest first."""
    parent = names.pipeline_context(store, pipeline)
    if parent is None:
        return []
    runs = [
        c for c in store.get_children_contexts_by_context(parent.id) if c.type == names.RUN_CONTEXT
    ]
    return sorted(runs, key=lambda c: (c.create_time_since_epoch, c.id))


def run_context(
    store: metadata_store.MetadataStore, pipeline: str, run_id: Optional[str]
) -> metadata_store_pb2.Context:
    """The run `run_id` of `pipeline`, or its latest run when `run_id` is None.

    Raises:
      CascadeError: No such run, or the pipeline never ran.
    """
    runs = run_contexts(store, pipeline)
    if run_id is None:
        if not runs:
            raise CascadeError(f"pipeline {pipeline!r} has no run in the metadata store")
        return runs[-1]
    for context in runs:
        if context.name == run_id:
            return context
    raise CascadeError(f"no run {run_id!r} of pipeline {pipeline!r} (see: cascade-lineage runs)")
