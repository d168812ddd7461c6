"""Runs the demo pipeline on a growing share of the demo data, then its history.

The motivating advice: grow the data gradually, no more than 10x at a time,
and check the model at each step. This script does that with the demo: for
each share (default 10%, 30%, 100%) it copies the first rows of every source,
runs the pipeline into one fresh output root and metadata store (an earlier
growth run there is removed first), and at the end
prints `cascade history` and draws its plot. Each run is `cascade run
--config <output root>/growth.yaml`, in its own process.

    .venv/bin/python data/demo/grow.py                       # or: make demo-growth
    .venv/bin/python data/demo/grow.py --shares 0.05 0.5 1 --output-root outputs/grow
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import shutil
import subprocess
import sys
from typing import Optional, Sequence

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEMO_CONFIG = os.path.join(ROOT, "configs", "demo.yaml")
SOURCES = ("web", "mobile", "partner")
REFERENCE = ("spam_accounts", "id_map")
# The config this script writes; its presence marks a folder the script may clear.
CONFIG_NAME = "growth.yaml"


def cascade_command() -> list[str]:
    """The `cascade` console script beside this interpreter (its entry point through
    this interpreter when the project is not installed)."""
    script = os.path.join(os.path.dirname(sys.executable), "cascade")
    if os.path.exists(script):
        return [script]
    return [sys.executable, "-c", "import sys; from cli.main import main; sys.exit(main())"]


def copy_share(source_csv: str, target_csv: str, share: float) -> int:
    """Copies the header and the first `share` of the rows; returns the rows copied."""
    with open(source_csv, newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    keep = rows[: math.ceil(len(rows) * share)]
    os.makedirs(os.path.dirname(target_csv), exist_ok=True)
    with open(target_csv, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(keep)
    return len(keep)


def write_config(output_root: str) -> str:
    """The demo config, reading the copied data under `output_root`/data."""
    with open(DEMO_CONFIG, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    data = os.path.join(output_root, "data")
    for source in config["sources"]:
        source["path"] = os.path.join(data, source["name"])
    config["cleaning"]["spam_list"]["path"] = os.path.join(data, "spam_accounts")
    config["cleaning"]["id_map"]["path"] = os.path.join(data, "id_map")
    config["output"]["root"] = output_root
    path = os.path.join(output_root, CONFIG_NAME)
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    return path


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parses the flags; argparse exits 2 with usage on bad ones."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--shares", type=float, nargs="+", default=[0.1, 0.3, 1.0], help="shares of each source"
    )
    parser.add_argument(
        "--output-root", default=os.path.join(ROOT, "outputs", "demo-growth"), help="where to run"
    )
    args = parser.parse_args(argv)
    bad = [s for s in args.shares if not 0 < s <= 1]
    if bad:
        parser.error(f"--shares: {bad[0]} is not in (0, 1]")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs one pipeline run per share, then prints the history; returns the exit code."""
    args = parse_args(argv)
    output_root = os.path.abspath(args.output_root)
    if os.path.exists(output_root) and not os.path.isdir(output_root):
        print(f"error: --output-root {args.output_root}: is a file, not a folder", file=sys.stderr)
        return 2
    if os.path.isdir(output_root) and os.listdir(output_root):
        if not os.path.exists(os.path.join(output_root, CONFIG_NAME)):
            print(
                f"error: --output-root {args.output_root}: the folder is not empty and was not "
                "made by this script; give a new folder",
                file=sys.stderr,
            )
            return 2
        shutil.rmtree(output_root)  # a fresh history each time
    os.makedirs(output_root)
    for name in REFERENCE:
        target = os.path.join(output_root, "data", name)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(os.path.join(HERE, name), target)
    config = write_config(output_root)
    for share in args.shares:
        rows = {
            s: copy_share(
                os.path.join(HERE, s, "users.csv"),
                os.path.join(output_root, "data", s, "users.csv"),
                share,
            )
            for s in SOURCES
        }
        print(f"run on {share:.0%} of the demo data: {sum(rows.values()):,} rows ...", flush=True)
        result = subprocess.run(
            [*cascade_command(), "run", "--config", config],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            print(result.stdout[-2000:] + result.stderr[-2000:], file=sys.stderr)
            return result.returncode
    sys.path.insert(0, ROOT)
    from cli.main import main as cascade

    plot = os.path.join(output_root, "history.png")
    print()
    return cascade(
        ["history", "--metadata", os.path.join(output_root, "metadata.sqlite"), "--plot", plot]
    )


if __name__ == "__main__":
    sys.exit(main())
