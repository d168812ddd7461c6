"""StratifiedSplit vs stock CsvExampleGen hash split, on the same rows, in one run.

For each size it generates demo rows (11 columns, ~30% positive) and times, each
in its own process on Beam's FnApiRunner (in memory, one worker):

  stock      CsvExampleGen with a 3-way hash split (6:2:2 buckets)
  ingest     CsvExampleGen with one output split (what StratifiedSplit reads)
  split      StratifiedSplit alone on `ingest`'s output (60/20/20, exact per label)

and prints wall time (the step's own, imports excluded), peak RSS of the step's
process tree, and split/stock ratios. Targets: split <= 1.0x stock time, peak
RSS <= stock's, and 10x rows -> <= 11x split time.

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


def _child(step: str, args: Sequence[str]) -> dict:
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
    options = SplitOptions(
        ratios=(("train", 0.6), ("dev", 0.2), ("test", 0.2)), label=LABEL, seed=42
    )
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


def benchmark(rows: int, work: str) -> list:
    """Measures the three steps on `rows` rows; returns their StepResults."""
    from benchmarks.measure import run_step

    folder = os.path.join(work, f"rows_{rows}")
    os.makedirs(folder)
    csv_dir = _csv_folder(rows, folder)
    me = [os.path.abspath(__file__), "--child"]
    stock = run_step("stock", [*me, "stock", csv_dir, os.path.join(folder, "stock")])
    ingest = run_step("ingest", [*me, "ingest", csv_dir, os.path.join(folder, "ingest")])
    split = run_step("split", [*me, "split", ingest.details["uri"], os.path.join(folder, "split")])
    return [stock, ingest, split]


def format_table(results: dict) -> str:
    """Renders {rows: [stock, ingest, split]} as a Markdown table."""
    lines = [
        "| rows | stock CsvExampleGen, 3-way hash split | CsvExampleGen, one split | "
        "StratifiedSplit | split / stock time | split / stock peak RSS |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for rows, (stock, ingest, split) in sorted(results.items()):
        lines.append(
            f"| {rows:,} | {stock.seconds:.1f} s, {stock.peak_rss_mb:,.0f} MB "
            f"| {ingest.seconds:.1f} s, {ingest.peak_rss_mb:,.0f} MB "
            f"| {split.seconds:.1f} s, {split.peak_rss_mb:,.0f} MB "
            f"| {split.seconds / stock.seconds:.2f}x | {split.peak_rss_mb / stock.peak_rss_mb:.2f}x |"
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
