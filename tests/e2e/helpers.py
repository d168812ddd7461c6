"""Helpers for end-to-end runs: small datasets and running `cascade` for real."""

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
# The demo pipeline's nodes, in pipeline order (the two resolvers pick inputs
# for DataGate and the Evaluator).
COMPONENTS = [
    "CsvExampleGen",
    "SpamListGen",
    "IdMapGen",
    "CleanExamples",
    "StratifiedSplit",
    "StatisticsGen",
    "SchemaGen",
    "SkewCalibration",
    "ExampleValidator",
    "ServedStatistics",
    "DataGate",
    "Transform",
    "Trainer",
    "BaselineModel",
    "Evaluator",
    "Pusher",
]
RESOLVERS = ("ServedStatistics", "BaselineModel")
# What a second run of unchanged data runs again: the resolvers (they always
# run), the gate (a model is served now, so it compares drift with it), and
# the Evaluator and Pusher (the first run's model is now the baseline).
AGAIN_ON_SECOND_RUN = ("ServedStatistics", "DataGate", "BaselineModel", "Evaluator", "Pusher")
# Rows per source in the demo slice the end-to-end tests run on.
SLICE_ROWS = {"web": 600, "mobile": 400, "partner": 300}


# `cascade ARGS` exactly as the console script runs it, from any project tree.
_CASCADE = "import sys; from cli.main import main; sys.exit(main(sys.argv[1:]))"


def _cascade_command(args: Sequence[str], root: Path) -> dict:
    """The keyword arguments that run `cascade args...` as a user would."""
    return dict(
        args=[sys.executable, "-c", _CASCADE, *args],
        cwd=root,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(root)},
    )


def run_cascade(
    args: Sequence[str], timeout: int = 900, root: Path = ROOT
) -> subprocess.CompletedProcess:
    """Runs `cascade args...` (e.g. `["run", "--config", ...]`) in a fresh process.

    Args:
      args: The command line after `cascade`.
      timeout: Seconds before the run is killed.
      root: The project tree to run (a copy, to run edited code).
    """
    return subprocess.run(**_cascade_command(args, root), capture_output=True, timeout=timeout)


def start_cascade(args: Sequence[str], root: Path = ROOT) -> subprocess.Popen:
    """Starts `cascade args...` in a fresh process and returns at once (stdout and
    stderr piped; `communicate()` collects them)."""
    return subprocess.Popen(
        **_cascade_command(args, root), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def cascade_script() -> str:
    """The `cascade` console script of this interpreter's environment (`pip install -e .`)."""
    return os.path.join(os.path.dirname(sys.executable), "cascade")


def finish_all(
    processes: dict[str, subprocess.Popen], timeout: int = 900
) -> dict[str, tuple[int, str, str]]:
    """Waits for processes started together: {name: (exit code, stdout, stderr)}.

    Their pipes are drained at the same time, so one that prints a lot while
    another waits for it can never block on a full pipe.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(processes)) as pool:
        outputs = {
            name: pool.submit(process.communicate, timeout=timeout)
            for name, process in processes.items()
        }
        finished = {name: future.result() for name, future in outputs.items()}
    # Read after communicate() has returned: only then is the exit code set.
    return {name: (processes[name].returncode, *finished[name]) for name in processes}


def newest_pushed(output_root: Path) -> str:
    """The newest version Pusher wrote under `<output_root>/serving_model` (the one served).

    A second run of unchanged data pushes the same model again: its Evaluator
    ran again with the first run's model as the baseline.
    """
    versions = sorted((output_root / "serving_model").iterdir(), key=lambda p: int(p.name))
    assert versions, f"no model pushed under {output_root}"
    return str(versions[-1])


def renamed_config(config: Path, name: str) -> Path:
    """A copy of `config` beside it for another pipeline name (same data)."""
    text = config.read_text()
    first = text.split("\nname: ", 1)[1].split("\n", 1)[0]
    renamed = config.with_name(f"{name}.yaml")
    renamed.write_text(text.replace(f"\nname: {first}\n", f"\nname: {name}\n", 1))
    return renamed


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
