"""The production loop, day by day: `data/demo/production.py`, run as a user runs it.

Four days of spans: day 1 is pushed and its schema exported and curated; day
2 (the same distribution) passes the drift check and is pushed; day 3 (a
category the curated schema lacks) is stopped at the gate, nothing pushed;
day 4 (40% of one source's labels flipped) trains but is not pushed, with the
reason (its web slice falls below min_auc). The served model after day 4 is day 2's, and `lineage runs` says
which runs were gated or not pushed, and why; the OpenLineage export ends day 3's
DataGate in a FAIL event carrying the gate's message.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from metadata import names
from metadata.openlineage_events import run_id
from tests.e2e import mlmd_queries
from tests.e2e.helpers import ROOT, run_cascade
from tests.metadata.openlineage_reader import read_event, same_json

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> dict:
    """The script's output per `=== ` section, and where it ran."""
    root = tmp_path_factory.mktemp("production")
    result = subprocess.run(
        [sys.executable, str(ROOT / "data" / "demo" / "production.py"), "--output-root", str(root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    sections = {}
    for block in result.stdout.split("\n=== ")[1:]:
        heading, _, body = block.partition("\n")
        sections[heading.split(":")[0]] = body
    return {"root": root, **sections}


def _pushed(output: str) -> str:
    return re.search(r"pushed model:\s+(.*)", output).group(1).strip()


def _exit_code(output: str) -> int:
    return int(re.findall(r"\(exit code (\d+)\)", output)[-1])


def test_day_1_is_pushed_and_its_schema_is_exported(story) -> None:
    day = story["day 1"]
    assert _exit_code(day) == 0
    assert "drift: no model is served yet, so there is nothing to compare with" in day
    assert "compared with:  nothing: no model was blessed before this one" in day
    assert "/serving_model/" in _pushed(day)
    assert "schema: schema.pbtxt" in story["schema"]


def test_day_2_same_distribution_passes_the_drift_check_and_is_pushed(story) -> None:
    day = story["day 2"]
    assert _exit_code(day) == 0
    table = day.split("drift from the served model's training data", 1)[1].splitlines()[2:11]
    rows = [line.split() for line in table]
    assert len(rows) == 9 and all(row[-1] == "ok" for row in rows), table
    assert "/serving_model/" in _pushed(day)
    assert _pushed(day) != _pushed(story["day 1"])
    # Compared with the served model (day 1's) on day 2's test split.
    assert re.search(r"compared with:  test AUC \d\.\d{3}, the served model's \d\.\d{3}", day)


def test_day_3_new_category_is_stopped_at_the_gate_and_nothing_is_pushed(story) -> None:
    day = story["day 3"]
    assert _exit_code(day) == 1
    assert not re.search(r"^\s+Transform\s", day, re.MULTILINE), day
    assert _pushed(day) == "none (the data gate stopped the run before Transform)"
    [error] = [line for line in day.splitlines() if line.startswith("error: ")]
    assert error.startswith("error: the data gate stopped the run: ")
    assert "employment_status" in error
    blocking = [line for line in day.splitlines() if "BLOCKS" in line]
    assert blocking and all("employment_status" in line for line in blocking)
    assert "ENUM_TYPE_UNEXPECTED_STRING_VALUES" in blocking[0]


def test_day_4_flipped_labels_train_but_are_not_pushed_with_the_reason(story) -> None:
    day = story["day 4"]
    assert _exit_code(day) == 0
    assert re.search(r"^\s+Trainer\s+COMPLETE", day, re.MULTILINE), day
    pushed = _pushed(day)
    assert pushed.startswith("none: not pushed: test AUC on source=web "), pushed
    assert re.search(r"below the minimum 0\.700", pushed), pushed


def test_the_served_model_after_day_4_is_day_2s(story) -> None:
    serving = story["root"] / "outputs" / "cascade-production" / "serving_model"
    newest = max(serving.iterdir(), key=lambda p: int(p.name))
    assert str(newest) == _pushed(story["day 2"])


def test_lineage_runs_says_which_runs_were_gated_or_not_pushed_and_why(story) -> None:
    config = story["root"] / "production.yaml"
    runs = json.loads(
        run_cascade(["lineage", "runs", "--config", str(config), "--format", "json"]).stdout
    )
    statuses = [(r["status"], r["reason"]) for r in runs]
    assert [s for s, _ in statuses] == ["COMPLETE", "COMPLETE", "GATED", "NOT_PUSHED"]
    assert statuses[2][1].startswith("stopped before Transform: ")
    assert "employment_status" in statuses[2][1]
    assert statuses[3][1].startswith("test AUC ")
    assert "why: stopped before Transform" in story["runs"]


def test_the_openlineage_export_ends_day_3s_gate_in_a_fail_event_with_its_message(
    story, tmp_path
) -> None:
    config = story["root"] / "production.yaml"
    events_file = tmp_path / "events.jsonl"
    exported = run_cascade(
        [
            "lineage",
            "export",
            "--openlineage",
            "--output",
            str(events_file),
            "--config",
            str(config),
        ]
    )
    assert exported.returncode == 0, exported.stderr[-3000:]
    lines = events_file.read_text().splitlines()
    events = [read_event(line) for line in lines]
    assert all(same_json(event, line) for event, line in zip(events, lines))

    store = mlmd_queries.open_store(
        str(story["root"] / "outputs" / "cascade-production" / "metadata.sqlite")
    )
    pipeline = names.pipeline_context(store, "cascade-production")
    day_3 = mlmd_queries.runs(store)[2]
    steps = mlmd_queries.executions_by_component(store, day_3, "cascade-production")
    gate = steps.pop("DataGate")
    message = json.loads(gate.custom_properties["__execution_result__"].string_value)
    ends = {
        e.run.runId: (e.job.name, e.eventType.value, e.run.facets)
        for e in events
        if e.eventType.value != "START"
    }

    job, state, facets = ends[run_id(pipeline, "execution", str(gate.id))]
    assert (job, state) == ("cascade-production.DataGate", "FAIL")
    assert facets["errorMessage"].message == message["resultMessage"]
    assert "employment_status" in facets["errorMessage"].message
    assert "ENUM_TYPE_UNEXPECTED_STRING_VALUES" in facets["errorMessage"].message
    assert facets["parent"].run.runId == run_id(pipeline, "run", day_3.name)
    # Every step before the gate ended well; nothing after it ran.
    assert {"CleanExamples", "StratifiedSplit", "StatisticsGen", "ExampleValidator"} <= set(steps)
    assert "Transform" not in steps
    for component, execution in steps.items():
        job, state, _ = ends[run_id(pipeline, "execution", str(execution.id))]
        assert (job, state) == (f"cascade-production.{component}", "COMPLETE"), component
    assert ends[run_id(pipeline, "run", day_3.name)][:2] == ("cascade-production", "FAIL")
