"""The production loop, day by day: `data/demo/production.py`, run as a user runs it.

Four days of spans: day 1 is pushed and its schema exported and curated; day
2 (the same distribution) passes the drift check and is pushed; day 3 (a
category the curated schema lacks) is stopped at the gate, nothing pushed;
day 4 (40% of one source's labels flipped) trains but is not pushed, with the
reason (its web slice falls below min_auc). The served model after day 4 is day 2's, and `lineage runs` says
which runs were gated or not pushed, and why.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.e2e.helpers import ROOT, run_cascade

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
