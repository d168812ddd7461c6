"""metadata.dataset_versions: what a dataset fed, grouped by the version each run read.

The stores are built by hand on a real in-memory MLMD store: ExampleGen
executions with the parameters TFX records, their outputs with the facts
CsvSourceExampleGen records, and the steps that read them.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

from cli import lineage_text
from components.source_example_gen.properties import (
    REFERENCE_FACTS_PROPERTY,
    SOURCE_FACTS_PROPERTY,
)
from metadata.dataset_versions import downstream_by_version, group_versions, version_of
from metadata.lineage import Lineage, LineageError

SPAM = "/data/spam_accounts"
BAD, FIXED = "a" * 64, "b" * 64


class Store:
    """Ingestions of one path and the models trained on them."""

    def __init__(self) -> None:
        config = pb.ConnectionConfig()
        config.fake_database.SetInParent()
        self.store = metadata_store.MetadataStore(config)
        self._types = {
            name: self.store.put_artifact_type(pb.ArtifactType(name=name))
            for name in ("Examples", "Model")
        }
        self._gen = self.store.put_execution_type(pb.ExecutionType(name="ExampleGen"))
        self._trainer = self.store.put_execution_type(pb.ExecutionType(name="Trainer"))

    def ingest(self, base: str, splits: dict[str, str], facts: tuple[str, dict]) -> int:
        """An ExampleGen run over `base` (split name -> pattern) writing one artifact."""
        execution = pb.Execution(type_id=self._gen, last_known_state=pb.Execution.COMPLETE)
        execution.custom_properties["input_base"].string_value = base
        execution.custom_properties["input_config"].string_value = json.dumps(
            {"splits": [{"name": n, "pattern": p} for n, p in splits.items()]}
        )
        artifact = pb.Artifact(type_id=self._types["Examples"], uri=f"/out/examples/{base}")
        artifact.custom_properties[facts[0]].string_value = json.dumps(facts[1])
        return self._step(execution, [], artifact)

    def train(self, examples: int) -> int:
        """A Trainer execution reading `examples`; returns its Model's id."""
        execution = pb.Execution(type_id=self._trainer, last_known_state=pb.Execution.COMPLETE)
        return self._step(execution, [examples], pb.Artifact(type_id=self._types["Model"]))

    def _step(self, execution: pb.Execution, inputs: list[int], output: pb.Artifact) -> int:
        [artifact_id] = self.store.put_artifacts([output])
        [execution_id] = self.store.put_executions([execution])
        events = [
            pb.Event(artifact_id=a, execution_id=execution_id, type=pb.Event.INPUT) for a in inputs
        ]
        events.append(
            pb.Event(artifact_id=artifact_id, execution_id=execution_id, type=pb.Event.OUTPUT)
        )
        self.store.put_events(events)
        return artifact_id


def _spam(sha256: str, rows: int) -> tuple[str, dict]:
    return REFERENCE_FACTS_PROPERTY, {"rows": rows, "files": 1, "bytes": 10, "sha256": sha256}


@pytest.fixture()
def fixed_list():
    """Runs 1 and 2 read the bad list (run 2 ingested it again), run 3 the fixed one."""
    s = Store()
    lists = [
        s.ingest(SPAM, {"all": "*.csv"}, _spam(sha, rows))
        for sha, rows in ((BAD, 156), (BAD, 156), (FIXED, 150))
    ]
    models = [s.train(examples) for examples in lists]
    return s, lists, models


def test_downstream_of_a_path_is_grouped_by_version_first_seen_first(fixed_list):
    s, lists, models = fixed_list
    splits = Lineage(s.store).ingested_splits(SPAM + "/spam_accounts.csv")
    assert splits == {artifact: frozenset({"all"}) for artifact in lists}

    bad, fixed = downstream_by_version(s.store, sorted(splits), ["Model"], splits)

    created = {a.id: a.create_time_since_epoch for a in s.store.get_artifacts_by_id(lists)}
    assert (bad.sha256, bad.rows, bad.first_seen_ms) == (BAD, 156, created[lists[0]])
    assert (fixed.sha256, fixed.rows, fixed.first_seen_ms) == (FIXED, 150, created[lists[2]])
    assert bad.graph.roots == lists[:2] and fixed.graph.roots == [lists[2]]
    assert sorted(bad.graph.artifacts) == sorted([*lists[:2], *models[:2]])
    assert sorted(fixed.graph.artifacts) == [lists[2], models[2]]
    assert bad.to_json()["sha256"] == BAD and bad.to_json()["roots"] == lists[:2]


def test_versions_in_text_name_sha256_rows_and_what_each_fed(fixed_list):
    s, lists, models = fixed_list
    versions = downstream_by_version(s.store, lists, ["Model"])
    whole = Lineage(s.store).downstream(lists, ["Model"])

    text = lineage_text.format_versions(whole, versions, f"downstream of {SPAM}")

    blocks = text.split("\n\nversion ")
    assert blocks[0] == f"downstream of {SPAM}: 2 versions, 6 artifacts, 3 executions, 0 runs"
    assert blocks[1].startswith(f"1 of 2 (sha256 {BAD[:12]}, 156 rows, first seen ")
    assert blocks[2].startswith(f"2 of 2 (sha256 {FIXED[:12]}, 150 rows, first seen ")
    for block, ids in ((blocks[1], models[:2]), (blocks[2], models[2:])):
        assert [line for line in block.splitlines() if "wrote #" in line] == [
            f"    wrote #{m} Model " for m in ids
        ]


def test_a_source_folder_is_versioned_by_its_own_facts_only():
    s = Store()
    sources = {"web": "web/*.csv", "mobile": "mobile/*.csv"}

    def facts(web: str) -> tuple[str, dict]:
        return SOURCE_FACTS_PROPERTY, {
            "web": {"rows": 5, "sha256": web},
            "mobile": {"rows": 3, "sha256": "m" * 64},
        }

    first = s.ingest("/data", sources, facts(BAD))
    second = s.ingest("/data", sources, facts(FIXED))
    lineage = Lineage(s.store)
    web = lineage.ingested_splits("/data/web")
    assert web == {first: frozenset({"web"}), second: frozenset({"web"})}
    [artifact, _] = s.store.get_artifacts_by_id([first, second])
    assert version_of(artifact, web[first]) == (BAD, 5)
    # Several sources: a sha256 of their `sha256sum` lines, and all their rows.
    lines = f"{'m' * 64}  mobile\n{BAD}  web\n"
    assert version_of(artifact) == (hashlib.sha256(lines.encode()).hexdigest(), 8)
    assert set(lineage.ingested_splits("/data")[first]) == {"web", "mobile"}
    assert lineage.ingested_splits("/data/partner") == {}


def test_an_artifact_without_facts_is_a_version_of_its_own():
    s = Store()
    unrecorded = s.ingest(SPAM, {"all": "*"}, ("other", {}))
    recorded = s.ingest(SPAM, {"all": "*"}, _spam(BAD, 3))
    artifacts = s.store.get_artifacts_by_id([unrecorded, recorded])
    assert [(sha, rows, ids) for sha, rows, _, ids in group_versions(artifacts)] == [
        (None, None, [unrecorded]),
        (BAD, 3, [recorded]),
    ]
    [version, _] = downstream_by_version(s.store, [unrecorded, recorded])
    assert lineage_text.version_title(version, 1, 2).startswith(
        "version 1 of 2 (no sha256 or rows recorded by its ExampleGen, first seen "
    )


def test_an_unknown_artifact_id_is_one_clear_error():
    with pytest.raises(LineageError, match="^no artifact with id 999 in the metadata store$"):
        downstream_by_version(Store().store, [999])
