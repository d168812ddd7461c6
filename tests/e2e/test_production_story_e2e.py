"""The production loop, day by day, on small generated data (one span a day).

Day 1 is pushed and its schema is exported and curated. Day 2 (a new span,
the same distribution) passes the gate with every drift feature ok and is
pushed. Day 3 holds a category the curated schema's domain lacks: the gate
stops the run before Transform, nothing is pushed, the anomaly is named and
recorded. Day 4 has 40% of one source's labels flipped at random: it trains,
is not pushed, and the reason is printed. The served model after day 4 is
day 2's, and `lineage runs` says which runs were gated or not pushed, and why.
"""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

import pytest

from tests.e2e.helpers import DEMO_DATA, run_cascade

pytestmark = pytest.mark.e2e

SOURCES = {"web": 2500, "mobile": 1500, "partner": 1000}
DAYS = 4
LABEL = "looking_for_job"
NEW_STATUS = "gig_worker"
FLIPPED_SOURCE = "web"

CONFIG = """\
name: story
sources:
  - {{name: web, path: 'data/web/span-{{SPAN}}'}}
  - {{name: mobile, path: 'data/mobile/span-{{SPAN}}'}}
  - {{name: partner, path: 'data/partner/span-{{SPAN}}'}}
id_key: user_id
label: looking_for_job
features:
  - {{name: age, kind: numeric}}
  - {{name: years_experience, kind: numeric}}
  - {{name: profile_views_30d, kind: skewed_numeric}}
  - {{name: applications_30d, kind: skewed_numeric}}
  - {{name: education, kind: categorical, min_frequency: 5}}
  - {{name: industry, kind: categorical, min_frequency: 5}}
  - {{name: country, kind: categorical, min_frequency: 5}}
  - {{name: employment_status, kind: categorical, min_frequency: 5}}
  - {{name: signup_ts, kind: timestamp}}
split: {{seed: 7, ratios: {{train: 0.6, dev: 0.2, test: 0.2}}, stratify_by: [source]}}
training: {{train_steps: 300}}
evaluation: {{min_auc: 0.55, max_auc_drop: 0.02}}
serving: {{skew: {{resamples: 20}}}}
output: {{root: outputs}}
{schema}"""


def write_span(root: Path, day: int) -> None:
    """Day `day`'s users of every source: the demo's rows, a quarter per day.

    Day 3 gives 20% of the rows an employment status no earlier day had; day 4
    flips 40% of the web source's labels, each at random.
    """
    for source, total in SOURCES.items():
        with open(DEMO_DATA / source / "users.csv", newline="") as f:
            header, *rows = list(csv.reader(f))
        per_day = total // DAYS
        day_rows = rows[(day - 1) * per_day : day * per_day]
        rng = random.Random(f"{source}-{day}")
        label, status = header.index(LABEL), header.index("employment_status")
        for row in day_rows:
            if day == 3 and rng.random() < 0.2:
                row[status] = NEW_STATUS
            if day == 4 and source == FLIPPED_SOURCE and rng.random() < 0.4:
                row[label] = "1" if row[label] == "0" else "0"
        target = root / "data" / source / f"span-{day}" / "users.csv"
        target.parent.mkdir(parents=True)
        with open(target, "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(day_rows)


def curate(schema_path: Path) -> None:
    """What a reviewer does to the exported schema: tolerate a few unseen values
    of the high-cardinality features, keep employment_status's domain strict."""
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    schema = text_format.Parse(schema_path.read_text(), schema_pb2.Schema())
    for feature in schema.feature:
        if feature.name in ("country", "industry", "education"):
            feature.distribution_constraints.min_domain_mass = 0.9
    schema_path.write_text(text_format.MessageToString(schema))


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> dict:
    """Runs the four days; returns each day's run (and the exported schema's output)."""
    root = tmp_path_factory.mktemp("story")
    config = root / "story.yaml"
    config.write_text(CONFIG.format(schema=""))
    days = {}
    write_span(root, 1)
    days[1] = run_cascade(["run", "--config", str(config)])
    assert days[1].returncode == 0, days[1].stdout[-3000:] + days[1].stderr[-3000:]
    days["export"] = run_cascade(
        ["schema", "export", "--config", str(config), "--output", str(root / "schema.pbtxt")]
    )
    assert days["export"].returncode == 0, days["export"].stderr
    curate(root / "schema.pbtxt")
    config.write_text(CONFIG.format(schema="schema: schema.pbtxt\n"))
    for day in (2, 3, 4):
        write_span(root, day)
        days[day] = run_cascade(["run", "--config", str(config)])
    days["runs"] = run_cascade(["lineage", "runs", "--config", str(config), "--format", "json"])
    days["root"] = root
    return days


def _pushed(output: str) -> str:
    return re.search(r"pushed model:\s+(.*)", output).group(1).strip()


def test_day_1_is_pushed_and_its_schema_is_exported(story) -> None:
    day = story[1]
    assert "drift: no model is served yet, so there is nothing to compare with" in day.stdout
    assert _pushed(day.stdout).startswith(str(story["root"] / "outputs" / "serving_model"))
    assert "schema: " in story["export"].stdout


def test_day_2_same_distribution_passes_the_drift_check_and_is_pushed(story) -> None:
    day = story[2]
    assert day.returncode == 0, day.stdout[-3000:] + day.stderr[-3000:]
    table = day.stdout.split("drift from the served model's training data", 1)[1]
    rows = [line.split() for line in table.splitlines()[2:11]]
    assert len(rows) == 9 and all(row[-1] == "ok" for row in rows), table
    assert _pushed(day.stdout) not in ("", _pushed(story[1].stdout))
    assert not _pushed(day.stdout).startswith("none")


def test_day_3_new_category_is_stopped_at_the_gate_and_nothing_is_pushed(story) -> None:
    day = story[3]
    assert day.returncode == 1
    assert not re.search(r"^\s+Transform\s", day.stdout, re.MULTILINE), day.stdout
    [error] = day.stderr.strip().splitlines()[-1:]
    assert error.startswith("error: the data gate stopped the run: ")
    assert "employment_status" in error
    blocking = [
        line for line in day.stdout.splitlines() if "BLOCKS" in line and "employment_status" in line
    ]
    assert blocking and "ENUM_TYPE_UNEXPECTED_STRING_VALUES" in blocking[0]


def test_day_4_flipped_labels_train_but_are_not_pushed_with_the_reason(story) -> None:
    day = story[4]
    assert day.returncode == 0, day.stdout[-3000:] + day.stderr[-3000:]
    pushed = _pushed(day.stdout)
    assert pushed.startswith("none: not pushed: test AUC "), pushed
    assert re.search(r"vs serving model \d\.\d{3} \(allowed drop 0\.020\)", pushed), pushed


def test_the_served_model_after_day_4_is_day_2s(story) -> None:
    serving = story["root"] / "outputs" / "serving_model"
    newest = max(serving.iterdir(), key=lambda p: int(p.name))
    assert str(newest) == _pushed(story[2].stdout)


def test_lineage_runs_says_which_runs_were_gated_or_not_pushed_and_why(story) -> None:
    runs = json.loads(story["runs"].stdout)
    statuses = [(r["status"], r["reason"]) for r in runs]
    assert [s for s, _ in statuses] == ["COMPLETE", "COMPLETE", "GATED", "NOT_PUSHED"]
    assert statuses[2][1].startswith("stopped before Transform: ")
    assert "employment_status" in statuses[2][1]
    assert statuses[3][1].startswith("test AUC ")
