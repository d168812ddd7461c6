"""One SQLite store shared by two pipelines: concurrent runs, deleted files, a third name.

SQLite takes one writer at a time, so of two runs started at the same moment
the second must wait for the first (saying whose run it waits for) and then
complete; neither may fail, and the store must hold both runs, each complete
and each summarised as its own. Then one run's statistics folder is deleted:
lineage marks it missing and a rerun computes it again. A pipeline name the
store never ran gets one sentence naming the pipelines it holds. Concurrent
runs on a shared MariaDB store, where both run at once, are in
test_mysql_store_e2e.py.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from cli.main import execute, main
from metadata.lineage import Lineage
from tests.e2e import mlmd_queries
from tests.e2e.helpers import (
    COMPONENTS,
    finish_all,
    renamed_config,
    run_cascade,
    start_cascade,
)

pytestmark = pytest.mark.e2e

# Enough components to write every kind of record (custom components,
# artifacts, executions) while keeping the two runs short.
UNTIL = "StatisticsGen"
RAN = COMPONENTS[: COMPONENTS.index(UNTIL) + 1]


@pytest.fixture(scope="module")
def two_at_once(demo_slice, tmp_path_factory):
    """{pipeline name: (exit code, stdout, stderr)} of two runs sharing one store."""
    root = tmp_path_factory.mktemp("concurrent")
    configs = {
        "cascade-demo": demo_slice,
        "cascade-other": renamed_config(demo_slice, "cascade-other"),
    }
    processes = {
        name: start_cascade(
            ["run", "--config", str(config), "--output-root", str(root), "--until", UNTIL]
        )
        for name, config in configs.items()
    }
    return root, finish_all(processes)


def test_both_runs_complete(two_at_once):
    _, results = two_at_once
    for name, (code, stdout, stderr) in results.items():
        assert code == 0, f"{name}: {stderr[-3000:]}{stdout[-3000:]}"


def test_the_second_run_waited_for_the_first_and_said_for_whom(two_at_once):
    root, results = two_at_once
    store = root / "metadata.sqlite"
    waited = {
        name: stdout for name, (_, stdout, _) in results.items() if "waiting for the" in stdout
    }
    assert len(waited) == 1, {name: out[:2000] for name, (_, out, _) in results.items()}
    [(name, stdout)] = waited.items()
    [other] = set(results) - {name}
    assert (
        f"waiting for the metadata store {store}: it is in use by cascade run, "
        f"pipeline {other!r} (pid "
    ) in stdout


def test_each_pipeline_has_one_complete_run_summarised_as_its_own(two_at_once):
    root, results = two_at_once
    runs = json.loads(_lineage(root / "metadata.sqlite", "runs", "--format", "json"))
    assert sorted(r["pipeline"] for r in runs) == sorted(results)
    for run in runs:
        assert run["status"] == "COMPLETE", run
        # LocalDagRunner may run the two reference-data ExampleGens either way round.
        assert sorted(e["component"] for e in run["executions"]) == sorted(RAN)
        # The summary each run printed is of its own run.
        _, stdout, _ = results[run["pipeline"]]
        assert f"Run {run['run']}\n" in stdout


def _lineage(store: Path, question: str, *args: str) -> str:
    """`cascade lineage QUESTION --metadata STORE ARGS`, in this process: the report."""
    return execute(["lineage", question, "--metadata", str(store), *args])


@pytest.fixture(scope="module")
def statistics_deleted_then_rerun(two_at_once, demo_slice):
    """After the runs: cascade-demo's statistics folder deleted, then that run repeated.

    Returns (root, the deleted folder, the lineage text before the rerun, the rerun).
    """
    root, _ = two_at_once
    store = root / "metadata.sqlite"
    runs = json.loads(_lineage(store, "runs", "--format", "json"))
    [demo_run] = [r for r in runs if r["pipeline"] == "cascade-demo"]
    graph = Lineage(mlmd_queries.open_store(str(store))).run_graph(demo_run["run"])
    [statistics] = [
        dataclasses.asdict(a) for a in graph.artifacts.values() if a.type == "ExampleStatistics"
    ]
    shutil.rmtree(statistics["uri"])
    text = _lineage(store, "downstream", str(demo_slice.parent / "data" / "spam_accounts"))
    rerun = run_cascade(
        ["run", "--config", str(demo_slice), "--output-root", str(root), "--until", UNTIL]
    )
    return root, statistics, text, rerun


def test_lineage_marks_the_deleted_statistics_as_missing(statistics_deleted_then_rerun):
    _, statistics, text, _ = statistics_deleted_then_rerun
    assert (
        f"#{statistics['id']} ExampleStatistics {statistics['uri']}  "
        "[files missing: not found where it was recorded]"
    ) in text
    assert (
        "files missing: 1 of these artifacts' files are not found where they were recorded" in text
    )


def test_a_rerun_computes_the_deleted_statistics_again_and_reuses_the_rest(
    statistics_deleted_then_rerun,
):
    root, statistics, _, rerun = statistics_deleted_then_rerun
    assert rerun.returncode == 0, rerun.stderr[-3000:] + rerun.stdout[-3000:]
    assert "note: the metadata store" in rerun.stdout and "'cascade-other'" in rerun.stdout
    runs = json.loads(_lineage(root / "metadata.sqlite", "runs", "--format", "json"))
    newest = [r for r in runs if r["pipeline"] == "cascade-demo"][-1]
    states = {e["component"]: e["state"] for e in newest["executions"]}
    assert states == {**dict.fromkeys(RAN, "CACHED"), "StatisticsGen": "COMPLETE"}


def test_commands_on_a_store_without_their_pipeline_say_whose_store_it_is(
    two_at_once, demo_slice, capsys
):
    root, _ = two_at_once
    third = renamed_config(demo_slice, "cascade-third")
    serving = demo_slice.parent / "serving.csv"
    serving.write_text("user_id,age\nu1,30\n")
    code = main(
        ["predict", "--config", str(third), "--output-root", str(root), "--input", str(serving)]
    )
    error = capsys.readouterr().err
    assert code == 2
    assert error.startswith("error: no pushed model for pipeline 'cascade-third'")
    assert "only of 'cascade-demo', 'cascade-other'" in error
    code = main(
        ["history", "--metadata", str(root / "metadata.sqlite"), "--pipeline", "cascade-third"]
    )
    error = capsys.readouterr().err
    assert code == 2
    assert "no pipeline 'cascade-third' in the metadata store" in error
