"""CsvSourceExampleGen: stock CsvExampleGen output plus per-source facts and inventory.

Runs a real two-node pipeline (stock CsvExampleGen beside ours, same input) on
LocalDagRunner with a SQLite store, then reads MLMD and the written splits.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
import tensorflow as tf
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx

from components.source_example_gen import facts, id_facts
from components.source_example_gen.component import CsvSourceExampleGen, reference_example_gen
from components.source_example_gen.properties import (
    NOT_READ,
    REFERENCE_FACTS_PROPERTY,
    SOURCE_FACTS_PROPERTY,
    SOURCE_INVENTORY_PROPERTY,
)
from pipeline.pipeline import example_gen_input_config
from pipeline.config import SourceConfig
from tests import local_beam

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
    # The web source again, as a folder of the rule's other names: a.csv gzipped
    # and b.csv named in capitals are read; a note and a subfolder are not.
    (root / "data/mixed/a.csv.gz").parent.mkdir(parents=True)
    (root / "data/mixed/a.csv.gz").write_bytes(
        gzip.compress((root / "data/web/a.csv").read_bytes())
    )
    _write(root / "data/mixed/B.CSV", (root / "data/web/b.csv").read_text())
    _write(root / "data/mixed/notes.txt", "about the export\n")
    _write(root / "data/mixed/2025/a.csv", (root / "data/web/a.csv").read_text())
    _write(root / "data/crowd/users.csv", "user_id,label\nc1,0\nc2,0\nc3,1\n")
    # A reference dataset in two files: ids repeat across rows and files, an
    # INT column reads 007 as 7 (as CleanExamples sees it), an empty cell is no id.
    _write(root / "data/id_map/a.csv", "alias,canonical\n007,1\n8,1\n\n")
    _write(root / "data/id_map/b.csv", "alias,canonical\n9,\n7,2\n")
    _write(root / "data/id_map/notes.txt", "not read: only *.csv files are the dataset\n")
    _write(root / "data/spam/spam.csv", "user_id\n")  # an empty list: a header only
    sources = [
        SourceConfig("web", str(root / "data/web")),
        SourceConfig("crowd", str(root / "data/crowd")),
    ]
    base, input_config = example_gen_input_config(sources)
    ours = CsvSourceExampleGen(
        input_base=base, input_config=input_config, label="label", inventory=INVENTORY
    ).with_id("Ours")
    stock = tfx.components.CsvExampleGen(input_base=base, input_config=input_config)
    mixed_base, mixed_config = example_gen_input_config(
        [SourceConfig("web", str(root / "data/mixed"))]
    )
    mixed = CsvSourceExampleGen(
        input_base=mixed_base, input_config=mixed_config, label="label"
    ).with_id("Mixed")
    one_base, one_config = example_gen_input_config(sources[1:])
    one_source = CsvSourceExampleGen(
        input_base=one_base, input_config=one_config, label="label"
    ).with_id("OneSource")
    reference = reference_example_gen(str(root / "data/id_map"), ["alias", "canonical"]).with_id(
        "Reference"
    )
    connection = tfx.orchestration.metadata.sqlite_metadata_connection_config(
        str(root / "metadata.sqlite")
    )
    tfx.orchestration.LocalDagRunner().run(
        tfx.dsl.Pipeline(
            pipeline_name="ingest",
            pipeline_root=str(root / "pipeline"),
            components=[
                ours,
                stock,
                mixed,
                one_source,
                reference,
                reference_example_gen(str(root / "data/spam"), ["user_id"]).with_id("Empty"),
            ],
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
    assert NOT_READ not in web and NOT_READ not in crowd
    assert (crowd["rows"], crowd["labelled"], crowd["positive_rate"]) == (3, 3, 0.333333)
    assert crowd["bytes"] == (root / "data/crowd/users.csv").stat().st_size
    assert (
        crowd["sha256"] == facts.content_fingerprint([str(root / "data/crowd/users.csv")])["sha256"]
    )
    # The stock artifact carries neither.
    assert SOURCE_FACTS_PROPERTY not in artifacts["CsvExampleGen"].custom_properties


def test_a_folder_reads_gzip_and_any_case_and_records_what_it_does_not_read(ingested):
    _, artifacts, root = ingested
    mixed = artifacts["Mixed"]
    # a.csv.gz and B.CSV hold web's a.csv and b.csv: the same examples as stock's of those.
    assert _examples(os.path.join(mixed.uri, "Split-web")) == _examples(
        os.path.join(artifacts["CsvExampleGen"].uri, "Split-web")
    )
    measured = json.loads(mixed.custom_properties[SOURCE_FACTS_PROPERTY].string_value)["web"]
    assert (measured["rows"], measured["labelled"], measured["files"]) == (5, 4, 2)
    read = [str(root / "data/mixed/B.CSV"), str(root / "data/mixed/a.csv.gz")]
    assert measured["sha256"] == facts.content_fingerprint(read)["sha256"]
    assert measured[NOT_READ] == [
        {"folder": str(root / "data/mixed"), "names": ["2025/", "notes.txt"]}
    ]


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


def test_a_reference_dataset_records_rows_sha256_and_the_ids_it_holds(ingested):
    _, artifacts, root = ingested
    artifact = artifacts["Reference"]
    assert artifact.properties["split_names"].string_value == '["all"]'
    assert len(_examples(os.path.join(artifact.uri, "Split-all"))) == 4
    recorded = json.loads(artifact.custom_properties[REFERENCE_FACTS_PROPERTY].string_value)
    files = [str(root / "data/id_map/a.csv"), str(root / "data/id_map/b.csv")]
    assert recorded == {
        "rows": 4,
        **facts.content_fingerprint(files),
        "ids": {
            "alias": id_facts.facts_of(["7", "8", "9"]),
            "canonical": id_facts.facts_of(["1", "2"]),
        },
        NOT_READ: [{"folder": str(root / "data/id_map"), "names": ["notes.txt"]}],
    }
    assert recorded["files"] == 2 and recorded["ids"]["alias"]["distinct"] == 3
    # A reference dataset is no source: the inventory and --where never see it.
    assert SOURCE_FACTS_PROPERTY not in artifact.custom_properties
    assert REFERENCE_FACTS_PROPERTY not in artifacts["Ours"].custom_properties


def test_the_id_set_digest_ignores_order_and_repeats_and_sees_one_id_more():
    digest = id_facts.facts_of(["a", "b", "c"])
    assert id_facts.facts_of(["c", "a", "b", "a"]) == digest
    assert digest["distinct"] == 3 and len(digest["digest"]) == 64
    assert id_facts.facts_of(["a", "b"])["digest"] != digest["digest"]
    assert id_facts.facts_of([]) == {"distinct": 0, "digest": "0" * 64}


def test_id_facts_in_beam_equal_the_in_memory_ones(tmp_path):
    import apache_beam as beam

    path = str(tmp_path / "ids.json")
    pairs = [("spam", "u1"), ("spam", "u2"), ("spam", "u1"), ("alias", "x")]
    with beam.Pipeline(options=local_beam.options()) as pipeline:
        _ = pipeline | beam.Create(pairs) | id_facts.WriteIdFacts(path)
    assert id_facts.read_id_facts(path, ["spam", "alias", "canonical"]) == {
        "spam": id_facts.facts_of(["u1", "u2"]),
        "alias": id_facts.facts_of(["x"]),
        "canonical": {"distinct": 0, "digest": "0" * 64},
    }


def test_an_empty_reference_dataset_holds_no_rows_and_no_ids(ingested):
    _, artifacts, root = ingested
    artifact = artifacts["Empty"]
    assert _examples(os.path.join(artifact.uri, "Split-all")) == []
    recorded = json.loads(artifact.custom_properties[REFERENCE_FACTS_PROPERTY].string_value)
    assert recorded == {
        "rows": 0,
        **facts.content_fingerprint([str(root / "data/spam/spam.csv")]),
        "ids": {"user_id": {"distinct": 0, "digest": "0" * 64}},
    }
