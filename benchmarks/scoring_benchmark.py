"""Batch scoring at scale: one process vs Beam, and what the skew check costs.

With the pushed model of a demo run (`--output-root`, default: train one), it
writes `--rows` demo rows without the label as one CSV and scores them, each
in its own process:

  one process       `serving.scoring.score_csv` (`cli.predict` without --profile)
  beam local        `serving.beam_scoring` on the `local` profile (one worker)
  beam parallel     the same on `local-parallel` (a worker per core)

each once without and once with the skew check (TFDV statistics of the rows
while scoring, then the comparison with the model's training statistics found
through MLMD, and writing both artifacts). It prints wall time (imports
excluded), rows/s, peak RSS of the process tree and the check's added time.
Targets: the check adds <= 20% to scoring time; Beam on local-parallel scores
at least as many rows/s as one process.

    .venv/bin/python -m benchmarks.scoring_benchmark --rows 1000000 --output-root outputs/demo
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import tempfile
import time
from typing import Optional, Sequence

from benchmarks import measure
from benchmarks.serving_benchmark import ROOT, serving_csv, train_demo

PATHS = {"one process": None, "beam local": "local", "beam parallel": "local-parallel"}


def _child(args: Sequence[str]) -> dict:
    """One scoring: `path check model csv output metadata` -> its JSON report."""
    from benchmarks import steps

    steps.prepare_child()
    path, check, model_dir, csv_path, output, metadata = args
    with_check = check == "check"
    # Imports first: the time measured is scoring's own (model loading included).
    from cli import skew_check
    from metadata.connection import connection_config, open_store
    from pipeline import runners
    from serving import beam_scoring, scoring
    from serving.model import ServingModel, read_columns

    columns = read_columns(model_dir)
    started = time.monotonic()
    if PATHS[path] is None:
        result = scoring.score_csv(
            ServingModel(model_dir), csv_path, output, with_statistics=with_check
        )
    else:
        result = beam_scoring.score_files(
            csv_path,
            model_dir,
            columns,
            output,
            runners.beam_pipeline_args(PATHS[path], "", own_job=True),
            with_statistics=with_check,
        )
    skewed = None
    if with_check:
        store = open_store(connection_config(sqlite_path=metadata, read_only=True), metadata)
        outcome = skew_check.check(
            skew_check.find_reference(store, model_dir),
            result.statistics,
            columns,
            skew_check.thresholds(None),
            scoring.checks_dir(output),
        )
        skewed = len(outcome.report.skewed)
    return {"seconds": time.monotonic() - started, "rows": result.rows, "skewed": skewed}


def run(rows: int, model_dir: str, metadata: str, work: str) -> dict:
    """Scores `rows` rows on every path, without and with the check."""
    print(f"writing {rows:,} serving rows ...", flush=True)
    csv_path = serving_csv(rows, os.path.join(work, f"rows-{rows}"))
    results = {}
    for path in PATHS:
        for check in ("none", "check"):
            output = os.path.join(work, f"out-{rows}-{path.replace(' ', '_')}-{check}.csv")
            step = measure.run_step(
                f"{path} ({check})",
                ["-m", "benchmarks.scoring_benchmark", "--child", path, check, model_dir,
                 csv_path, output, metadata],
            )  # fmt: skip
            results[(path, check)] = step
            print(f"  {step.name}: {step.seconds:.1f}s, {step.peak_rss_mb:,.0f} MB", flush=True)
    return results


def format_table(rows: int, results: dict) -> str:
    """One Markdown table: a line per path, without and with the skew check."""
    lines = [
        f"| {rows:,} rows | time | rows/s | peak RSS | with skew check | rows/s | peak RSS "
        "| check adds |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for path in PATHS:
        plain, checked = results[(path, "none")], results[(path, "check")]
        lines.append(
            f"| {path} | {plain.seconds:.1f} s | {rows / plain.seconds:,.0f} "
            f"| {plain.peak_rss_mb:,.0f} MB | {checked.seconds:.1f} s "
            f"| {rows / checked.seconds:,.0f} | {checked.peak_rss_mb:,.0f} MB "
            f"| {100 * (checked.seconds / plain.seconds - 1):+.0f}% |"
        )
    one = results[("one process", "check")].seconds
    parallel = results[("beam parallel", "check")].seconds
    lines.append("")
    lines.append(
        f"Beam local-parallel / one process throughput (with the check): {one / parallel:.2f}x"
    )
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the benchmark (or one `--child` step) and prints its table."""
    argv = list(sys.argv[1:] if argv is None else argv)
    sys.path.insert(0, ROOT)
    if argv and argv[0] == "--child":
        print(json.dumps(_child(argv[1:])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--output-root", help="an existing demo run to use (default: train one)")
    args = parser.parse_args(argv)
    if any(r <= 0 for r in args.rows):
        parser.error("--rows must be positive")
    with tempfile.TemporaryDirectory(prefix="cascade-scoring-bench-") as work:
        output_root = args.output_root
        if not output_root:
            output_root = os.path.join(work, "demo")
            print("training the demo pipeline ...", flush=True)
            train_demo(output_root)
        pushed = sorted(glob.glob(os.path.join(output_root, "serving_model", "*")))
        if not pushed:
            parser.error(f"no pushed model under {output_root}/serving_model")
        metadata = os.path.join(output_root, "metadata.sqlite")
        tables = [format_table(rows, run(rows, pushed[-1], metadata, work)) for rows in args.rows]
    print()
    print("\n\n".join(tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
