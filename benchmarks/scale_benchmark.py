"""Cascade's data steps from 1M to 10M rows: time and peak memory as the rows grow.

For each size it generates demo rows from three sources (1% spam accounts, ~5%
of people under a second id, plus the spam list and id map) and runs Cascade's
own data steps in a chain, each in its own process on Beam's FnApiRunner (in
memory, one worker), as the pipeline runs them:

  ingest     CsvSourceExampleGen over the three sources
  reference  the spam list's and id map's ExampleGens (small)
  clean      CleanExamples on `ingest`'s output
  split      StratifiedSplit on the cleaned rows (60/20/20, exact per label and
             source, as the demo config)

and prints each step's wall time (imports excluded) and peak RSS of its process
tree, then each step's peak RSS and time per million rows against the smallest
size. Target: peak RSS of ingest, clean and split within +10% from 1M to 10M
rows (a step whose memory follows the data would grow tenfold).

    .venv/bin/python -m benchmarks.scale_benchmark --rows 1000000 3000000 10000000
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Optional, Sequence

STEPS = ("ingest", "clean", "split")
TIMEOUT_SECONDS = 4 * 3600


def _ingest_child(data: str, out: str) -> dict:
    from tfx import v1 as tfx

    from benchmarks import steps
    from components.source_example_gen.component import CsvSourceExampleGen

    component = CsvSourceExampleGen(
        input_base=data,
        input_config=tfx.proto.Input(
            splits=[tfx.proto.Input.Split(name=s, pattern=f"{s}/*.csv") for s in steps.SOURCES]
        ),
        label="looking_for_job",
    ).with_id("CsvSourceExampleGen")
    seconds, uri = steps.run_alone(component, out, "CsvSourceExampleGen")
    return {"seconds": seconds, "uri": uri}


def _split_child(examples_uri: str, out: str) -> dict:
    from tfx.types import standard_artifacts

    from benchmarks import split_benchmark, steps
    from components.stratified_split import executor
    from components.stratified_split.options import SplitOptions

    output = standard_artifacts.Examples()
    output.uri = os.path.join(out, "split")
    options = SplitOptions(
        ratios=split_benchmark.RATIOS,
        label=split_benchmark.LABEL,
        seed=split_benchmark.SEED,
        stratify_by=("source",),
    )
    started = time.monotonic()
    executor.Executor(steps.beam_context(out)).Do(
        {"examples": [steps.examples_artifact(examples_uri, ["cleaned"])]},
        {"split_examples": [output]},
        options.to_exec_properties(),
    )
    counts = json.loads(output.get_string_custom_property("split_counts"))
    return {
        "seconds": time.monotonic() - started,
        "rows": sum(sum(per_stratum.values()) for per_stratum in counts.values()),
    }


def _child(step: str, args: Sequence[str]) -> dict:
    from benchmarks import clean_benchmark, steps

    if step in ("reference", "clean"):
        return clean_benchmark.child(step, args)
    steps.prepare_child()
    if step == "ingest":
        return _ingest_child(args[0], args[1])
    return _split_child(args[0], args[1])


def benchmark(rows: int, work: str) -> list:
    """Runs the chain ingest -> clean -> split on `rows` generated rows."""
    from benchmarks import clean_benchmark
    from benchmarks.measure import run_step
    from benchmarks.steps import generate_demo_data

    folder = os.path.join(work, f"rows_{rows}")
    data = generate_demo_data(
        rows, os.path.join(folder, "data"), spam_rate=clean_benchmark.SPAM_RATE
    )
    me = [os.path.abspath(__file__), "--child"]

    def step(name: str, *args: str):
        return run_step(name, [*me, name, *args], timeout=TIMEOUT_SECONDS)

    ingest = step("ingest", data, os.path.join(folder, "ingest"))
    reference = step("reference", data, os.path.join(folder, "ref"))
    clean = step(
        "clean",
        data,
        os.path.join(folder, "clean"),
        ingest.details["uri"],
        reference.details["spam_accounts"],
        reference.details["id_map"],
    )
    split = step("split", os.path.join(folder, "clean", "cleaned"), os.path.join(folder, "split"))
    return [ingest, clean, split]


def format_table(results: dict) -> str:
    """Renders {rows: [ingest, clean, split]}: one line per size, then the growth."""
    header = " | ".join(f"{name}" for name in STEPS)
    lines = [f"| rows | {header} |", "|---:|" + "---:|" * len(STEPS)]
    for rows, measured in sorted(results.items()):
        cells = " | ".join(f"{r.seconds:.1f} s, {r.peak_rss_mb:,.0f} MB" for r in measured)
        lines.append(f"| {rows:,} | {cells} |")
    sizes = sorted(results)
    if len(sizes) > 1:
        smallest = sizes[0]
        lines += [
            "",
            f"| against {smallest:,} rows | "
            + " | ".join(f"{name}: peak RSS, s per 1M rows" for name in STEPS)
            + " |",
            "|---:|" + "---:|" * len(STEPS),
        ]
        for rows in sizes[1:]:
            cells = []
            for base, grown in zip(results[smallest], results[rows]):
                rss = grown.peak_rss_mb / base.peak_rss_mb - 1
                per_million = (grown.seconds / rows) / (base.seconds / smallest)
                cells.append(f"{rss:+.0%}, {per_million:.2f}x")
            lines.append(f"| {rows:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the benchmark (or, with --child, one step of it); returns the exit code."""
    from benchmarks.measure import run_sizes_cli

    return run_sizes_cli(
        argv,
        __doc__.split("\n\n")[0],
        _child,
        benchmark,
        format_table,
        default_rows=(1_000_000, 3_000_000, 10_000_000),
    )


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
