"""metadata.transform_records on a real SQLite store: a pipeline run's Transform wrote a
graph, then `cascade transform` applied it to raw data; the record, its lineage and its
OpenLineage events."""

from __future__ import annotations

from pathlib import Path

import pytest
from ml_metadata.proto import metadata_store_pb2 as pb
from openlineage.client.serde import Serde

from metadata import names, transform_records
from metadata.connection import connection_config, open_store
from metadata.lineage import Lineage
from metadata.openlineage_events import Selection, build_events, run_id
from services.batch_transform import TransformResult
from tests.e2e import mlmd_queries
from tests.metadata.openlineage_reader import read_event, same_json

PIPELINE = "tiny"
SHA = "cd" * 32


def _context(store, type_name: str, name: str) -> pb.Context:
    type_id = store.put_context_type(pb.ContextType(name=type_name))
    [context_id] = store.put_contexts([pb.Context(type_id=type_id, name=name)])
    return store.get_contexts_by_id([context_id])[0]


@pytest.fixture
def recorded(tmp_path):
    """A store whose run r1's Transform wrote a graph; the graph's artifact id."""
    path = str(tmp_path / "metadata.sqlite")
    store = open_store(connection_config(sqlite_path=path), path)
    pipeline = _context(store, names.PIPELINE_CONTEXT, PIPELINE)
    run = _context(store, names.RUN_CONTEXT, "r1")
    node = _context(store, names.NODE_CONTEXT, f"{PIPELINE}.Transform")
    store.put_parent_contexts([pb.ParentContext(child_id=run.id, parent_id=pipeline.id)])
    graph = pb.Artifact(
        type_id=store.put_artifact_type(pb.ArtifactType(name=names.TRANSFORM_GRAPH)),
        uri=str(tmp_path / "out/Transform/transform_graph/7"),
        state=pb.Artifact.LIVE,
    )
    output = pb.Event(type=pb.Event.OUTPUT)
    output.path.steps.add().key = "transform_graph"
    execution = pb.Execution(
        type_id=store.put_execution_type(pb.ExecutionType(name="tfx.components.Transform")),
        last_known_state=pb.Execution.COMPLETE,
    )
    _, [graph_id], _ = store.put_execution(execution, [(graph, output)], [pipeline, run, node])
    return store, tmp_path, graph_id


def _result(tmp_path: Path, rows: int = 120) -> TransformResult:
    return TransformResult(
        rows=rows,
        transform_dir=str(tmp_path / "out/Transform/transform_graph/7"),
        chosen="the graph of the latest pushed model (artifact 9)",
        output_pattern=str(tmp_path / "batch/transformed_examples-*.gz"),
        input_sha256=SHA,
        input_files=2,
        seconds=3.25,
    )


def _record(store, tmp_path: Path, graph: str = "out/Transform/transform_graph/7", rows=120):
    return transform_records.record_batch_transform(
        store,
        PIPELINE,
        str(tmp_path / graph),
        str(tmp_path / "new_users/*.csv"),
        str(tmp_path / "batch"),
        _result(tmp_path, rows),
    )


def test_a_transform_reads_the_data_and_the_graph_and_writes_the_transformed_examples(recorded):
    store, tmp_path, graph_id = recorded
    ids = _record(store, tmp_path)

    [execution] = store.get_executions_by_id([ids.execution_id])
    assert execution.type == names.BATCH_TRANSFORM_EXECUTION
    assert execution.last_known_state == pb.Execution.COMPLETE
    props = execution.custom_properties
    assert props["rows"].int_value == 120 and props["input_files"].int_value == 2
    assert props["input_sha256"].string_value == SHA
    assert props["seconds"].double_value == 3.25
    assert props["output"].string_value == str(tmp_path / "batch")
    assert mlmd_queries.inputs(store, ids.execution_id) == {
        "serving_data": [ids.serving_data_id],
        "transform_graph": [graph_id],
    }
    assert mlmd_queries.outputs(store, ids.execution_id) == {
        "transformed_examples": [ids.transformed_id]
    }
    data, output = store.get_artifacts_by_id([ids.serving_data_id, ids.transformed_id])
    assert (data.type, data.uri) == (names.SERVING_DATA, str(tmp_path / "new_users/*.csv"))
    assert data.custom_properties["sha256"].string_value == SHA
    assert (
        data.custom_properties["rows"].int_value,
        data.custom_properties["files"].int_value,
    ) == (
        120,
        2,
    )
    assert (output.type, output.uri) == (names.TRANSFORMED_EXAMPLES, str(tmp_path / "batch"))
    assert output.custom_properties["rows"].int_value == 120
    [context] = store.get_contexts_by_execution(ids.execution_id)
    assert (context.type, context.name) == (names.PIPELINE_CONTEXT, PIPELINE)


def test_a_graph_folder_the_store_does_not_know_is_recorded_as_a_folder(recorded):
    store, tmp_path, graph_id = recorded
    ids = _record(store, tmp_path, graph="elsewhere/graph")

    assert graph_id not in ids.graph_ids
    [folder] = store.get_artifacts_by_id(list(ids.graph_ids))
    assert (folder.type, folder.uri) == (
        names.TRANSFORM_GRAPH_FOLDER,
        str(tmp_path / "elsewhere/graph"),
    )


def test_transforming_into_the_same_folder_again_retires_the_earlier_output(recorded):
    store, tmp_path, _ = recorded
    first = _record(store, tmp_path)
    second = _record(store, tmp_path, rows=80)

    states = {a.id: a.state for a in store.get_artifacts_by_type(names.TRANSFORMED_EXAMPLES)}
    assert states == {
        first.transformed_id: pb.Artifact.DELETED,
        second.transformed_id: pb.Artifact.LIVE,
    }


def test_downstream_of_the_graph_reaches_the_transformed_examples(recorded):
    store, tmp_path, graph_id = recorded
    ids = _record(store, tmp_path)

    graph = Lineage(store).downstream([graph_id])
    assert set(graph.artifacts) == {graph_id, ids.transformed_id}
    [execution] = graph.executions.values()
    assert (execution.component, execution.runs) == ("BatchTransform", ())


def test_the_transform_is_an_openlineage_run_with_its_datasets(recorded):
    store, tmp_path, graph_id = recorded
    ids = _record(store, tmp_path)

    events = build_events(store, PIPELINE, "cascade", Selection(execution_ids=(ids.execution_id,)))
    assert [e.key for e in events] == [
        f"execution/{ids.execution_id}/START",
        f"execution/{ids.execution_id}/COMPLETE",
    ]
    complete = events[1].event
    pipeline = names.pipeline_context(store, PIPELINE)
    assert complete.run.runId == run_id(pipeline, "execution", str(ids.execution_id))
    assert complete.job.name == f"{PIPELINE}.BatchTransform"
    assert complete.job.facets["jobType"].jobType == "JOB"
    assert "parent" not in complete.run.facets  # not a step of a pipeline run
    # Inputs come in artifact order: the pipeline's graph, then the data read.
    graph, data = complete.inputs
    assert (data.namespace, data.name) == ("file", str(tmp_path / "new_users/*.csv"))
    assert data.facets["version"].datasetVersion == (f"artifact-{ids.serving_data_id}-sha256-{SHA}")
    assert (graph.namespace, graph.name) == (
        "file",
        str(tmp_path / "out/Transform/transform_graph/7"),
    )
    assert graph.facets["version"].datasetVersion == f"artifact-{graph_id}"
    [written] = complete.outputs
    assert (written.namespace, written.name) == ("file", str(tmp_path / "batch"))
    assert written.outputFacets["outputStatistics"].rowCount == 120
    for keyed in events:
        line = Serde.to_json(keyed.event)
        assert same_json(read_event(line), line)
    # The whole pipeline's export holds it too.
    assert {e.key for e in events} <= {e.key for e in build_events(store, PIPELINE, "cascade")}
