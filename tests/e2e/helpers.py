"""Helpers for end-to-end runs: small datasets and running `run_local.py` for real."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parents[2]
DEMO_DATA = ROOT / "data" / "demo"
# The demo pipeline's nodes, in the order they run.
COMPONENTS = [
    "CsvExampleGen",
    "SpamListGen",
    "IdMapGen",
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
# Rows per source in the demo slice the end-to-end tests run on.
SLICE_ROWS = {"web": 600, "mobile": 400, "partner": 300}


def run_cascade(
    args: Sequence[str], timeout: int = 900, root: Path = ROOT
) -> subprocess.CompletedProcess:
    """Runs `run_local.py` in a fresh process, as a user would.

    Args:
      args: The command line.
      timeout: Seconds before the run is killed.
      root: The project tree to run (a copy, to run edited code).
    """
    return subprocess.run(
        [sys.executable, str(root / "run_local.py"), *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(root)},
    )


def copy_rows(source: Path, target: Path, rows: int) -> None:
    """Copies the header and the first `rows` rows of a CSV file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(source, newline="") as f_in, open(target, "w", newline="") as f_out:
        reader, writer = csv.reader(f_in), csv.writer(f_out, lineterminator="\n")
        for i, row in enumerate(reader):
            if i > rows:
                break
            writer.writerow(row)


def demo_config_in(root: Path, train_steps: int, min_auc: float) -> str:
    """Copies the demo's spam list and id map under `root`/data and returns the demo
    config's text reading data from `root`/data and writing to `root`/outputs."""
    for reference in ("spam_accounts/spam_accounts.csv", "id_map/id_map.csv"):
        (root / "data" / reference).parent.mkdir(parents=True)
        shutil.copy(DEMO_DATA / reference, root / "data" / reference)
    text = (ROOT / "configs" / "demo.yaml").read_text()
    text = text.replace("../data/demo/", "data/").replace("../outputs/demo", "outputs")
    return text.replace("train_steps: 1500", f"train_steps: {train_steps}").replace(
        "min_auc: 0.7", f"min_auc: {min_auc}"
    )
