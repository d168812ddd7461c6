"""StratifiedSplit vs stock CsvExampleGen hash split, on the same rows, in one run.

For each size it generates demo-like rows (11 columns, ~30% positive) and times,
each in its own process on the DirectRunner (in_memory, one worker):

  stock      CsvExampleGen with a 3-way hash split (6:2:2 buckets)
  ingest     CsvExampleGen with one output split (what StratifiedSplit reads)
  split      StratifiedSplit alone on `ingest`'s output (60/20/20, exact per label)

and prints wall time (the step's own, imports excluded), peak RSS of the step's
process tree, and split/stock ratios. Targets: split <= 1.0x stock time, peak
RSS <= stock's, and 10x rows -> <= 11x split time.

    .venv/bin/python -m benchmarks.split_benchmark --rows 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Optional, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENERATOR = os.path.join(ROOT, "data", "demo", "generate.py")
DEMO_ROWS = 5000  # rows the generator writes at --scale 1
# --setup_file stops TFX from packaging itself for every step (both sides alike).
BEAM_ARGS = [
    "--direct_running_mode=in_memory",
    "--direct_num_workers=1",
    f"--setup_file={os.path.join(ROOT, 'setup.py')}",
]
LABEL = "looking_for_job"


def make_rows(rows: int, folder: str) -> str:
    """Generates about `rows` demo rows as three CSV files in one folder."""
    staging = os.path.join(folder, "generated")
    subprocess.run(
        [sys.executable, GENERATOR, "--out", staging, "--scale", str(rows / DEMO_ROWS)],
        check=True, capture_output=True,
    )
    csv_dir = os.path.join(folder, "csv")
    os.makedirs(csv_dir)
    for source in ("web", "mobile", "partner"):
        shutil.copy(os.path.join(staging, source, "users.csv"), os.path.join(csv_dir, f"{source}.csv"))
    return csv_dir


# --- steps, each run in a child process -------------------------------------


def _prepare() -> None:
    from pipeline.environment import prepare_tensorflow

    prepare_tensorflow()
    import logging

    logging.disable(logging.WARNING)


def step_example_gen(csv_dir: str, out: str, hash_split: bool) -> dict:
    """Runs CsvExampleGen alone with LocalDagRunner; returns its wall time."""
    _prepare()
    from tfx import v1 as tfx

    buckets = [("train", 6), ("dev", 2), ("test", 2)] if hash_split else [("all", 1)]
    output_config = tfx.proto.Output(
        split_config=tfx.proto.SplitConfig(
            splits=[tfx.proto.SplitConfig.Split(name=n, hash_buckets=b) for n, b in buckets]
        )
    )
    example_gen = tfx.components.CsvExampleGen(input_base=csv_dir, output_config=output_config)
    pipeline = tfx.dsl.Pipeline(
        pipeline_name="bench",
        pipeline_root=os.path.join(out, "root"),
        components=[example_gen],
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            os.path.join(out, "metadata.sqlite")
        ),
        enable_cache=False,
        beam_pipeline_args=BEAM_ARGS,
    )
    started = time.monotonic()
    tfx.orchestration.LocalDagRunner().run(pipeline)
    seconds = time.monotonic() - started
    [uri] = [
        os.path.join(dirpath)
        for dirpath, dirnames, _ in os.walk(os.path.join(out, "root", "CsvExampleGen", "examples"))
        if any(d.startswith("Split-") for d in dirnames)
    ]
    return {"seconds": seconds, "uri": uri}


def step_split(examples_uri: str, out: str) -> dict:
    """Runs StratifiedSplit's executor on an Examples folder with split `all`."""
    _prepare()
    from tfx.dsl.components.base import base_beam_executor
    from tfx.types import artifact_utils, standard_artifacts

    from components.stratified_split import executor
    from components.stratified_split.options import SplitOptions

    examples = standard_artifacts.Examples()
    examples.uri = examples_uri
    examples.split_names = artifact_utils.encode_split_names(["all"])
    output = standard_artifacts.Examples()
    output.uri = os.path.join(out, "split")
    options = SplitOptions(
        splits=(("train", 0.6), ("dev", 0.2), ("test", 0.2)), label_key=LABEL, seed=42
    )
    context = base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=BEAM_ARGS, tmp_dir=os.path.join(out, "tmp"), unique_id="bench"
    )
    started = time.monotonic()
    executor.Executor(context).Do(
        {"examples": [examples]}, {"split_examples": [output]}, options.to_exec_properties()
    )
    seconds = time.monotonic() - started
    return {
        "seconds": seconds,
        "split_counts": json.loads(output.get_string_custom_property("split_counts")),
    }


# --- the parent: runs the steps and prints the table ------------------------


def _child(argv: Sequence[str]) -> None:
    step, *args = argv
    if step == "stock":
        report = step_example_gen(args[0], args[1], hash_split=True)
    elif step == "ingest":
        report = step_example_gen(args[0], args[1], hash_split=False)
    else:
        report = step_split(args[0], args[1])
    print(json.dumps(report))


def benchmark(rows: int, work: str) -> list:
    """Measures the three steps on `rows` rows; returns their StepResults."""
    from benchmarks.measure import run_step

    folder = os.path.join(work, f"rows_{rows}")
    os.makedirs(folder)
    csv_dir = make_rows(rows, folder)
    me = [os.path.abspath(__file__), "--child"]
    stock = run_step("stock", [*me, "stock", csv_dir, os.path.join(folder, "stock")])
    ingest = run_step("ingest", [*me, "ingest", csv_dir, os.path.join(folder, "ingest")])
    split = run_step("split", [*me, "split", ingest.details["uri"], os.path.join(folder, "split")])
    return [stock, ingest, split]


def format_table(results: dict) -> str:
    """Renders {rows: [stock, ingest, split]} as a Markdown table."""
    lines = [
        "| rows | stock CsvExampleGen hash split | CsvExampleGen, one split | StratifiedSplit | "
        "split / stock time | split / stock peak RSS |",
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
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--child":
        sys.path.insert(0, ROOT)
        _child(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--work-dir", help="keep generated data and outputs here")
    args = parser.parse_args(argv)
    work = args.work_dir or tempfile.mkdtemp(prefix="cascade-bench-")
    results = {}
    for rows in args.rows:
        results[rows] = benchmark(rows, work)
        stock, _, split = results[rows]
        print(f"{rows:,} rows: stock {stock.seconds:.1f}s, split {split.seconds:.1f}s", flush=True)
    print()
    print(format_table(results))
    if not args.work_dir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
