"""OpenLineage events built from a small real MLMD store: a spam list ingested, then a
cleaning step that failed; a second run; what an endpoint received; Cascade's facets
against their JSON Schemas."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import jsonschema
import pytest
from ml_metadata.proto import metadata_store_pb2 as pb
from openlineage.client.serde import Serde

from core.errors import CascadeError
from metadata import openlineage_facets, openlineage_sent
from metadata.connection import connection_config, open_store
from metadata.openlineage_events import Selection, build_events
from tests.metadata.openlineage_reader import read_event, same_json

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = "tiny"
REASON = "spam list: no column user_id"


def _context(store, type_name: str, name: str) -> pb.Context:
    """The context of a type and name, made if it does not exist (as TFX does)."""
    found = store.get_context_by_type_and_name(type_name, name)
    if found is not None:
        return found
    type_id = store.put_context_type(pb.ContextType(name=type_name))
    [context_id] = store.put_contexts([pb.Context(type_id=type_id, name=name)])
    return store.get_contexts_by_id([context_id])[0]


def _event(kind: int, key: str) -> pb.Event:
    event = pb.Event(type=kind)
    event.path.steps.add().key = key
    event.path.steps.add().index = 0
    return event


def _execute(store, pipeline, run, component, state, inputs=(), outputs=(), props=None):
    """One execution of `<pipeline>.<component>` in `run`, as TFX records it."""
    type_id = store.put_execution_type(pb.ExecutionType(name=f"tfx.{component}"))
    execution = pb.Execution(type_id=type_id, last_known_state=state)
    for key, value in (props or {}).items():
        execution.custom_properties[key].string_value = value
    node = _context(store, "node", f"{PIPELINE}.{component}")
    events = [(a, _event(pb.Event.INPUT, k)) for k, a in inputs]
    events += [(a, _event(pb.Event.OUTPUT, k)) for k, a in outputs]
    execution_id, artifact_ids, _ = store.put_execution(execution, events, [pipeline, run, node])
    return execution_id, artifact_ids


def _examples(store, uri: str, custom: dict) -> pb.Artifact:
    type_id = store.put_artifact_type(
        pb.ArtifactType(name="Examples", properties={"split_names": pb.STRING})
    )
    artifact = pb.Artifact(type_id=type_id, uri=uri, state=pb.Artifact.LIVE)
    artifact.properties["split_names"].string_value = '["all"]'
    for key, value in custom.items():
        artifact.custom_properties[key].string_value = value
    return artifact


@pytest.fixture
def store(tmp_path):
    """Run r1: SpamListGen read data/spam_accounts, then CleanExamples failed."""
    path = str(tmp_path / "metadata.sqlite")
    store = open_store(connection_config(sqlite_path=path), path)
    pipeline = _context(store, "pipeline", PIPELINE)
    run = _context(store, "pipeline_run", "r1")
    store.put_parent_contexts([pb.ParentContext(child_id=run.id, parent_id=pipeline.id)])
    facts = {"rows": 156, "files": 1, "bytes": 5463, "sha256": "ab" * 32}
    spam = _examples(
        store, str(tmp_path / "out/SpamListGen/examples/1"), {"reference_facts": json.dumps(facts)}
    )
    config = {"splits": [{"name": "all", "pattern": "*.csv"}]}
    _, [spam_id] = _execute(
        store, pipeline, run, "SpamListGen", pb.Execution.COMPLETE,
        outputs=[("examples", spam)],
        props={"input_base": str(tmp_path / "data/spam_accounts"),
               "input_config": json.dumps(config)},
    )  # fmt: skip
    [spam] = store.get_artifacts_by_id([spam_id])
    _execute(
        store, pipeline, run, "CleanExamples", pb.Execution.FAILED,
        inputs=[("spam_list", spam)],
        # What TFX's execution_lib records of a failure.
        props={"__execution_result__": json.dumps({"resultMessage": REASON, "code": 2})},
    )  # fmt: skip
    return store, tmp_path


def test_a_failed_step_ends_in_fail_events_for_it_and_its_run(store):
    store, _ = store
    events = build_events(store, PIPELINE, "cascade")

    assert [e.key for e in events] == [
        "run/r1/START",
        "execution/1/START",
        "execution/1/COMPLETE",
        "execution/2/START",
        "execution/2/FAIL",
        "run/r1/FAIL",
    ]
    failed = events[4].event
    assert failed.job.name == "tiny.CleanExamples" and failed.job.namespace == "cascade"
    assert failed.run.facets["errorMessage"].message == REASON
    assert failed.run.facets["parent"].run.runId == events[0].event.run.runId
    assert failed.run.facets["parent"].job.name == PIPELINE
    assert failed.job.facets["jobType"].integration == "CASCADE"
    assert failed.job.facets["jobType"].processingType == "BATCH"
    for keyed in events:
        line = Serde.to_json(keyed.event)
        assert same_json(read_event(line), line)


def test_run_ids_are_uuid5s_of_the_execution_and_stay_the_same(store):
    store, _ = store
    first = [e.event.run.runId for e in build_events(store, PIPELINE, "cascade")]
    again = [e.event.run.runId for e in build_events(store, PIPELINE, "other")]
    assert first == again
    assert {uuid.UUID(i).version for i in first} == {5}
    assert len(set(first)) == 3  # the run, and one per execution


def test_event_times_are_mlmds(store):
    store, _ = store
    [execution] = store.get_executions_by_id([1])
    events = {e.key: e.event for e in build_events(store, PIPELINE, "cascade")}
    start = events["execution/1/START"].eventTime
    assert start.endswith("+00:00")
    from datetime import datetime

    assert (
        int(datetime.fromisoformat(start).timestamp() * 1000) == execution.create_time_since_epoch
    )


def test_the_folder_an_ingestion_read_is_its_input_dataset(store):
    store, tmp_path = store
    events = {e.key: e.event for e in build_events(store, PIPELINE, "cascade")}
    ingest = events["execution/1/COMPLETE"]
    [read] = ingest.inputs
    assert (read.namespace, read.name) == ("file", str(tmp_path / "data/spam_accounts"))
    assert read.facets["version"].datasetVersion == "sha256-" + "ab" * 32
    assert read.facets["dataQualityMetrics"].rowCount == 156
    [written] = ingest.outputs
    assert written.name == str(tmp_path / "out/SpamListGen/examples/1")
    assert written.facets["version"].datasetVersion == "artifact-1-sha256-" + "ab" * 32
    assert written.outputFacets["outputStatistics"].rowCount == 156


def test_since_a_run_keeps_only_what_came_after(store):
    store, tmp_path = store
    pipeline = store.get_contexts_by_type("pipeline")[0]
    run = _context(store, "pipeline_run", "r2")
    store.put_parent_contexts([pb.ParentContext(child_id=run.id, parent_id=pipeline.id)])
    _execute(store, pipeline, run, "SpamListGen", pb.Execution.CACHED)
    # `cascade run` records the config once the run has ended: only then is it over.
    run.custom_properties["config_path"].string_value = str(tmp_path / "tiny.yaml")
    store.put_contexts([run])

    keys = [e.key for e in build_events(store, PIPELINE, "cascade", Selection(since_run="r1"))]
    assert keys == ["run/r2/START", "execution/3/START", "execution/3/COMPLETE", "run/r2/COMPLETE"]
    with pytest.raises(CascadeError) as raised:
        build_events(store, PIPELINE, "cascade", Selection(since_run="r9"))
    assert str(raised.value).startswith("--since r9: no such run of pipeline 'tiny'")


def test_an_unknown_pipeline_is_named(store):
    store, _ = store
    with pytest.raises(CascadeError) as raised:
        build_events(store, "other", "cascade")
    assert str(raised.value).startswith("no pipeline 'other' in the metadata store")


def test_what_an_endpoint_received_is_kept_compact_on_the_pipeline_context(store):
    store, _ = store
    url = "http://127.0.0.1:5000/api/v1/lineage"
    keys = {f"execution/{i}/START" for i in (1, 2, 3, 5)} | {"run/r1/START"}
    openlineage_sent.record_sent(store, PIPELINE, url, keys)
    openlineage_sent.record_sent(store, PIPELINE, url, {"execution/4/START"})

    assert openlineage_sent.sent(store, PIPELINE, url) == keys | {"execution/4/START"}
    assert openlineage_sent.sent(store, PIPELINE, "http://elsewhere/api") == set()
    [context] = store.get_contexts_by_type("pipeline")
    recorded = json.loads(context.custom_properties[openlineage_sent.PROPERTY].string_value)
    assert recorded[url] == {"executions": {"START": "1-5"}, "others": ["run/r1/START"]}


SPLIT_PROPERTIES = {
    "ratios": '{"train": 0.6, "dev": 0.2, "test": 0.2}',
    "seed": 42,
    "stratify_by": '["source"]',
    "split_counts": '{"train": {"label=0|source=web": 253}, "dev": {"label=0|source=web": 84}}',
    "max_ratio_deviation": 0.007692,
}
INVENTORY = {"web": {"owner": "growth-team", "labelling_method": "in_house",
                     "collection_cost": 1200.0, "currency": "USD"}}  # fmt: skip


@pytest.mark.parametrize(
    "facet, schema_file",
    [
        (openlineage_facets.split_manifest(SPLIT_PROPERTIES), "SplitManifestDatasetFacet.json"),
        (openlineage_facets.source_inventory(INVENTORY), "SourceInventoryDatasetFacet.json"),
    ],
    ids=["split-manifest", "source-inventory"],
)
def test_cascades_facets_validate_against_their_shipped_schemas(facet, schema_file):
    schema = json.loads((ROOT / "docs" / "openlineage" / schema_file).read_text())
    document = Serde.to_dict(facet)
    jsonschema.Draft202012Validator(schema).validate(document)
    assert document["_schemaURL"] == schema["$id"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate({**document, "unexpected": 1})


def test_the_split_manifest_holds_ratios_seed_and_counts():
    facet = openlineage_facets.split_manifest(SPLIT_PROPERTIES)
    assert facet.ratios == {"train": 0.6, "dev": 0.2, "test": 0.2}
    assert (facet.seed, facet.stratifyBy, facet.maxRatioDeviation) == (42, ["source"], 0.007692)
    assert facet.splitCounts["dev"] == {"label=0|source=web": 84}
