"""CleanExamples vs stock CsvExampleGen on the same rows, in one run.

For each size it generates demo rows from three sources with 1% spam accounts
and ~5% of people under a second id (plus the spam list and id map), and times,
each in its own process on Beam's FnApiRunner (in memory, one worker):

  stock      CsvExampleGen reading the three sources (one input split each):
             the ingestion CleanExamples follows
  reference  CsvExampleGen for the spam list and the id map (small)
  clean      CleanExamples alone: tag, resolve aliases, drop spam, merge, quarantine

and prints wall time (the step's own, imports excluded), peak RSS of the step's
process tree, and clean/stock ratios. Targets: clean <= 1.0x stock time, peak
RSS <= stock's.

    .venv/bin/python -m benchmarks.clean_benchmark --rows 100000 1000000
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Optional, Sequence

SPAM_RATE = 0.01


def _child(step: str, args: Sequence[str]) -> dict:
    from benchmarks import steps

    steps.prepare_child()
    data, out = args[0], args[1]
    if step == "stock":
        splits = [(s, f"{s}/*.csv") for s in steps.SOURCES]
        seconds, uri = steps.run_example_gen(data, out, input_splits=splits)
        return {"seconds": seconds, "uri": uri}
    if step == "reference":
        uris, seconds = {}, 0.0
        for name, component_id in (("spam_accounts", "SpamListGen"), ("id_map", "IdMapGen")):
            took, uris[name] = steps.run_example_gen(
                os.path.join(data, name),
                out,
                output_buckets=[("all", 1)],
                component_id=component_id,
            )
            seconds += took
        return {"seconds": seconds, **uris}
    from tfx.types import standard_artifacts

    from components.clean_examples import executor
    from components.clean_examples.options import CleanOptions

    raw_uri, spam_uri, id_map_uri = args[2], args[3], args[4]
    cleaned, rejected = standard_artifacts.Examples(), standard_artifacts.Examples()
    cleaned.uri, rejected.uri = os.path.join(out, "cleaned"), os.path.join(out, "rejected")
    options = CleanOptions(
        id_key="user_id",
        required_columns=("employment_status",),
        keep_latest_by="signup_ts",
        source_priority=steps.SOURCES,
        label="looking_for_job",
        spam_id_column="user_id",
        alias_column="alias_id",
        canonical_column="canonical_id",
        has_spam_list=True,
        has_id_map=True,
    )
    started = time.monotonic()
    executor.Executor(steps.beam_context(out)).Do(
        {
            "examples": [steps.examples_artifact(raw_uri, steps.SOURCES)],
            "spam_list": [steps.examples_artifact(spam_uri, ["all"])],
            "id_map": [steps.examples_artifact(id_map_uri, ["all"])],
        },
        {"cleaned_examples": [cleaned], "rejected_examples": [rejected]},
        options.to_exec_properties(),
    )
    accounting = json.loads(cleaned.get_string_custom_property("accounting"))
    return {"seconds": time.monotonic() - started, "accounting": accounting}


def benchmark(rows: int, work: str) -> list:
    """Measures stock ingestion, reference ingestion and CleanExamples on `rows` rows."""
    from benchmarks.measure import run_step
    from benchmarks.steps import generate_demo_data

    folder = os.path.join(work, f"rows_{rows}")
    data = generate_demo_data(rows, os.path.join(folder, "data"), spam_rate=SPAM_RATE)
    me = [os.path.abspath(__file__), "--child"]
    stock = run_step("stock", [*me, "stock", data, os.path.join(folder, "stock")])
    reference = run_step("reference", [*me, "reference", data, os.path.join(folder, "ref")])
    clean = run_step(
        "clean",
        [
            *me,
            "clean",
            data,
            os.path.join(folder, "clean"),
            stock.details["uri"],
            reference.details["spam_accounts"],
            reference.details["id_map"],
        ],
    )
    return [stock, reference, clean]


def format_table(results: dict) -> str:
    """Renders {rows: [stock, reference, clean]} as a Markdown table."""
    lines = [
        "| rows | stock CsvExampleGen (3 sources) | spam list + id map ExampleGens | "
        "CleanExamples | kept / spam / merged | clean / stock time | clean / stock peak RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for _, (stock, reference, clean) in sorted(results.items()):
        accounting = clean.details["accounting"]
        removed = accounting["removed_per_reason"]
        lines.append(
            f"| {accounting['rows_in']:,} | {stock.seconds:.1f} s, {stock.peak_rss_mb:,.0f} MB "
            f"| {reference.seconds:.1f} s, {reference.peak_rss_mb:,.0f} MB "
            f"| {clean.seconds:.1f} s, {clean.peak_rss_mb:,.0f} MB "
            f"| {accounting['kept']:,} / {removed.get('spam', 0):,} / "
            f"{removed.get('duplicate_merged', 0):,} "
            f"| {clean.seconds / stock.seconds:.2f}x | {clean.peak_rss_mb / stock.peak_rss_mb:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the benchmark (or, with --child, one step of it); returns the exit code."""
    from benchmarks.measure import run_sizes_cli

    return run_sizes_cli(argv, __doc__.split("\n\n")[0], _child, benchmark, format_table)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
