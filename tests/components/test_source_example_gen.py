"""CsvSourceExampleGen: stock CsvExampleGen output plus per-source facts and inventory.

Runs a real two-node pipeline (stock CsvExampleGen beside ours, same input) on
LocalDagRunner with a SQLite store, then reads MLMD and the written splits.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import tensorflow as tf
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx

from components.source_example_gen import facts
from components.source_example_gen.component import CsvSourceExampleGen
from components.source_example_gen.properties import (
    SOURCE_FACTS_PROPERTY,
    SOURCE_INVENTORY_PROPERTY,
)
from pipeline.pipeline import example_gen_input_config
from pipeline.config import SourceConfig

INVENTORY = {
    "web": {"owner": "growth", "labelling_method": "in_house", "collection_cost": 100.0},
    "crowd": {"owner": "ops", "labelling_method": "crowd", "collection_cost": 12.5},
}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _examples(split_dir: str) -> list[bytes]:
    """The split's examples, each re-serialized deterministically (protobuf map
    order may differ from process to process)."""
    files = [os.path.join(split_dir, name) for name in sorted(os.listdir(split_dir))]
    return sorted(
        tf.train.Example.FromString(r.numpy()).SerializeToString(deterministic=True)
        for r in tf.data.TFRecordDataset(files, "GZIP")
    )


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    """Runs both ExampleGens; returns (store, {component id: Examples artifact}, data root)."""
    root = tmp_path_factory.mktemp("source_example_gen")
    # Types settle over a whole split (score: INT in a.csv, FLOAT with b.csv;
    # big: past int64, so STRING); a column empty everywhere has no kind; quoted
    # cells may hold commas, quotes and line breaks; blank lines are skipped.
    _write(
        root / "data/web/a.csv",
        "user_id,label,score,empty,big,note\n"
        'w1,1,3,,1,"a, ""quoted""\nnote"\n'
        "w2,0,,,2,plain\n\n"
        "w3,1,-7,,99999999999999999999,\n"
        "w4,,0,,4, spaced \n",
    )
    _write(root / "data/web/b.csv", "user_id,label,score,empty,big,note\nw5,0,2.5,,5,x\n")
    _write(root / "data/crowd/users.csv", "user_id,label\nc1,0\nc2,0\nc3,1\n")
    sources = [
        SourceConfig("web", str(root / "data/web")),
        SourceConfig("crowd", str(root / "data/crowd")),
    ]
    base, input_config = example_gen_input_config(sources)
    ours = CsvSourceExampleGen(
        input_base=base, input_config=input_config, label="label", inventory=INVENTORY
    ).with_id("Ours")
    stock = tfx.components.CsvExampleGen(input_base=base, input_config=input_config)
    one_base, one_config = example_gen_input_config(sources[1:])
    one_source = CsvSourceExampleGen(
        input_base=one_base, input_config=one_config, label="label"
    ).with_id("OneSource")
    connection = tfx.orchestration.metadata.sqlite_metadata_connection_config(
        str(root / "metadata.sqlite")
    )
    tfx.orchestration.LocalDagRunner().run(
        tfx.dsl.Pipeline(
            pipeline_name="ingest",
            pipeline_root=str(root / "pipeline"),
            components=[ours, stock, one_source],
            metadata_connection_config=connection,
        )
    )
    store = metadata_store.MetadataStore(connection)
    by_component = {}
    for execution in store.get_executions():
        events = store.get_events_by_execution_ids([execution.id])
        outputs = [e.artifact_id for e in events if e.type == metadata_store_pb2.Event.OUTPUT]
        node = [c.name for c in store.get_contexts_by_execution(execution.id) if c.type == "node"]
        by_component[node[0].split(".")[-1]] = store.get_artifacts_by_id(outputs)[0]
    return store, by_component, root


def test_splits_are_the_stock_example_gens(ingested):
    _, artifacts, _ = ingested
    for split in ("web", "crowd"):
        ours = _examples(os.path.join(artifacts["Ours"].uri, f"Split-{split}"))
        stock = _examples(os.path.join(artifacts["CsvExampleGen"].uri, f"Split-{split}"))
        assert ours == stock and len(ours) == {"web": 5, "crowd": 3}[split]


def test_measured_facts_are_custom_properties_in_mlmd(ingested):
    _, artifacts, root = ingested
    measured = json.loads(artifacts["Ours"].custom_properties[SOURCE_FACTS_PROPERTY].string_value)
    web, crowd = measured["web"], measured["crowd"]
    assert (web["rows"], web["labelled"], web["files"]) == (5, 4, 2)
    assert web["label_counts"] == {"0": 2, "1": 2, facts.MISSING_LABEL: 1}
    assert web["positive_rate"] == 0.5
    assert (crowd["rows"], crowd["labelled"], crowd["positive_rate"]) == (3, 3, 0.333333)
    assert crowd["bytes"] == (root / "data/crowd/users.csv").stat().st_size
    assert (
        crowd["sha256"] == facts.content_fingerprint([str(root / "data/crowd/users.csv")])["sha256"]
    )
    # The stock artifact carries neither.
    assert SOURCE_FACTS_PROPERTY not in artifacts["CsvExampleGen"].custom_properties


def test_inventory_is_a_custom_property_in_mlmd(ingested):
    _, artifacts, _ = ingested
    recorded = json.loads(
        artifacts["Ours"].custom_properties[SOURCE_INVENTORY_PROPERTY].string_value
    )
    assert recorded == INVENTORY


def test_a_single_source_stays_one_split_named_after_it(ingested):
    _, artifacts, _ = ingested
    artifact = artifacts["OneSource"]
    assert artifact.properties["split_names"].string_value == '["crowd"]'
    measured = json.loads(artifact.custom_properties[SOURCE_FACTS_PROPERTY].string_value)
    assert list(measured) == ["crowd"] and measured["crowd"]["rows"] == 3
    assert len(_examples(os.path.join(artifact.uri, "Split-crowd"))) == 3
    # Without an inventory, none is recorded.
    assert SOURCE_INVENTORY_PROPERTY not in artifact.custom_properties


def test_content_fingerprint_follows_bytes_not_mtime(tmp_path):
    data = tmp_path / "users.csv"
    data.write_text("user_id,label\n1,0\n")
    before = facts.content_fingerprint([str(data)])
    os.utime(data, (1, 1))
    assert facts.content_fingerprint([str(data)]) == before
    data.write_text("user_id,label\n1,1\n")
    assert facts.content_fingerprint([str(data)])["sha256"] != before["sha256"]


@pytest.mark.parametrize(
    "counts, rate",
    [
        ({"0": 3, "1": 1}, 0.25),
        ({"0": 3, facts.MISSING_LABEL: 2}, 0.0),
        ({facts.MISSING_LABEL: 2}, None),  # nothing labelled
        ({"yes": 1, "no": 1}, None),  # not a 0/1 label
    ],
)
def test_positive_rate(counts, rate):
    assert facts.summarize_labels(counts)["positive_rate"] == rate


def test_label_value_of_each_kind():
    example = tf.train.Example()
    example.features.feature["i"].int64_list.value.append(1)
    example.features.feature["f"].float_list.value.append(1.0)
    example.features.feature["s"].bytes_list.value.append(b"yes")
    example.features.feature["empty"].CopyFrom(tf.train.Feature())
    assert [facts.label_value(example, k) for k in ("i", "f", "s", "empty", "absent")] == [
        "1",
        "1",
        "yes",
        facts.MISSING_LABEL,
        facts.MISSING_LABEL,
    ]
