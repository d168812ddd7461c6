"""The Schema artifact a run's SchemaGen node produced (inferred, or imported).

The node keeps the id `SchemaGen` whether it is TFX's SchemaGen (the schema
inferred from the run's statistics) or ImportSchemaGen (a curated file the
config names); the execution's type tells them apart. A cached execution
counts: it outputs the artifact an earlier run made.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from core.errors import CascadeError
from metadata import names, runs

SCHEMA_COMPONENT = "SchemaGen"
SCHEMA_TYPE = "Schema"
# The file SchemaGen and ImportSchemaGen write in their output folder.
SCHEMA_FILE = "schema.pbtxt"


@dataclasses.dataclass(frozen=True)
class RunSchema:
    """One run's schema, as MLMD records it.

    Attributes:
      run: The run id (its `pipeline_run` context's name).
      artifact_id: The Schema artifact.
      uri: The artifact's folder.
      execution_type: The type of the execution that output it in this run
        (SchemaGen's, ImportSchemaGen's), as MLMD names it.
      state: That execution's state (COMPLETE, CACHED).
    """

    run: str
    artifact_id: int
    uri: str
    execution_type: str
    state: str

    @property
    def file(self) -> str:
        """The schema's text-format file in the artifact's folder."""
        return self.uri.rstrip("/") + "/" + SCHEMA_FILE

    @property
    def imported(self) -> bool:
        """Whether the schema came from a file (ImportSchemaGen), not inferred."""
        return self.execution_type.rsplit(".", 1)[-1] == "ImportSchemaGen"


def schema_of_run(
    store: metadata_store.MetadataStore, run: metadata_store_pb2.Context
) -> Optional[RunSchema]:
    """The newest Schema its SchemaGen node output in `run`, or None (a run
    stopped before SchemaGen, or one that failed there)."""
    found: list[RunSchema] = []
    for execution in store.get_executions_by_context(run.id):
        contexts = store.get_contexts_by_execution(execution.id)
        if names.component_of(contexts, execution) != SCHEMA_COMPONENT:
            continue
        events = store.get_events_by_execution_ids([execution.id])
        ids = [e.artifact_id for e in events if e.type in names.OUTPUT_EVENTS]
        for artifact in store.get_artifacts_by_id(ids) if ids else []:
            if artifact.type == SCHEMA_TYPE and artifact.state == metadata_store_pb2.Artifact.LIVE:
                found.append(
                    RunSchema(
                        run=run.name,
                        artifact_id=artifact.id,
                        uri=artifact.uri,
                        execution_type=execution.type,
                        state=metadata_store_pb2.Execution.State.Name(execution.last_known_state),
                    )
                )
    return max(found, key=lambda s: s.artifact_id) if found else None


def latest_schema(
    store: metadata_store.MetadataStore, pipeline: str, run_id: Optional[str] = None
) -> RunSchema:
    """The schema of run `run_id`, or of the newest run of `pipeline` that has one.

    Args:
      store: The metadata store.
      pipeline: The pipeline's name.
      run_id: A run id; None for the newest run with a schema (a run stopped
        with `--until` before SchemaGen has none, so an older one is taken).

    Returns:
      The run's schema artifact.

    Raises:
      CascadeError: The pipeline has no run (naming the pipelines the store
        holds), the run is unknown, or no run output a schema.
    """
    if run_id is not None:
        context = runs.run_context(store, pipeline, run_id)
        found = schema_of_run(store, context)
        if found is None:
            raise CascadeError(
                f"run {run_id!r} of pipeline {pipeline!r} has no schema: its {SCHEMA_COMPONENT} "
                "step did not run to the end (see: cascade lineage runs)"
            )
        return found
    contexts = runs.run_contexts(store, pipeline)
    if not contexts:
        raise CascadeError(
            f"pipeline {pipeline!r} has no run in the metadata store"
            + runs.other_pipelines_hint(store, pipeline)
        )
    for context in reversed(contexts):
        found = schema_of_run(store, context)
        if found is not None:
            return found
    raise CascadeError(
        f"no run of pipeline {pipeline!r} has a schema: none ran its {SCHEMA_COMPONENT} step "
        "to the end (run the pipeline, at least `--until SchemaGen`)"
    )
