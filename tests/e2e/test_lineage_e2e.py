"""Lineage through real runs: a bad spam list is fixed in place, and lineage tells
what each version affected; answers are checked against MLMD's own lineage queries."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess

import pytest
from ml_metadata.proto import metadata_store_pb2

from cli.main import execute, main
from components.source_example_gen import facts, id_facts
from metadata import connection as metadata
from pipeline import code_versions
from metadata.lineage import Lineage
from tests.e2e import mlmd_queries
from tests.e2e.helpers import RESOLVERS, ROOT, cascade_script, run_cascade

pytestmark = pytest.mark.e2e
PIPELINE = "cascade-demo"
INGESTION = ("CsvExampleGen", "SpamListGen", "IdMapGen")
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


def _list_facts(folder) -> dict:
    """The facts a spam list folder's file should have recorded: rows, sha256, ids."""
    [path] = sorted(folder.glob("*.csv"))
    with open(path, newline="") as f:
        ids = [row["user_id"] for row in csv.DictReader(f)]
    return {
        "rows": len(ids),
        **facts.content_fingerprint([str(path)]),
        "ids": {"user_id": id_facts.facts_of(ids)},
    }


@pytest.fixture(scope="module")
def corrected_runs(demo_slice, tmp_path_factory):
    """Run 1 with the demo spam list; the list fixed in place; run 2 into the same
    output root and store (on a copy of the demo slice's data, which other tests share)."""
    root = tmp_path_factory.mktemp("lineage")
    shutil.copytree(demo_slice.parent / "data", root / "data")
    config = root / "demo_slice.yaml"
    config.write_text(demo_slice.read_text())
    spam_list = root / "data" / "spam_accounts"
    output = root / "out"
    versions = []
    for run in (1, 2):
        if run == 2:  # The fix: the last five accounts were wrongly flagged.
            lines = (spam_list / "spam_accounts.csv").read_text().splitlines()
            (spam_list / "spam_accounts.csv").write_text("\n".join(lines[:-5]) + "\n")
        versions.append(_list_facts(spam_list))
        result = run_cascade(["run", "--config", str(config), "--output-root", str(output)])
        assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    store = mlmd_queries.open_store(str(output / "metadata.sqlite"))
    first, second = mlmd_queries.runs(store)
    return {
        "store": store,
        "metadata": str(output / "metadata.sqlite"),
        "spam_list": str(spam_list),
        "versions": versions,
        "run1": mlmd_queries.executions_by_component(store, first, PIPELINE),
        "run2": mlmd_queries.executions_by_component(store, second, PIPELINE),
    }


def _cli(runs, *argv: str) -> str:
    """`cascade lineage ARGV --metadata STORE`, in this process: the report."""
    return execute(["lineage", *argv, "--metadata", runs["metadata"]])


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


# The steps of a run that read what the served model came from: DataGate (its
# training statistics) and the Evaluator (the model itself), then Pusher.
COMPARED_WITH_THE_SERVED_MODEL = ("DataGate", "Evaluator", "Pusher")


def _affected(store, executions) -> tuple[int, set[int], set[int]]:
    """(the run's spam list artifact, the artifacts and executions derived from it):
    every step of the run but the three ingestions, which are upstream of it, and
    the resolvers, which read nothing."""
    [spam_artifact] = mlmd_queries.outputs(store, executions["SpamListGen"].id)["examples"]
    derived = [e for c, e in executions.items() if c not in INGESTION + RESOLVERS]
    assert {c for c, _ in executions.items() if c not in INGESTION} >= set(AFFECTED)
    artifacts = {spam_artifact}
    for execution in derived:
        for ids in mlmd_queries.outputs(store, execution.id).values():
            artifacts.update(ids)
    return spam_artifact, artifacts, {e.id for e in derived}


def test_each_spam_list_version_records_its_rows_sha256_and_ids(corrected_runs):
    runs = corrected_runs
    store = runs["store"]
    for run, expected in zip(("run1", "run2"), runs["versions"]):
        [artifact] = mlmd_queries.outputs(store, runs[run]["SpamListGen"].id)["examples"]
        [recorded] = store.get_artifacts_by_id([artifact])
        assert json.loads(recorded.custom_properties["reference_facts"].string_value) == expected
    first, fixed = runs["versions"]
    assert (first["rows"], fixed["rows"]) == (156, 151)
    assert fixed["ids"]["user_id"]["distinct"] == first["ids"]["user_id"]["distinct"] - 5


def test_downstream_of_the_spam_list_is_grouped_by_version(corrected_runs):
    runs = corrected_runs
    store = runs["store"]
    answer = json.loads(_cli(runs, "downstream", runs["spam_list"], "--format", "json"))

    first, fixed = answer["versions"]
    run_names = [r.name for r in mlmd_queries.runs(store)]
    for version, run, expected, run_name in zip(
        (first, fixed), ("run1", "run2"), runs["versions"], run_names
    ):
        spam_artifact, artifacts, executions = _affected(store, runs[run])
        if run == "run1":
            # Run 2 compared its data and model with run 1's, the served ones (the
            # gate's drift reference, the Evaluator's baseline): what the first
            # version fed reaches run 2's gate report, evaluation and push.
            for component in COMPARED_WITH_THE_SERVED_MODEL:
                execution = runs["run2"][component]
                executions.add(execution.id)
                for ids in mlmd_queries.outputs(store, execution.id).values():
                    artifacts.update(ids)
        assert (version["sha256"], version["rows"]) == (expected["sha256"], expected["rows"])
        [recorded] = store.get_artifacts_by_id([spam_artifact])
        assert version["first_seen_ms"] == recorded.create_time_since_epoch
        assert version["roots"] == [spam_artifact]
        assert {a["id"] for a in version["artifacts"]} == artifacts
        assert {e["id"] for e in version["executions"]} == executions
        assert version["runs"] == (run_names if run == "run1" else [run_name])
        # The same answer as MLMD's own lineage query.
        assert (artifacts, executions) == _mlmd_downstream(store, [spam_artifact])
    # The two versions share only what run 2 made by comparing with run 1's
    # model; together they are the whole answer.
    compared = {
        i
        for component in COMPARED_WITH_THE_SERVED_MODEL
        for ids in mlmd_queries.outputs(store, runs["run2"][component].id).values()
        for i in ids
    }
    assert {a["id"] for a in first["artifacts"]} & {a["id"] for a in fixed["artifacts"]} == (
        compared
    )
    assert {a["id"] for a in answer["artifacts"]} == {
        a["id"] for v in (first, fixed) for a in v["artifacts"]
    }
    assert answer["runs"] == run_names
    # The file names the same dataset as its folder.
    by_file = json.loads(
        _cli(runs, "downstream", runs["spam_list"] + "/spam_accounts.csv", "--format", "json")
    )
    assert by_file["versions"] == answer["versions"]


def test_downstream_text_lists_each_versions_models(corrected_runs):
    runs = corrected_runs
    store = runs["store"]
    text = _cli(runs, "downstream", runs["spam_list"], "--type", "Model")

    title, first, fixed = text.split("\n\nversion ")
    assert (
        title == f"downstream of {runs['spam_list']}: 2 versions, 4 artifacts, 2 executions, 2 runs"
    )
    for block, number, run, expected in zip(
        (first, fixed), (1, 2), ("run1", "run2"), runs["versions"]
    ):
        assert block.startswith(
            f"{number} of 2 (sha256 {expected['sha256'][:12]}, {expected['rows']} rows, first seen "
        )
        [model] = mlmd_queries.outputs(store, runs[run]["Trainer"].id)["model"]
        assert [line for line in block.splitlines() if "wrote #" in line] == [
            f"    wrote #{model} Model {store.get_artifacts_by_id([model])[0].uri}"
        ]


def test_downstream_type_filter_lists_the_affected_models(corrected_runs):
    runs = corrected_runs
    answer = json.loads(
        _cli(
            runs,
            "downstream",
            runs["spam_list"],
            "--type",
            "Model",
            "--type",
            "PushedModel",
            "--format",
            "json",
        )
    )
    first, fixed = answer["versions"]
    # The first version's model was run 2's baseline: run 2's push follows from it too.
    for version, pushes in ((first, 2), (fixed, 1)):
        types = sorted(a["type"] for a in version["artifacts"] if a["id"] not in version["roots"])
        assert types == ["Model"] + ["PushedModel"] * pushes
        components = sorted(e["component"] for e in version["executions"])
        assert components == ["Pusher"] * pushes + ["Trainer"]


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
    assert by_component["SpamListGen"]["parameters"]["input_base"] == runs["spam_list"]
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
    dot = _cli(runs, "graph", runs["spam_list"], "--format", "dot")
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
    code = main(["lineage", "show", ref, "--metadata", corrected_runs["metadata"]])
    assert code == 2
    assert capsys.readouterr().err == f"error: {message}\n"


def test_missing_store_is_one_clear_error(tmp_path, capsys):
    path = tmp_path / "none.sqlite"
    assert main(["lineage", "runs", "--metadata", str(path)]) == 2
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


# Imports a lineage query must not pay for: TensorFlow alone is seconds of start-up.
HEAVY_MODULES = {"tensorflow", "tfx", "apache_beam", "tfx_bsl"}
# A `sitecustomize` for the real `cascade` script: at exit, it writes the
# top-level modules the command loaded to the file $CASCADE_MODULES_AT_EXIT names.
_MODULES_AT_EXIT = (
    "import atexit, json, os, sys\n"
    "def _modules_at_exit():\n"
    "    with open(os.environ['CASCADE_MODULES_AT_EXIT'], 'w') as f:\n"
    "        json.dump(sorted({m.split('.')[0] for m in sys.modules}), f)\n"
    "atexit.register(_modules_at_exit)\n"
)
TEXT_AND_JSON = ([], ["--format", "json"])


def _run_script(argv: list[str], tmp_path) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Runs the `cascade` console script as a user would: its result, and the
    top-level modules loaded when it exited."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(_MODULES_AT_EXIT)
    at_exit = tmp_path / "modules.json"
    at_exit.unlink(missing_ok=True)
    result = subprocess.run(
        [cascade_script(), *argv],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": f"{site}{os.pathsep}{ROOT}",
            "CASCADE_MODULES_AT_EXIT": str(at_exit),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    modules = set(json.loads(at_exit.read_text()))
    # The modules are those of the command itself, not of another interpreter.
    assert "cli" in modules, sorted(modules)
    return result, modules


@pytest.mark.parametrize(
    "command, formats",
    [
        pytest.param(["lineage", "runs"], TEXT_AND_JSON, id="lineage-runs"),
        pytest.param(["lineage", "show", "{pushed}"], TEXT_AND_JSON, id="lineage-show"),
        pytest.param(["lineage", "upstream", "{pushed}"], TEXT_AND_JSON, id="lineage-upstream"),
        pytest.param(
            ["lineage", "downstream", "{spam_list}"], TEXT_AND_JSON, id="lineage-downstream"
        ),
        pytest.param(
            ["lineage", "downstream", "--where", "labelling_method=crowd", "--type", "Model"],
            TEXT_AND_JSON,
            id="lineage-downstream-where",
        ),
        pytest.param(
            ["lineage", "graph", "{spam_list}"], ([], ["--format", "dot"]), id="lineage-graph"
        ),
        pytest.param(["lineage", "graph", "--run", "{run}"], ([],), id="lineage-graph-run"),
        pytest.param(["inventory"], TEXT_AND_JSON, id="inventory"),
        pytest.param(["history"], TEXT_AND_JSON, id="history"),
    ],
)
def test_read_only_commands_import_no_tensorflow(
    corrected_runs, demo_slice, tmp_path, command, formats
):
    """Each query answers from the store without importing TensorFlow, TFX or Beam
    (artifact files are checked with the standard library), in each format,
    through the `cascade` console script and the config's store as a user runs it."""
    runs = corrected_runs
    [pushed] = mlmd_queries.outputs(runs["store"], runs["run2"]["Pusher"].id)["pushed_model"]
    output = os.path.dirname(runs["metadata"])
    config = os.path.join(os.path.dirname(output), "as_run.yaml")
    text = demo_slice.read_text()
    assert "root: outputs" in text
    with open(config, "w") as f:
        f.write(text.replace("root: outputs", f"root: {output}"))
    first_run = mlmd_queries.runs(runs["store"])[0].name
    argv = [c.format(pushed=pushed, spam_list=runs["spam_list"], run=first_run) for c in command]
    for formatting in formats:
        result, modules = _run_script([*argv, "--config", config, *formatting], tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.strip(), "the command printed nothing"
        assert HEAVY_MODULES.isdisjoint(modules), (
            f"cascade {' '.join(argv + formatting)} imported {sorted(HEAVY_MODULES & modules)}"
        )


def _listed(help_text: str) -> list[str]:
    """The subcommands a `--help` lists, in its order."""
    return re.findall(r"^    (\S+)", help_text, re.MULTILINE)


@pytest.mark.parametrize(
    "argv, subcommands",
    [
        (
            ["--help"],
            [
                "run",
                "predict",
                "skew",
                "transform",
                "lineage",
                "inventory",
                "history",
                "schema",
                "schedule",
            ],  # fmt: skip
        ),
        (["lineage", "--help"], ["runs", "show", "downstream", "upstream", "graph", "export"]),
    ],
    ids=["cascade", "lineage"],
)
def test_help_lists_the_subcommands(tmp_path, argv, subcommands):
    result, modules = _run_script(argv, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith(f"usage: cascade {' '.join(argv[:-1])}".rstrip() + " [-h] ")
    assert _listed(result.stdout) == subcommands
    # Building the command tree imports nothing heavy.
    assert HEAVY_MODULES.isdisjoint(modules), sorted(HEAVY_MODULES & modules)


@pytest.mark.parametrize(
    "argv, choices",
    [
        (
            ["nosuch"],
            "'run', 'predict', 'skew', 'transform', 'lineage', 'inventory', 'history', "
            "'schema', 'schedule'",
        ),
        (["lineage", "nosuch"], "'runs', 'show', 'downstream', 'upstream', 'graph', 'export'"),
    ],
    ids=["cascade", "lineage"],
)
def test_an_unknown_subcommand_exits_2_with_usage(tmp_path, argv, choices):
    result, _ = _run_script(argv, tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"usage: cascade {' '.join(argv[:-1])}".rstrip() + " [-h] ")
    assert f"invalid choice: 'nosuch' (choose from {choices})" in result.stderr


def test_metadata_names_the_store_even_with_a_config(corrected_runs, demo_slice, tmp_path):
    """`--metadata` wins over the store of `--config` (and its `--output-root`)."""
    elsewhere = tmp_path / "elsewhere"
    listed = json.loads(
        _cli(
            corrected_runs,
            "runs",
            "--config",
            str(demo_slice),
            "--output-root",
            str(elsewhere),
            "--format",
            "json",
        )
    )
    assert [r["run"] for r in listed] == [
        r.name for r in mlmd_queries.runs(corrected_runs["store"])
    ]
    assert not elsewhere.exists()
