"""SkewCalibration vs the stock StatisticsGen it sits beside, on the same training split.

For each size it generates demo rows (11 columns), ingests them with stock
CsvExampleGen into one `train` split, and times, each in its own process on
Beam's FnApiRunner (in memory, one worker):

  statistics   stock StatisticsGen on the split (what the calibration reads)
  calibrate    SkewCalibration on the split and those statistics (the demo
               config's features, 100 resamples per size)

and prints wall time (the step's own, imports excluded), peak RSS of the
step's process tree, and calibrate/statistics ratios. The calibration's work
is bounded by its resample sizes (at most 10,000 rows, 100 resamples each),
so beyond them it grows only with the one streaming pass that draws the
resamples.

    .venv/bin/python -m benchmarks.calibration_benchmark --rows 100000 1000000
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Optional, Sequence


def _demo_features() -> list[str]:
    """The demo config's model features (what the pipeline calibrates)."""
    from benchmarks import steps
    from pipeline.config import load_config

    return [f.name for f in load_config(os.path.join(steps.ROOT, "configs", "demo.yaml")).features]


def _child(step: str, args: Sequence[str]) -> dict:
    from benchmarks import steps

    steps.prepare_child()
    if step == "ingest":
        seconds, uri = steps.run_example_gen(args[0], args[1], output_buckets=[("train", 1)])
        return {"seconds": seconds, "uri": uri}
    from tfx.types import artifact_utils, standard_artifacts

    examples = steps.examples_artifact(args[0], ["train"])
    statistics = standard_artifacts.ExampleStatistics()
    statistics.uri = os.path.join(args[1], "statistics")
    statistics.split_names = artifact_utils.encode_split_names(["train"])
    if step == "statistics":
        from tfx.components.statistics_gen import executor as statistics_executor

        started = time.monotonic()
        statistics_executor.Executor(steps.beam_context(args[1])).Do(
            {"examples": [examples]},
            {"statistics": [statistics]},
            {"exclude_splits": "[]"},
        )
        return {"seconds": time.monotonic() - started}
    from components.skew_calibration import executor, spec

    output = spec.SkewCalibrationArtifact()
    output.uri = os.path.join(args[1], "calibration")
    started = time.monotonic()
    executor.Executor(steps.beam_context(args[1])).Do(
        {spec.STATISTICS_KEY: [statistics], spec.EXAMPLES_KEY: [examples]},
        {spec.CALIBRATION_KEY: [output]},
        {
            spec.FEATURES_KEY: json.dumps(_demo_features()),
            spec.SPLIT_KEY: "train",
            spec.SEED_KEY: 42,
            spec.RESAMPLES_KEY: 100,
        },
    )
    return {
        "seconds": time.monotonic() - started,
        "sizes": json.loads(output.get_string_custom_property("resample_sizes")),
    }


def benchmark(rows: int, work: str) -> list:
    """Measures the steps on `rows` rows; returns their StepResults."""
    from benchmarks.measure import run_step
    from benchmarks.split_benchmark import _csv_folder

    folder = os.path.join(work, f"rows_{rows}")
    os.makedirs(folder)
    csv_dir = _csv_folder(rows, folder)
    me = [os.path.abspath(__file__), "--child"]
    ingest = run_step("ingest", [*me, "ingest", csv_dir, os.path.join(folder, "ingest")])
    out = os.path.join(folder, "steps")
    statistics = run_step("statistics", [*me, "statistics", ingest.details["uri"], out])
    calibrate = run_step("calibrate", [*me, "calibrate", ingest.details["uri"], out])
    return [statistics, calibrate]


def format_table(results: dict) -> str:
    """Renders {rows: [statistics, calibrate]} as a Markdown table."""
    lines = [
        "| rows | StatisticsGen | SkewCalibration | resample sizes | "
        "calibration / statistics time | calibration / statistics peak RSS |",
        "|---:|---:|---:|---|---:|---:|",
    ]
    for rows, (statistics, calibrate) in sorted(results.items()):
        sizes = ", ".join(f"{s:,}" for s in calibrate.details["sizes"])
        lines.append(
            f"| {rows:,} | {statistics.seconds:.1f} s, {statistics.peak_rss_mb:,.0f} MB "
            f"| {calibrate.seconds:.1f} s, {calibrate.peak_rss_mb:,.0f} MB | {sizes} "
            f"| {calibrate.seconds / statistics.seconds:.2f}x "
            f"| {calibrate.peak_rss_mb / statistics.peak_rss_mb:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the benchmark (or, with --child, one step of it); returns the exit code."""
    from benchmarks.measure import run_sizes_cli

    return run_sizes_cli(argv, __doc__.split("\n\n")[0], _child, benchmark, format_table)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
