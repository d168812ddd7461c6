"""Lineage through real runs: a bad spam list is replaced, and lineage tells what
the bad one affected; answers are checked against MLMD's own lineage queries."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from ml_metadata.proto import metadata_store_pb2

from cli import lineage as lineage_cli
from metadata import connection as metadata
from pipeline import code_versions
from metadata.lineage import Lineage
from tests.e2e import mlmd_queries
from tests.e2e.helpers import run_cascade

pytestmark = pytest.mark.e2e
PIPELINE = "cascade-demo"
# Everything derived from the spam list in one run (the ExampleGens are upstream).
AFFECTED = [
    "CleanExamples",
    "StratifiedSplit",
    "StatisticsGen",
    "SchemaGen",
    "ExampleValidator",
    "Transform",
    "Trainer",
    "Evaluator",
    "Pusher",
]


@pytest.fixture(scope="module")
def corrected_runs(demo_slice, tmp_path_factory):
    """Run 1 with the demo spam list; run 2 with a corrected copy in another folder."""
    root = tmp_path_factory.mktemp("lineage")
    data = demo_slice.parent / "data"
    bad_list = data / "spam_accounts"
    corrected = data / "spam_accounts_v2"
    corrected.mkdir(exist_ok=True)
    lines = (bad_list / "spam_accounts.csv").read_text().splitlines()
    # The correction: the last five accounts were wrongly flagged.
    (corrected / "spam_accounts.csv").write_text("\n".join(lines[:-5]) + "\n")
    config_v2 = demo_slice.parent / "demo_slice_v2.yaml"
    config_v2.write_text(
        demo_slice.read_text().replace("data/spam_accounts", "data/spam_accounts_v2")
    )
    output = root / "out"
    for config in (demo_slice, config_v2):
        result = run_cascade(["--config", str(config), "--output-root", str(output)])
        assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    store = mlmd_queries.open_store(str(output / "metadata.sqlite"))
    first, second = mlmd_queries.runs(store)
    return {
        "store": store,
        "metadata": str(output / "metadata.sqlite"),
        "bad_list": str(bad_list),
        "run1": mlmd_queries.executions_by_component(store, first, PIPELINE),
        "run2": mlmd_queries.executions_by_component(store, second, PIPELINE),
    }


def _cli(runs, *argv: str) -> str:
    return lineage_cli.run(lineage_cli.parse_args(["--metadata", runs["metadata"], *argv]))


def _mlmd_downstream(store, artifact_ids) -> tuple[set[int], set[int]]:
    """Artifact and execution ids MLMD's own lineage query finds downstream."""
    query = metadata_store_pb2.LineageSubgraphQueryOptions(
        starting_artifacts=metadata_store_pb2.LineageSubgraphQueryOptions.StartingNodes(
            filter_query=" OR ".join(f"id = {i}" for i in artifact_ids)
        ),
        max_num_hops=100,
        direction=metadata_store_pb2.LineageSubgraphQueryOptions.DOWNSTREAM,
    )
    graph = store.get_lineage_subgraph(query, ["artifacts", "executions"])
    return {a.id for a in graph.artifacts}, {e.id for e in graph.executions}


def test_downstream_of_the_bad_spam_list_is_exactly_run_one(corrected_runs):
    runs = corrected_runs
    store = runs["store"]
    answer = json.loads(_cli(runs, "downstream", runs["bad_list"], "--format", "json"))

    [spam_artifact] = mlmd_queries.outputs(store, runs["run1"]["SpamListGen"].id)["examples"]
    assert answer["roots"] == [spam_artifact]
    expected_executions = {runs["run1"][c].id for c in AFFECTED}
    assert {e["id"] for e in answer["executions"]} == expected_executions
    expected_artifacts = {spam_artifact}
    for component in AFFECTED:
        for ids in mlmd_queries.outputs(store, runs["run1"][component].id).values():
            expected_artifacts.update(ids)
    assert {a["id"] for a in answer["artifacts"]} == expected_artifacts
    run1_name = mlmd_queries.runs(store)[0].name
    assert answer["runs"] == [run1_name]
    # Nothing of run 2: its executions consumed the corrected list's artifacts.
    run2_outputs = {
        i
        for e in runs["run2"].values()
        for ids in mlmd_queries.outputs(store, e.id).values()
        for i in ids
    }
    run2_new = run2_outputs - expected_artifacts - {spam_artifact}
    assert run2_new and not run2_new & {a["id"] for a in answer["artifacts"]}
    # The same answer as MLMD's own lineage query.
    assert (expected_artifacts, expected_executions) == _mlmd_downstream(store, [spam_artifact])


def test_downstream_type_filter_lists_the_affected_models(corrected_runs):
    runs = corrected_runs
    answer = json.loads(
        _cli(
            runs,
            "downstream",
            runs["bad_list"],
            "--type",
            "Model",
            "--type",
            "PushedModel",
            "--format",
            "json",
        )
    )
    types = sorted(a["type"] for a in answer["artifacts"] if a["id"] not in answer["roots"])
    assert types == ["Model", "PushedModel"]
    assert sorted(e["component"] for e in answer["executions"]) == ["Pusher", "Trainer"]
    text = _cli(runs, "downstream", runs["bad_list"], "--type", "Model")
    assert "Trainer (execution #" in text and " Model " in text


def test_upstream_of_the_pushed_model_reaches_raw_files_with_parameters(corrected_runs):
    runs = corrected_runs
    store = runs["store"]
    [pushed] = mlmd_queries.outputs(store, runs["run2"]["Pusher"].id)["pushed_model"]
    answer = json.loads(_cli(runs, "upstream", str(pushed), "--format", "json"))

    components = {e["component"] for e in answer["executions"]}
    assert components == {"CsvExampleGen", "SpamListGen", "IdMapGen", *AFFECTED} - {
        "ExampleValidator"
    }
    by_component = {e["component"]: e for e in answer["executions"]}
    assert by_component["SpamListGen"]["parameters"]["input_base"].endswith("spam_accounts_v2")
    assert "num_files:1" in by_component["CsvExampleGen"]["parameters"]["input_fingerprint"]
    split_options = by_component["StratifiedSplit"]["parameters"]
    assert split_options["seed"] == 42 and json.loads(split_options["ratios"])[0] == ["train", 0.6]
    # Each custom step records the version of exactly its code: part of the cache key.
    trainer_config = json.loads(by_component["Trainer"]["parameters"]["custom_config"])
    assert trainer_config["code_version"] == code_versions.code_version(["models.model"])
    for component, package in (
        ("CleanExamples", "components.clean_examples"),
        ("StratifiedSplit", "components.stratified_split"),
    ):
        assert by_component[component]["parameters"]["code_version"] == (
            code_versions.component_version(package)
        )
    text = _cli(runs, "upstream", str(pushed))
    assert "input_fingerprint: split:web,num_files:1" in text
    # Each run involved names the config that produced it, with its sha256.
    assert set(answer["run_configs"]) == set(answer["runs"])
    assert all(len(c["config_hash"]) == 64 for c in answer["run_configs"].values())
    assert "config " in text and "(sha256 " in text


def test_a_served_model_folder_resolves_to_its_pushed_model(corrected_runs):
    runs = corrected_runs
    store = runs["store"]
    [pushed] = mlmd_queries.outputs(store, runs["run2"]["Pusher"].id)["pushed_model"]
    [artifact] = store.get_artifacts_by_id([pushed])
    serving_dir = artifact.custom_properties["pushed_destination"].string_value

    answer = json.loads(_cli(runs, "upstream", serving_dir, "--format", "json"))

    assert answer["roots"] == [pushed]
    assert "SpamListGen" in {e["component"] for e in answer["executions"]}


def test_show_and_runs(corrected_runs):
    runs = corrected_runs
    store = runs["store"]
    [cleaned] = mlmd_queries.outputs(store, runs["run1"]["CleanExamples"].id)["cleaned_examples"]
    shown = _cli(runs, "show", str(cleaned))
    assert shown.startswith(f"#{cleaned} Examples ")
    assert (
        "accounting:" in shown
        and f"CleanExamples (execution #{runs['run1']['CleanExamples'].id}" in shown
    )
    listed = json.loads(_cli(runs, "runs", "--format", "json"))
    assert [r["status"] for r in listed] == ["COMPLETE", "COMPLETE"]
    assert [e["state"] for e in listed[1]["executions"] if e["component"] == "CsvExampleGen"] == [
        "CACHED"
    ]
    assert all(len(r["config_hash"]) == 64 for r in listed)


def test_graph_as_dot_and_svg(corrected_runs, tmp_path):
    runs = corrected_runs
    dot = _cli(runs, "graph", runs["bad_list"], "--format", "dot")
    assert dot.startswith("digraph lineage {") and "Pusher" in dot and "SpamListGen" in dot
    if shutil.which("dot") is None:
        message = "graphviz is not installed (make system-deps installs it)"
        if os.environ.get("CASCADE_REQUIRE_GRAPHVIZ") == "1":
            pytest.fail(message)
        pytest.skip(message)
    svg = tmp_path / "lineage.svg"
    assert (
        _cli(
            runs,
            "graph",
            "--run",
            mlmd_queries.runs(runs["store"])[0].name,
            "--format",
            "svg",
            "--output",
            str(svg),
        )
        == f"wrote {svg}"
    )
    assert svg.read_text().lstrip().startswith(("<?xml", "<svg"))


@pytest.mark.parametrize(
    "ref, message",
    [
        ("999999", "no artifact matches '999999': no artifact has id 999999"),
        (
            "/nowhere/at/all.csv",
            "no artifact matches '/nowhere/at/all.csv': it is not an artifact id, "
            "an artifact URI, or a path any ExampleGen read",
        ),
    ],
)
def test_unknown_ref_is_one_clear_error(corrected_runs, capsys, ref, message):
    code = lineage_cli.main(["--metadata", corrected_runs["metadata"], "show", ref])
    assert code == 2
    assert capsys.readouterr().err == f"error: {message}\n"


def test_missing_store_is_one_clear_error(tmp_path, capsys):
    path = tmp_path / "none.sqlite"
    assert lineage_cli.main(["--metadata", str(path), "runs"]) == 2
    assert capsys.readouterr().err == (
        f"error: metadata store {path} does not exist (run the pipeline first)\n"
    )
    assert not path.exists()


def test_lineage_api_reads_a_store_without_changing_it(corrected_runs):
    before = os.path.getmtime(corrected_runs["metadata"])
    config = metadata.connection_config(sqlite_path=corrected_runs["metadata"], read_only=True)
    lineage = Lineage(metadata.open_store(config, corrected_runs["metadata"]))
    assert len(lineage.runs()) == 2
    assert os.path.getmtime(corrected_runs["metadata"]) == before
