"""The `local` vs `local-parallel` runner profiles on this machine, in one run.

Times, each in its own process:

  demo     the whole demo pipeline (`cascade run --no-cache`'s work:
           `services.pipeline_run`, checks included) under each profile
  split    StratifiedSplit alone on `--rows` ingested demo rows under each profile

and prints wall time, peak RSS (the process tree, multi_processing workers
included) and the speed-up of `local-parallel` (FnApiRunner with one worker
process per core) over `local` (in memory, one worker).

    .venv/bin/python -m benchmarks.profile_benchmark --rows 1000000
"""

from __future__ import annotations

import os
import sys
import time
from typing import Optional, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_CONFIG = os.path.join(ROOT, "configs", "demo.yaml")
PROFILES = ("local", "local-parallel")
LABEL = "looking_for_job"


def _child(step: str, args: Sequence[str]) -> dict:
    from benchmarks import steps

    steps.prepare_child()
    if step == "demo":
        profile, out = args
        sys.path.insert(0, ROOT)
        from pipeline import config as config_lib
        from services import pipeline_run
        from services.store import StoreOptions

        started = time.monotonic()
        config = config_lib.load_config(DEMO_CONFIG, output_root=out)
        request = pipeline_run.prepare(
            pipeline_run.RunRequest(
                config=config,
                store=StoreOptions(sqlite_path=config.output.metadata_path),
                profile=profile,
                use_cache=False,
            )
        )
        checked = pipeline_run.check_inputs(request, say=lambda line: None)
        result = pipeline_run.run_pipeline(checked.request, say=lambda line: None)
        assert result.failure is None, (
            f"the demo pipeline failed under {profile}: {result.failure} (log: {result.log_path})"
        )
        return {"seconds": time.monotonic() - started, "steps": len(result.summary.components)}
    if step == "ingest":
        seconds, uri = steps.run_example_gen(args[0], args[1], output_buckets=[("all", 1)])
        return {"seconds": seconds, "uri": uri}
    from tfx.dsl.components.base import base_beam_executor
    from tfx.types import standard_artifacts

    from components.stratified_split import executor
    from components.stratified_split.options import SplitOptions
    from pipeline import runners

    profile, examples_uri, out = args
    output = standard_artifacts.Examples()
    output.uri = os.path.join(out, "split")
    options = SplitOptions(
        ratios=(("train", 0.6), ("dev", 0.2), ("test", 0.2)), label=LABEL, seed=42
    )
    context = base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=runners.beam_pipeline_args(profile, os.path.join(out, "tmp")),
        tmp_dir=os.path.join(out, "tmp"),
        unique_id="bench",
    )
    started = time.monotonic()
    executor.Executor(context).Do(
        {"examples": [steps.examples_artifact(examples_uri, ["all"])]},
        {"split_examples": [output]},
        options.to_exec_properties(),
    )
    return {"seconds": time.monotonic() - started}


def benchmark(rows: int, work: str) -> list:
    """Measures the demo pipeline and the split under both profiles."""
    from benchmarks.measure import run_step
    from benchmarks.split_benchmark import _csv_folder

    me = [os.path.abspath(__file__), "--child"]
    folder = os.path.join(work, f"rows_{rows}")
    os.makedirs(folder)
    results = []
    for profile in PROFILES:
        # A fresh store per size: a second demo run into the same root would
        # find a baseline model and served statistics, and do other work.
        out = os.path.join(folder, f"demo_{profile}")
        results.append(run_step(f"demo {profile}", [*me, "demo", profile, out]))
    csv_dir = _csv_folder(rows, folder)
    ingest = run_step("ingest", [*me, "ingest", csv_dir, os.path.join(folder, "ingest")])
    for profile in PROFILES:
        out = os.path.join(folder, f"split_{profile}")
        results.append(
            run_step(f"split {profile}", [*me, "split", profile, ingest.details["uri"], out])
        )
    return results


def format_table(results: dict) -> str:
    """Renders {rows: [demo local, demo parallel, split local, split parallel]}."""
    lines = [
        "| workload | local | local-parallel | speed-up |",
        "|---|---:|---:|---:|",
    ]
    for rows, (demo_l, demo_p, split_l, split_p) in sorted(results.items()):
        for name, local, parallel in (
            (f"demo pipeline (5,000 rows, all {demo_l.details['steps']} steps)", demo_l, demo_p),
            (f"StratifiedSplit, {rows:,} rows", split_l, split_p),
        ):
            lines.append(
                f"| {name} | {local.seconds:.1f} s, {local.peak_rss_mb:,.0f} MB "
                f"| {parallel.seconds:.1f} s, {parallel.peak_rss_mb:,.0f} MB "
                f"| {local.seconds / parallel.seconds:.2f}x |"
            )
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the benchmark (or, with --child, one step of it); returns the exit code."""
    from benchmarks.measure import run_sizes_cli

    return run_sizes_cli(argv, __doc__.split("\n\n")[0], _child, benchmark, format_table)


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    sys.exit(main())
