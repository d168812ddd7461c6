"""A run killed outright (SIGKILL) during Trainer, then rerun with the same command.

The rerun must complete reusing what the killed run finished (CACHED), run the
killed step again, consume no partial artifact, and `cascade lineage runs`
must not call the killed run COMPLETE.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest
from ml_metadata.proto import metadata_store_pb2

from cli.main import execute
from tests.e2e import mlmd_queries
from tests.e2e.helpers import ROOT, cascade_script, run_cascade

pytestmark = pytest.mark.e2e

PIPELINE = "cascade-demo"
KILLED_IN = "Trainer"
# LocalDagRunner's order runs these before Trainer (see the run's progress lines).
BEFORE_TRAINER = [
    "CsvExampleGen", "SpamListGen", "IdMapGen", "CleanExamples", "StratifiedSplit",
    "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform",
]  # fmt: skip
CACHED = metadata_store_pb2.Execution.CACHED
COMPLETE = metadata_store_pb2.Execution.COMPLETE


@pytest.fixture(scope="module")
def killed_then_rerun(demo_slice, tmp_path_factory):
    """(output root, the rerun's result) after a run SIGKILLed while Trainer runs."""
    root = tmp_path_factory.mktemp("killed")
    args = ["run", "--config", str(demo_slice), "--output-root", str(root)]
    process = subprocess.Popen(
        [cascade_script(), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    for line in process.stdout:
        if re.fullmatch(rf"  \[\s*\d+/\d+\] {KILLED_IN} \.\.\.\n", line):
            time.sleep(3)  # into training: the execution is registered and running
            process.kill()
            break
    process.wait(timeout=600)
    assert process.returncode == -9, "the run ended before it could be killed in Trainer"
    rerun = run_cascade(args)
    assert rerun.returncode == 0, rerun.stderr[-3000:] + rerun.stdout[-3000:]
    return root, rerun


def test_the_rerun_reuses_finished_steps_and_runs_the_killed_one_again(killed_then_rerun):
    root, _ = killed_then_rerun
    store = mlmd_queries.open_store(str(root / "metadata.sqlite"))
    killed_run, rerun = mlmd_queries.runs(store)
    killed = mlmd_queries.executions_by_component(store, killed_run, PIPELINE)
    again = mlmd_queries.executions_by_component(store, rerun, PIPELINE)
    assert {c: killed[c].last_known_state for c in BEFORE_TRAINER} == dict.fromkeys(
        BEFORE_TRAINER, COMPLETE
    )
    assert killed[KILLED_IN].last_known_state == metadata_store_pb2.Execution.RUNNING
    assert {c: again[c].last_known_state for c in BEFORE_TRAINER} == dict.fromkeys(
        BEFORE_TRAINER, CACHED
    )
    for component in (KILLED_IN, "Evaluator", "Pusher"):
        assert again[component].last_known_state == COMPLETE, component
        assert again[component].id != getattr(killed.get(component), "id", None)


def test_no_partial_artifact_is_consumed(killed_then_rerun):
    root, _ = killed_then_rerun
    store = mlmd_queries.open_store(str(root / "metadata.sqlite"))
    _, rerun = mlmd_queries.runs(store)
    executions = [e.id for e in store.get_executions_by_context(rerun.id)]
    inputs = [
        event.artifact_id
        for event in store.get_events_by_execution_ids(executions)
        if event.type == metadata_store_pb2.Event.INPUT
    ]
    states = {a.id: a.state for a in store.get_artifacts_by_id(inputs)}
    assert set(states.values()) == {metadata_store_pb2.Artifact.LIVE}, states


def test_runs_does_not_call_the_killed_run_complete(killed_then_rerun):
    root, _ = killed_then_rerun
    argv = ["lineage", "runs", "--metadata", str(root / "metadata.sqlite"), "--format", "json"]
    runs = json.loads(execute(argv))
    assert [r["status"] for r in runs] == ["UNFINISHED", "COMPLETE"]
    trainer = [e["state"] for e in runs[0]["executions"] if e["component"] == KILLED_IN]
    assert trainer == ["RUNNING"]
