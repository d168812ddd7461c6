"""Two pipelines started at the same moment against one SQLite store.

SQLite takes one writer at a time, so the second run must wait for the first
(saying whose run it waits for) and then complete; neither may fail, and the
store must hold both runs, each complete and each summarised as its own.
The same on a shared MariaDB store, where both run at once, is in
test_mysql_store_e2e.py.
"""

from __future__ import annotations

import json

import pytest

from cli import lineage as lineage_cli
from tests.e2e.helpers import COMPONENTS, renamed_config, start_cascade

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
        name: start_cascade(["--config", str(config), "--output-root", str(root), "--until", UNTIL])
        for name, config in configs.items()
    }
    results = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=900)
        results[name] = (process.returncode, stdout, stderr)
    return root, results


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
        f"waiting for the metadata store {store}: it is in use by run_local.py, "
        f"pipeline {other!r} (pid "
    ) in stdout


def test_each_pipeline_has_one_complete_run_summarised_as_its_own(two_at_once):
    root, results = two_at_once
    argv = ["--metadata", str(root / "metadata.sqlite"), "runs", "--format", "json"]
    runs = json.loads(lineage_cli.run(lineage_cli.parse_args(argv)))
    assert sorted(r["pipeline"] for r in runs) == sorted(results)
    for run in runs:
        assert run["status"] == "COMPLETE", run
        assert [e["component"] for e in run["executions"]] == RAN
        # The summary each run printed is of its own run.
        _, stdout, _ = results[run["pipeline"]]
        assert f"Run {run['run']}\n" in stdout
