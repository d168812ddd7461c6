"""The names TFX and Cascade give things in ML Metadata, and reading them back.

TFX records a pipeline as a `pipeline` context, each run as a `pipeline_run`
context (a child of it) and each component as a `node` context named
`<pipeline>.<component id>`; every execution belongs to its run and its node.
Cascade's own scorings and batch transforms add the `cascade.*` types. Every
module of this room spells these names through here.
"""

from __future__ import annotations

from typing import Iterable, Optional

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

# Context types (TFX's).
PIPELINE_CONTEXT = "pipeline"
RUN_CONTEXT = "pipeline_run"
NODE_CONTEXT = "node"

# Artifact types (TFX's standard artifacts).
EXAMPLES = "Examples"
EXAMPLE_STATISTICS = "ExampleStatistics"
EXAMPLE_ANOMALIES = "ExampleAnomalies"
MODEL = "Model"
MODEL_EVALUATION = "ModelEvaluation"
PUSHED_MODEL = "PushedModel"
TRANSFORM_GRAPH = "TransformGraph"

# Cascade's batch scoring (see metadata.scoring_records).
SCORING_EXECUTION = "cascade.BatchPredict"
SKEW_CHECK_EXECUTION = "cascade.SkewCheck"
SERVING_DATA = "cascade.ServingData"
PREDICTIONS = "cascade.Predictions"
MODEL_FOLDER = "cascade.ModelFolder"
# Cascade's batch transform (see metadata.transform_records).
BATCH_TRANSFORM_EXECUTION = "cascade.BatchTransform"
TRANSFORMED_EXAMPLES = "cascade.TransformedExamples"
TRANSFORM_GRAPH_FOLDER = "cascade.TransformGraphFolder"
# SkewCalibration's output type (components.skew_calibration.spec names it;
# importing that here would load TFX into every lineage query).
SKEW_CALIBRATION = "cascade.SkewCalibration"

# Custom properties Pusher sets on its PushedModel output.
PUSHED_DESTINATION = "pushed_destination"
PUSHED = "pushed"
# Custom properties `run_local` records on a run context.
CONFIG_PATH = "config_path"
CONFIG_HASH = "config_hash"

OUTPUT_EVENTS = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)
INPUT_EVENTS = (metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT)


def component_id(node: metadata_store_pb2.Context) -> str:
    """A node context's component id: `cascade-demo.Trainer` -> `Trainer`."""
    return node.name.split(".", 1)[-1]


def component_of(
    contexts: Iterable[metadata_store_pb2.Context], execution: metadata_store_pb2.Execution
) -> str:
    """The component id of an execution, from the contexts it belongs to.

    Executions outside a pipeline (a scoring) have no node context; their type's
    last part names them (`cascade.BatchPredict` -> `BatchPredict`).
    """
    for context in contexts:
        if context.type == NODE_CONTEXT:
            return component_id(context)
    return execution.type.rsplit(".", 1)[-1]


def components_by_execution(store: metadata_store.MetadataStore) -> dict[int, str]:
    """Execution id -> component id, for every execution of every pipeline node."""
    found: dict[int, str] = {}
    for node in store.get_contexts_by_type(NODE_CONTEXT):
        for execution in store.get_executions_by_context(node.id):
            found[execution.id] = component_id(node)
    return found


def run_context(
    store: metadata_store.MetadataStore, run_id: str
) -> Optional[metadata_store_pb2.Context]:
    """The `pipeline_run` context of a run id, or None."""
    return store.get_context_by_type_and_name(RUN_CONTEXT, run_id)


def pipeline_context(
    store: metadata_store.MetadataStore, pipeline_name: str
) -> Optional[metadata_store_pb2.Context]:
    """The `pipeline` context of a pipeline, or None."""
    return store.get_context_by_type_and_name(PIPELINE_CONTEXT, pipeline_name)


def was_pushed(artifact: metadata_store_pb2.Artifact) -> bool:
    """Whether a PushedModel artifact records a model Pusher actually pushed."""
    props = artifact.custom_properties
    return PUSHED_DESTINATION in props and PUSHED in props and bool(props[PUSHED].int_value)
