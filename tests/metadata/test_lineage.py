"""metadata.lineage on MLMD's subgraph query: complete beyond its caps, CACHED-aware.

MLMD caps a lineage subgraph query at about 100 starting nodes and 100 hops;
these stores are built to exceed both, on a real (in-memory) MLMD store.
"""

from __future__ import annotations

import pytest
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

from cli import lineage_dot, lineage_text
from metadata import subgraph
from metadata.lineage import Lineage, LineageError


class Store:
    """A tiny MLMD store builder: artifacts, executions and the events between them."""

    def __init__(self) -> None:
        config = pb.ConnectionConfig()
        config.fake_database.SetInParent()
        self.store = metadata_store.MetadataStore(config)
        self._artifact_type = self.store.put_artifact_type(pb.ArtifactType(name="Examples"))
        self._execution_type = self.store.put_execution_type(pb.ExecutionType(name="Step"))

    def artifact(self, uri: str = "/a") -> int:
        [artifact_id] = self.store.put_artifacts(
            [pb.Artifact(type_id=self._artifact_type, uri=uri, state=pb.Artifact.LIVE)]
        )
        return artifact_id

    def execution(self, inputs: list[int], outputs: list[int], cached: bool = False) -> int:
        state = pb.Execution.CACHED if cached else pb.Execution.COMPLETE
        [execution_id] = self.store.put_executions(
            [pb.Execution(type_id=self._execution_type, last_known_state=state)]
        )
        events = [
            pb.Event(artifact_id=a, execution_id=execution_id, type=pb.Event.INPUT) for a in inputs
        ]
        events += [
            pb.Event(artifact_id=a, execution_id=execution_id, type=pb.Event.OUTPUT)
            for a in outputs
        ]
        self.store.put_events(events)
        return execution_id


@pytest.fixture()
def chain():
    """A chain of 150 steps: 300 hops, three times MLMD's hop cap."""
    s = Store()
    artifacts = [s.artifact()]
    executions = []
    for _ in range(150):
        artifacts.append(s.artifact())
        executions.append(s.execution([artifacts[-2]], [artifacts[-1]]))
    return s, artifacts, executions


def test_downstream_goes_past_the_hop_cap(chain):
    s, artifacts, executions = chain
    graph = Lineage(s.store).downstream([artifacts[0]])
    assert sorted(graph.artifacts) == sorted(artifacts)
    assert sorted(graph.executions) == sorted(executions)
    assert len(graph.edges) == 300


def test_upstream_goes_past_the_hop_cap(chain):
    s, artifacts, executions = chain
    graph = Lineage(s.store).upstream([artifacts[-1]])
    assert sorted(graph.artifacts) == sorted(artifacts)
    assert sorted(graph.executions) == sorted(executions)
    assert graph.artifacts[artifacts[-1]].producer == executions[-1]


def test_more_starting_artifacts_than_one_query_takes():
    s = Store()
    roots = [s.artifact() for _ in range(250)]
    outputs = {root: s.artifact() for root in roots}
    steps = {root: s.execution([root], [outputs[root]]) for root in roots}
    graph = Lineage(s.store).downstream(roots)
    assert len(roots) > subgraph.MAX_STARTING_NODES
    assert sorted(graph.artifacts) == sorted(roots + list(outputs.values()))
    assert sorted(graph.executions) == sorted(steps.values())


def test_upstream_skips_cached_reuse_and_downstream_keeps_it():
    s = Store()
    raw, other, made, later = s.artifact(), s.artifact(), s.artifact(), s.artifact()
    producer = s.execution([raw], [made])
    # A later run reused `made` from cache (with another input) and fed it on.
    reuse = s.execution([other], [made], cached=True)
    consumer = s.execution([made], [later])
    up = Lineage(s.store).upstream([later])
    assert sorted(up.executions) == [producer, consumer]
    assert sorted(up.artifacts) == sorted([raw, made, later])
    assert up.artifacts[made].producer == producer
    down = Lineage(s.store).downstream([other])
    assert sorted(down.executions) == sorted([reuse, consumer])
    assert ("output", reuse, made) in down.edges


def test_an_unknown_starting_id_is_a_lineage_error():
    s = Store()
    with pytest.raises(LineageError, match="no artifact with id 999"):
        Lineage(s.store).downstream([999])
    with pytest.raises(LineageError, match="no artifact with id 999"):
        Lineage(s.store).upstream([999])


def test_upstream_follows_a_cached_first_producer():
    s = Store()
    raw, made = s.artifact(), s.artifact()
    producer = s.execution([raw], [made], cached=True)
    up = Lineage(s.store).upstream([made])
    assert sorted(up.executions) == [producer]
    assert sorted(up.artifacts) == sorted([raw, made])
    assert ("input", raw, producer) in up.edges


def test_run_status_says_unfinished_for_a_run_that_never_got_to_its_end() -> None:
    from metadata.lineage import run_status

    assert run_status(["COMPLETE", "CACHED"], finished=True) == "COMPLETE"
    assert run_status(["COMPLETE", "FAILED"], finished=True) == "FAILED"
    assert run_status(["COMPLETE", "RUNNING"], finished=False) == "UNFINISHED"
    # Killed between two steps: every recorded step is complete, later ones never started.
    assert run_status(["COMPLETE", "COMPLETE"], finished=False) == "UNFINISHED"


def test_lineage_marks_artifacts_whose_files_were_deleted(tmp_path):
    kept, deleted = tmp_path / "kept", tmp_path / "deleted"
    kept.mkdir()
    deleted.mkdir()
    s = Store()
    source, output = s.artifact(str(kept)), s.artifact(str(deleted))
    s.execution([source], [output])
    deleted.rmdir()
    graph = Lineage(s.store).downstream([source])
    assert graph.artifacts[source].files == "present"
    assert graph.artifacts[output].files == "missing"
    assert {a["id"]: a["files"] for a in graph.to_json()["artifacts"]} == {
        source: "present",
        output: "missing",
    }
    text = lineage_text.format_graph(graph, "downstream", parameters=False)
    assert (
        f"wrote #{output} Examples {deleted}  [files missing: not found where it was recorded]"
        in text
    )
    assert f"from #{source} Examples {kept}\n" in text
    assert (
        "files missing: 1 of these artifacts' files are not found where they were recorded" in text
    )
    shown = lineage_text.format_artifact(Lineage(s.store), output)
    assert "  state: LIVE, files: missing" in shown
    assert "(files missing)" in lineage_dot.to_dot(graph)
