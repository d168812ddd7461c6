"""StratifiedSplit vs stock CsvExampleGen hash split and an in-memory floor, in one run.

For each size it generates demo rows (11 columns, ~30% positive) and times,
each in its own process (the Beam steps on Beam's FnApiRunner, in memory, one
worker):

  stock      CsvExampleGen with a 3-way hash split (6:2:2 buckets)
  ingest     CsvExampleGen with one output split (what StratifiedSplit reads)
  split      StratifiedSplit alone on `ingest`'s output (60/20/20, exact per label)
  floor      the same split in pandas/NumPy (`benchmarks.floors`): the CSV rows
             loaded into a DataFrame first (not timed), then a seeded hash of
             every row, its rank within its label's stratum and each stratum
             cut at StratifiedSplit's own sizes, vectorised. The least this
             work costs in one process with no pipeline at all

and prints wall time (the step's own, imports excluded), peak RSS of the step's
process tree, and the split/stock and split/floor ratios. The run fails if the
floor's rows per split and stratum differ from StratifiedSplit's. Targets:
split <= 0.3x stock time and <= 5x the floor's time; peak RSS <= stock's, and
10x rows -> <= 11x split time.

    .venv/bin/python -m benchmarks.split_benchmark --rows 100000 1000000
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from typing import Optional, Sequence

LABEL = "looking_for_job"
RATIOS = (("train", 0.6), ("dev", 0.2), ("test", 0.2))
SEED = 42


def _csv_folder(rows: int, folder: str) -> str:
    """All three sources' CSV files in one folder (one ExampleGen input split)."""
    from benchmarks.steps import SOURCES, generate_demo_data

    generate_demo_data(rows, os.path.join(folder, "generated"))
    csv_dir = os.path.join(folder, "csv")
    os.makedirs(csv_dir)
    for source in SOURCES:
        shutil.copy(
            os.path.join(folder, "generated", source, "users.csv"),
            os.path.join(csv_dir, f"{source}.csv"),
        )
    return csv_dir


def _floor_child(csv_dir: str) -> dict:
    """Loads the CSV rows into pandas, then times the split's counts."""
    from benchmarks import floors

    rows = floors.read_csvs(csv_dir, [LABEL])
    started = time.monotonic()
    split_counts = floors.stratified_split_counts(rows, LABEL, RATIOS, SEED)
    return {"seconds": time.monotonic() - started, "split_counts": split_counts}


def _child(step: str, args: Sequence[str]) -> dict:
    if step == "floor":
        return _floor_child(args[0])
    from benchmarks import steps

    steps.prepare_child()
    if step in ("stock", "ingest"):
        buckets = [("train", 6), ("dev", 2), ("test", 2)] if step == "stock" else [("all", 1)]
        seconds, uri = steps.run_example_gen(args[0], args[1], output_buckets=buckets)
        return {"seconds": seconds, "uri": uri}
    from tfx.types import standard_artifacts

    from components.stratified_split import executor
    from components.stratified_split.options import SplitOptions

    examples_uri, out = args
    output = standard_artifacts.Examples()
    output.uri = os.path.join(out, "split")
    options = SplitOptions(ratios=RATIOS, label=LABEL, seed=SEED)
    started = time.monotonic()
    executor.Executor(steps.beam_context(out)).Do(
        {"examples": [steps.examples_artifact(examples_uri, ["all"])]},
        {"split_examples": [output]},
        options.to_exec_properties(),
    )
    return {
        "seconds": time.monotonic() - started,
        "split_counts": json.loads(output.get_string_custom_property("split_counts")),
    }


def check_floor(split: dict, floor: dict) -> None:
    """Fails unless the floor put as many rows as StratifiedSplit in each split and stratum.

    Raises:
      RuntimeError: The split -> stratum -> rows counts differ (showing both).
    """
    if split != floor:
        raise RuntimeError(
            "the floor's rows per split and stratum are not StratifiedSplit's:\n"
            f"StratifiedSplit {json.dumps(split, sort_keys=True)}\n"
            f"floor           {json.dumps(floor, sort_keys=True)}"
        )


# The StepResults `benchmark` returns, in order.
STEPS = ("stock", "ingest", "split", "floor")


def benchmark(rows: int, work: str) -> list:
    """Measures the three steps and the floor on `rows` rows; returns their StepResults.

    Raises:
      RuntimeError: The floor's counts differ from StratifiedSplit's (`check_floor`).
    """
    from benchmarks.measure import run_step

    folder = os.path.join(work, f"rows_{rows}")
    os.makedirs(folder)
    csv_dir = _csv_folder(rows, folder)
    me = [os.path.abspath(__file__), "--child"]
    stock = run_step("stock", [*me, "stock", csv_dir, os.path.join(folder, "stock")])
    ingest = run_step("ingest", [*me, "ingest", csv_dir, os.path.join(folder, "ingest")])
    split = run_step("split", [*me, "split", ingest.details["uri"], os.path.join(folder, "split")])
    floor = run_step("floor", [*me, "floor", csv_dir])
    check_floor(split.details["split_counts"], floor.details["split_counts"])
    return [stock, ingest, split, floor]


def format_table(results: dict) -> str:
    """Renders {rows: [stock, ingest, split, floor]} as a Markdown table."""
    lines = [
        "| rows | stock CsvExampleGen, 3-way hash split | CsvExampleGen, one split | "
        "StratifiedSplit | floor (pandas) | split / stock time | split / stock peak RSS | "
        "split / floor time |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rows, (stock, ingest, split, floor) in sorted(results.items()):
        lines.append(
            f"| {rows:,} | {stock.seconds:.1f} s, {stock.peak_rss_mb:,.0f} MB "
            f"| {ingest.seconds:.1f} s, {ingest.peak_rss_mb:,.0f} MB "
            f"| {split.seconds:.1f} s, {split.peak_rss_mb:,.0f} MB "
            f"| {floor.seconds:.3f} s, {floor.peak_rss_mb:,.0f} MB "
            f"| {split.seconds / stock.seconds:.2f}x | {split.peak_rss_mb / stock.peak_rss_mb:.2f}x "
            f"| {split.seconds / floor.seconds:.0f}x |"
        )
    sizes = sorted(results)
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        growth = results[large][2].seconds / results[small][2].seconds
        lines.append("")
        lines.append(
            f"StratifiedSplit time grows {growth:.1f}x for {large / small:.0f}x rows "
            f"({small:,} -> {large:,})."
        )
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the benchmark (or, with --child, one step of it); returns the exit code."""
    from benchmarks.measure import run_sizes_cli

    return run_sizes_cli(argv, __doc__.split("\n\n")[0], _child, benchmark, format_table)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
