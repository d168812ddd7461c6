"""Runs the production loop on four days of arriving demo data, one span a day.

The demo generator makes users at three times the demo's size; each day a
quarter of them arrive as a new span of every source (3,750 rows), and the
pipeline runs on the newest span, as a scheduler would run it every night:

- day 1: the first model is pushed; its inferred schema is exported
  (`cascade schema export`), curated (the high-cardinality features tolerate
  a few unseen values) and named in the config (`schema:`);
- day 2: a new span from the same distribution: the gate's drift table is all
  ok and the model is pushed;
- day 3: a fifth of the rows hold an employment status the curated schema's
  domain lacks: the gate stops the run before Transform, nothing is pushed;
- day 4: 40% of the web source's labels are flipped at random: the model
  trains, but its test AUC on the web slice falls below `min_auc` and it is
  not pushed. (Its overall AUC stays within `max_auc_drop` of the served
  model's on the same noisy test split: random flips hurt the labels the
  models are judged on more than the model trained on them.)

Then `cascade lineage runs` says which runs were gated or not pushed, and why.
Every day's command and its whole output are printed under a `=== day N`
heading; tests/e2e/test_production_story_e2e.py checks them.

    .venv/bin/python data/demo/production.py               # or: make demo-production
    .venv/bin/python data/demo/production.py --output-root outputs/story
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import subprocess
import sys
from typing import Optional, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SOURCES = ("web", "mobile", "partner")
# Three times the demo's users: a day's span trains a model steady enough that
# two same-distribution days score within max_auc_drop of each other.
SCALE = 3
DAYS = 4
LABEL = "looking_for_job"
NEW_STATUS = "gig_worker"
FLIPPED_SOURCE = "web"
FLIP_RATE = 0.4
CONFIG_NAME = "production.yaml"
SCHEMA_NAME = "schema.pbtxt"

CONFIG = """\
# The demo as a production pipeline: one span of every source arrives each day.
name: cascade-production
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
cleaning:
  spam_list: {{path: generated/spam_accounts, id_column: user_id}}
  id_map: {{path: generated/id_map, alias_column: alias_id, canonical_column: canonical_id}}
  keep_latest_by: signup_ts
  source_priority: [web, mobile, partner]
split: {{seed: 7, ratios: {{train: 0.6, dev: 0.2, test: 0.2}}, stratify_by: [source]}}
training: {{train_steps: 300}}
evaluation: {{min_auc: 0.7, max_auc_drop: 0.02}}
drift: {{on_breach: warn}}
serving: {{skew: {{resamples: 20}}}}
{schema}"""


def generate(output_root: str) -> None:
    """Writes the generator's users, spam list and id map under `<output_root>/generated`."""
    subprocess.run(
        [sys.executable, os.path.join(HERE, "generate.py"), "--scale", str(SCALE)]
        + ["--out", os.path.join(output_root, "generated")],
        check=True,
        capture_output=True,
    )


def write_span(output_root: str, day: int) -> dict[str, int]:
    """Writes day `day`'s span of every source; returns rows per source.

    Day 3 gives 20% of the rows an employment status no earlier day had; day 4
    flips 40% of the web source's labels, each at random (seeded per day).
    """
    written = {}
    for source in SOURCES:
        path = os.path.join(output_root, "generated", source, "users.csv")
        with open(path, newline="", encoding="utf-8") as f:
            header, *rows = list(csv.reader(f))
        per_day = len(rows) // DAYS
        day_rows = rows[(day - 1) * per_day : day * per_day]
        rng = random.Random(f"{source}-{day}")
        label, status = header.index(LABEL), header.index("employment_status")
        for row in day_rows:
            if day == 3 and rng.random() < 0.2:
                row[status] = NEW_STATUS
            if day == 4 and source == FLIPPED_SOURCE and rng.random() < FLIP_RATE:
                row[label] = "1" if row[label] == "0" else "0"
        target = os.path.join(output_root, "data", source, f"span-{day}", "users.csv")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(day_rows)
        written[source] = len(day_rows)
    return written


def curate(schema_path: str) -> None:
    """What a reviewer does to the exported schema: the high-cardinality features
    tolerate a few values the first day did not see (at most 10% of a split);
    employment_status keeps its strict domain."""
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    with open(schema_path, encoding="utf-8") as f:
        schema = text_format.Parse(f.read(), schema_pb2.Schema())
    for feature in schema.feature:
        if feature.name in ("country", "industry", "education"):
            feature.distribution_constraints.min_domain_mass = 0.9
    with open(schema_path, "w", encoding="utf-8") as f:
        f.write(text_format.MessageToString(schema))


def cascade(args: Sequence[str], output_root: str) -> int:
    """Runs `cascade ARGS` of this project tree in its own process, in `output_root`;
    prints the command and everything it prints, and returns its exit code."""
    print(f"$ cascade {' '.join(args)}", flush=True)
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from cli.main import main; sys.exit(main())", *args],
        cwd=output_root,
        env={**os.environ, "PYTHONPATH": ROOT},
        capture_output=True,
        text=True,
        check=False,
    )
    print(result.stdout.rstrip("\n"))
    if result.stderr.strip():
        print(result.stderr.rstrip("\n"))
    print(f"(exit code {result.returncode})", flush=True)
    return result.returncode


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parses the flags; argparse exits 2 with usage on bad ones."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--output-root",
        default=os.path.join(ROOT, "outputs", "demo-production"),
        help="where the days' data, config, store and models go (cleared first)",
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the four days; returns 0 when each day ended as the story says, else 1."""
    args = parse_args(argv)
    output_root = os.path.abspath(args.output_root)
    if os.path.isdir(output_root) and os.listdir(output_root):
        if not os.path.exists(os.path.join(output_root, CONFIG_NAME)):
            print(
                f"error: --output-root {args.output_root}: the folder is not empty and was not "
                "made by this script; give a new folder",
                file=sys.stderr,
            )
            return 2
        shutil.rmtree(output_root)
    os.makedirs(output_root, exist_ok=True)
    generate(output_root)
    config = os.path.join(output_root, CONFIG_NAME)
    with open(config, "w", encoding="utf-8") as f:
        f.write(CONFIG.format(schema=""))
    expected = {1: 0, 2: 0, 3: 1, 4: 0}
    codes = {}
    for day in range(1, DAYS + 1):
        rows = write_span(output_root, day)
        print(f"\n=== day {day}: span {day} arrives ({sum(rows.values()):,} rows)", flush=True)
        codes[day] = cascade(["run", "--config", CONFIG_NAME], output_root)
        if day == 1:
            print("\n=== schema: exported, curated, named in the config")
            cascade(
                ["schema", "export", "--config", CONFIG_NAME, "--output", SCHEMA_NAME], output_root
            )
            curate(os.path.join(output_root, SCHEMA_NAME))
            with open(config, "w", encoding="utf-8") as f:
                f.write(CONFIG.format(schema=f"schema: {SCHEMA_NAME}\n"))
    print("\n=== runs")
    cascade(["lineage", "runs", "--config", CONFIG_NAME], output_root)
    return 0 if codes == expected else 1


if __name__ == "__main__":
    sys.exit(main())
