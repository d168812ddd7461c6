"""The whole pipeline against the stock TFX pipeline a user would otherwise write.

On the same generated demo data (`--rows` rows over the three sources, with
the spam list and id map), each in its own process and run once:

  cascade   Cascade's pipeline: CsvExampleGen (one split per source) ->
            SpamListGen, IdMapGen -> CleanExamples -> StratifiedSplit ->
            the training half below, plus SkewCalibration beside
            StatisticsGen (stock TFX has no counterpart)
  stock     stock TFX: CsvExampleGen over every source's CSV with its 3-way
            hash split (6:2:2) -> the training half below

The training half is the same code on both sides
(`pipeline.pipeline.training_components`: StatisticsGen -> SchemaGen ->
ExampleValidator -> Transform -> Trainer -> Evaluator -> Pusher, the same
preprocessing_fn, model and training steps), except that Cascade's
StatisticsGen describes only the features something reads (not the ids), so
its inferred schema, and what Transform parses, holds only those. The stock Evaluator reports
overall metrics only (its rows carry no source tags to slice by). Both run
with LocalDagRunner on Beam's FnApiRunner in memory with one worker, no cache.

It prints, per component, wall time (from the run's MLMD executions) and peak
RSS of the run's process tree while that component ran (sampled every 0.1 s;
the process keeps what earlier components allocated, so this is an upper
bound of the component's own), the totals and Cascade's ratio to stock.
Targets at 1M rows: the whole pipeline at most 1.0x stock's time; CleanExamples
and StratifiedSplit each at most 0.3x stock CsvExampleGen's time and at most
its peak RSS; 10x the rows at most 10.5x the time. `--repeat 3` reports, per
side, the run with the median whole time. `--together` runs the two sides at
the same time (two processes on this 2-core machine; nothing pins them to a
core), for sizes where one after the other takes too long; a side that fails
(stock at a size its memory cannot hold, say) is reported with how long it
ran, its peak RSS and why.

    .venv/bin/python -m benchmarks.pipeline_benchmark --rows 100000 1000000
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from typing import Optional, Sequence

from benchmarks import measure, steps

ROOT = steps.ROOT
SIDES = ("cascade", "stock")
# Stock CsvExampleGen's 3-way hash split, as the demo config's 60/20/20.
STOCK_BUCKETS = (("train", 6), ("dev", 2), ("test", 2))
MIN_RATIO_SECONDS = 0.5
TIMEOUT_SECONDS = 4 * 3600


def write_config(data: str, work: str) -> str:
    """The demo config over generated `data`, written into `work`; returns its path."""
    with open(os.path.join(ROOT, "configs", "demo.yaml"), encoding="utf-8") as f:
        text = f.read()
    text = text.replace("../data/demo/", f"{os.path.relpath(data, work)}/")
    path = os.path.join(work, "cascade.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def stock_pipeline(config_path: str, data: str, out: str):
    """The stock TFX pipeline over `data`: CsvExampleGen's hash split + the training half."""
    from tfx import v1 as tfx

    from pipeline import config as config_lib
    from pipeline.pipeline import training_components

    config = config_lib.load_config(config_path, output_root=out)
    # Stock rows carry no source or labelling tags: overall metrics only.
    config = dataclasses.replace(
        config,
        inventory=None,
        evaluation=dataclasses.replace(config.evaluation, slice_by=()),
    )
    example_gen = tfx.components.CsvExampleGen(
        input_base=data,
        input_config=tfx.proto.Input(
            splits=[tfx.proto.Input.Split(name="all", pattern="*/users.csv")]
        ),
        output_config=tfx.proto.Output(
            split_config=tfx.proto.SplitConfig(
                splits=[
                    tfx.proto.SplitConfig.Split(name=n, hash_buckets=b) for n, b in STOCK_BUCKETS
                ]
            )
        ),
    )
    return tfx.dsl.Pipeline(
        pipeline_name="stock",
        pipeline_root=os.path.join(out, "pipeline"),
        components=[example_gen, *training_components(config, example_gen.outputs["examples"])],
        enable_cache=False,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            os.path.join(out, "metadata.sqlite")
        ),
        beam_pipeline_args=steps.BEAM_ARGS,
    )


def cascade_pipeline(config_path: str, out: str):
    """Cascade's pipeline from the config, as `cascade run` builds it, without cache."""
    from tfx import v1 as tfx

    from pipeline import config as config_lib
    from pipeline.pipeline import create_pipeline

    config = config_lib.load_config(config_path, output_root=out)
    return create_pipeline(
        config,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            config.output.metadata_path
        ),
        beam_pipeline_args=steps.BEAM_ARGS,
        enable_cache=False,
    )


def component_windows(metadata_path: str) -> dict[str, tuple[float, float]]:
    """Component id -> (start, end) in epoch seconds, from the run's MLMD executions."""
    from ml_metadata import metadata_store
    from tfx import v1 as tfx

    from metadata import names

    store = metadata_store.MetadataStore(
        tfx.orchestration.metadata.sqlite_metadata_connection_config(metadata_path)
    )
    windows = {}
    for execution in store.get_executions():
        component = names.component_of(store.get_contexts_by_execution(execution.id), execution)
        windows[component] = (
            execution.create_time_since_epoch / 1000,
            execution.last_update_time_since_epoch / 1000,
        )
    return windows


def _child(side: str, args: Sequence[str]) -> dict:
    steps.prepare_child()
    config_path, data, out = args
    from tfx import v1 as tfx

    if side == "cascade":
        pipeline = cascade_pipeline(config_path, out)
        metadata_path = os.path.join(out, "metadata.sqlite")
    else:
        pipeline = stock_pipeline(config_path, data, out)
        metadata_path = os.path.join(out, "metadata.sqlite")
    started = time.monotonic()
    tfx.orchestration.LocalDagRunner().run(pipeline)
    return {
        "seconds": time.monotonic() - started,
        "components": component_windows(metadata_path),
    }


@dataclasses.dataclass(frozen=True)
class ComponentCost:
    """One component's wall time and the process's peak RSS while it ran."""

    start: float
    seconds: float
    peak_rss_mb: Optional[float]


def component_costs(
    windows: dict, samples: Sequence[tuple[float, int]]
) -> dict[str, ComponentCost]:
    """Each component's time and the peak of the RSS samples taken in its window."""
    costs = {}
    for component, (start, end) in windows.items():
        inside = [rss for at, rss in samples if start <= at <= end]
        peak = max(inside) / 2**20 if inside else None  # None: over between two samples
        costs[component] = ComponentCost(start, end - start, peak)
    return costs


@dataclasses.dataclass(frozen=True)
class SideFailure:
    """A side whose run did not complete: why, what it used until then, and the
    components it ran (from its MLMD store, the failed one included)."""

    reason: str
    seconds: float
    peak_rss_mb: float
    components: dict = dataclasses.field(default_factory=dict)


def failure_of(error: measure.StepFailedError) -> SideFailure:
    """The first line of the step's failure and the last line of its stderr."""
    lines = [line for line in str(error).splitlines() if line.strip()]
    reason = lines[0] if len(lines) < 2 else f"{lines[0]} {lines[-1].strip()}"
    if "failed (-9)" in lines[0]:
        reason += " (killed by SIGKILL: the kernel's out-of-memory killer, if no one else)"
    return SideFailure(reason, error.seconds, error.peak_rss_mb)


def run_side(side: str, config_path: str, data: str, folder: str):
    """Runs one side in its own process, into a fresh output folder.

    A kept `--work-dir` keeps the generated data; the side's outputs of an
    earlier invocation (its metadata store above all) are removed first, so
    every run starts from an empty store.

    Returns:
      (StepResult, {component: ComponentCost}), or a SideFailure.
    """
    out = os.path.join(folder, side)
    shutil.rmtree(out, ignore_errors=True)
    samples: list[tuple[float, int]] = []
    me = ["-m", "benchmarks.pipeline_benchmark", "--child"]
    try:
        step = measure.run_step(
            side, [*me, side, config_path, data, out], timeout=TIMEOUT_SECONDS, samples=samples
        )
    except measure.StepFailedError as error:
        metadata_path = os.path.join(out, "metadata.sqlite")
        ran = component_windows(metadata_path) if os.path.exists(metadata_path) else {}
        return dataclasses.replace(failure_of(error), components=component_costs(ran, samples))
    return step, component_costs(step.details["components"], samples)


def benchmark(rows: int, work: str, together: bool = False) -> dict:
    """Generates the data once and runs both pipelines on it.

    Args:
      rows: Rows to generate over the three sources.
      work: The folder for the data and both runs' outputs.
      together: Run the two sides at the same time (two processes on this
        2-core machine) instead of one after the other.

    Returns:
      {side: (StepResult, {component: ComponentCost}) or SideFailure}.
    """
    folder = os.path.join(work, f"rows_{rows}")
    data = steps.generate_demo_data(rows, os.path.join(folder, "data"))
    config_path = write_config(data, folder)

    def run(side: str):
        result = run_side(side, config_path, data, folder)
        took = result.seconds if isinstance(result, SideFailure) else result[0].seconds
        state = "failed" if isinstance(result, SideFailure) else "done"
        print(f"  {rows:,} rows, {side}: {state} in {took:.1f}s", flush=True)
        return result

    if together:
        with concurrent.futures.ThreadPoolExecutor(len(SIDES)) as pool:
            return dict(zip(SIDES, pool.map(run, SIDES)))
    return {side: run(side) for side in SIDES}


def format_table(rows: int, by_side: dict) -> str:
    """One Markdown table: a line per component in running order, then the whole
    run; a side that failed shows how long it ran and why, below the table."""
    ours, our_costs = _whole_and_components(by_side["cascade"])
    stock, stock_costs = _whole_and_components(by_side["stock"])
    lines = [
        f"| {rows:,} rows | Cascade | stock TFX | Cascade / stock |",
        "|---|---:|---:|---:|",
    ]
    order = sorted(our_costs, key=lambda c: our_costs[c].start)
    order += sorted(set(stock_costs) - set(our_costs))
    for component in order:
        mine, theirs = our_costs.get(component), stock_costs.get(component)
        # Steps that take a fraction of a second have no meaningful ratio.
        ratio = (
            f"{mine.seconds / theirs.seconds:.2f}x"
            if mine and theirs and min(mine.seconds, theirs.seconds) >= MIN_RATIO_SECONDS
            else ""
        )
        lines.append(f"| {component} | {_cost(mine)} | {_cost(theirs)} | {ratio} |")
    completed = not isinstance(ours, SideFailure) and not isinstance(stock, SideFailure)
    ratio = f"**{ours.seconds / stock.seconds:.2f}x**" if completed else ""
    lines.append(f"| **whole run** | {_whole(ours)} | {_whole(stock)} | {ratio} |")
    example_gen = stock_costs.get("CsvExampleGen")
    lines.append("")
    for side, whole in (("Cascade", ours), ("stock TFX", stock)):
        if isinstance(whole, SideFailure):
            lines.append(f"{side} failed: {whole.reason}")
    for component in ("CleanExamples", "StratifiedSplit"):
        cost = our_costs.get(component)
        if example_gen and example_gen.peak_rss_mb and cost and cost.peak_rss_mb:
            lines.append(
                f"{component}: {cost.seconds / example_gen.seconds:.2f}x stock CsvExampleGen's "
                f"time, {cost.peak_rss_mb / example_gen.peak_rss_mb:.2f}x its peak RSS "
                "(targets: at most 0.3x and 1x)"
            )
    return "\n".join(lines)


def scaling_line(results: dict) -> str:
    """How Cascade's whole-run time grows from the smallest size to the largest."""
    small, large = min(results), max(results)
    if any(isinstance(results[n]["cascade"], SideFailure) for n in (small, large)):
        return "Cascade failed at one size: no scaling ratio"
    growth = results[large]["cascade"][0].seconds / results[small]["cascade"][0].seconds
    factor = large / small
    return (
        f"{factor:.0f}x the rows: Cascade takes {growth:.2f}x the time "
        f"(target: at most {factor * 1.05:.1f}x)"
    )


def _whole_and_components(result) -> tuple:
    """(StepResult or SideFailure, {component: ComponentCost}) of one side's result."""
    if isinstance(result, SideFailure):
        return result, result.components
    return result


def _whole(whole) -> str:
    if isinstance(whole, SideFailure):
        return f"failed after {whole.seconds:.1f} s, {whole.peak_rss_mb:,.0f} MB"
    return f"**{whole.seconds:.1f} s**, {whole.peak_rss_mb:,.0f} MB"


def _cost(cost: Optional[ComponentCost]) -> str:
    if cost is None:
        return "-"
    rss = f"{cost.peak_rss_mb:,.0f} MB" if cost.peak_rss_mb is not None else "-"
    return f"{cost.seconds:.1f} s, {rss}"


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the benchmark (or one `--child` step) and prints its tables."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--child":
        print(json.dumps(_child(argv[1], argv[2:])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; medians reported")
    parser.add_argument("--work-dir", help="keep generated data and outputs here")
    parser.add_argument(
        "--together",
        action="store_true",
        help="run the two sides at the same time, as two processes (for sizes where one after "
        "the other takes too long)",
    )
    args = parser.parse_args(argv)
    if any(r <= 0 for r in args.rows) or args.repeat <= 0:
        parser.error("--rows and --repeat must be positive")
    work = args.work_dir or tempfile.mkdtemp(prefix="cascade-pipeline-bench-")
    results, loads = {}, []
    try:
        for rows in args.rows:
            loads.append(f"{rows:,} rows: {measure.load_note()} before the first run")
            runs = [
                benchmark(
                    rows,
                    os.path.join(work, f"run_{run + 1}") if args.repeat > 1 else work,
                    together=args.together,
                )
                for run in range(args.repeat)
            ]
            results[rows] = median_runs(runs)
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print("\n\n".join(format_table(rows, results[rows]) for rows in sorted(results)))
    if len(results) > 1:
        print()
        print(scaling_line(results))
    print()
    repeats = f"median of {args.repeat} whole runs per side; " if args.repeat > 1 else ""
    together = "both sides at the same time; " if args.together else ""
    print(f"{together}{repeats}{'; '.join(loads)}")
    return 0


def median_runs(runs: Sequence[dict]) -> dict:
    """Per side, the run whose whole time is the median (its components with it).

    Args:
      runs: `benchmark` results of repeated runs at one size.

    Returns:
      {side: (StepResult, {component: ComponentCost})} of the median runs; a
      side that failed in any run gives its first SideFailure.
    """
    medians = {}
    for side in SIDES:
        results = [run[side] for run in runs]
        failures = [result for result in results if isinstance(result, SideFailure)]
        medians[side] = (
            failures[0]
            if failures
            else sorted(results, key=lambda result: result[0].seconds)[(len(runs) - 1) // 2]
        )
    return medians


if __name__ == "__main__":
    sys.exit(main())
