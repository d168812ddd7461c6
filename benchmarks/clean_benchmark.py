"""CleanExamples vs stock CsvExampleGen and an in-memory floor, on the same rows, in one run.

For each size it generates demo rows from three sources with 1% spam accounts
and ~5% of people under a second id (plus the spam list and id map), and times,
each in its own process (the Beam steps on Beam's FnApiRunner, in memory, one
worker):

  stock      CsvExampleGen reading the three sources (one input split each):
             the ingestion CleanExamples follows
  reference  CsvExampleGen for the spam list and the id map (small)
  clean      CleanExamples alone: tag, resolve aliases, drop spam, merge, quarantine
  floor      the same accounting in pandas/NumPy (`benchmarks.floors`): the
             CSVs loaded into DataFrames first (not timed), then quarantine,
             alias resolution, spam and one row kept per person, vectorised.
             The least this work costs in one process with no pipeline at all
  copy       the ingested rows read and written once, as CleanExamples writes
             them, with no other work (`steps.copy_examples`): the least a
             Beam step that reads and writes these rows costs here

and prints wall time (the step's own, imports excluded), peak RSS of the step's
process tree, and the clean/stock, clean/floor and copy/floor ratios. The run fails if the
floor's counts differ from CleanExamples' accounting: its time is only a floor
for the same work. Targets: clean <= 0.3x stock time and <= 5x the floor's
time; peak RSS <= stock's.

    .venv/bin/python -m benchmarks.clean_benchmark --rows 100000 1000000
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Optional, Sequence

SPAM_RATE = 0.01
# Accounting keys the floor must have computed: a check on fewer would pass empty.
CHECKED_KEYS = ("rows_in", "kept", "removed_per_reason")
# The StepResults `benchmark` returns, in order.
STEPS = ("stock", "reference", "clean", "floor", "copy")


def clean_options() -> dict[str, Any]:
    """CleanExamples' options in this benchmark, as CleanOptions' keyword arguments.

    A plain dict, so the floor's child applies the same options without
    importing TFX (CleanOptions' module does), which would add to its peak RSS.
    """
    from benchmarks.steps import SOURCES

    return {
        "id_key": "user_id",
        "required_columns": ("employment_status",),
        "keep_latest_by": "signup_ts",
        "source_priority": SOURCES,
        "label": "looking_for_job",
        "spam_id_column": "user_id",
        "alias_column": "alias_id",
        "canonical_column": "canonical_id",
        "has_spam_list": True,
        "has_id_map": True,
    }


def _floor_child(data: str) -> dict:
    """Loads the rows, spam list and id map into pandas, then times the accounting."""
    from benchmarks import floors
    from benchmarks.steps import SOURCES

    options = clean_options()
    inputs = floors.load_clean_inputs(data, SOURCES, options)
    started = time.monotonic()
    accounting = floors.clean_accounting(inputs, options)
    return {"seconds": time.monotonic() - started, "accounting": accounting}


def child(step: str, args: Sequence[str]) -> dict:
    """Runs one step (of STEPS) and returns its report (`run_step` reads it)."""
    if step == "floor":
        return _floor_child(args[0])
    from benchmarks import steps

    steps.prepare_child()
    data, out = args[0], args[1]
    if step == "copy":
        seconds, _ = steps.copy_examples(args[2], steps.SOURCES, out)
        return {"seconds": seconds}
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
    options = CleanOptions(**clean_options())
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


def check_floor(clean: dict, floor: dict) -> None:
    """Fails unless the floor's accounting equals CleanExamples' on every key both have.

    Raises:
      RuntimeError: A key differs, or a key of CHECKED_KEYS is missing from
        either (naming the keys and showing both accountings).
    """
    missing = [k for k in CHECKED_KEYS if k not in clean or k not in floor]
    differ = [k for k in sorted(set(clean) & set(floor)) if clean[k] != floor[k]]
    if missing or differ:
        raise RuntimeError(
            f"the floor's counts are not CleanExamples' (differ: {differ}, missing: {missing}):\n"
            f"CleanExamples {json.dumps(clean, sort_keys=True)}\n"
            f"floor         {json.dumps(floor, sort_keys=True)}"
        )


def benchmark(rows: int, work: str) -> list:
    """Measures stock ingestion, reference ingestion, CleanExamples and the floor
    on `rows` rows, and checks the floor counted what CleanExamples counted."""
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
    floor = run_step("floor", [*me, "floor", data])
    check_floor(clean.details["accounting"], floor.details["accounting"])
    copy = run_step("copy", [*me, "copy", data, os.path.join(folder, "copy"), stock.details["uri"]])
    return [stock, reference, clean, floor, copy]


def format_table(results: dict) -> str:
    """Renders {rows: [stock, reference, clean, floor, copy]} as a Markdown table."""
    lines = [
        "| rows | stock CsvExampleGen (3 sources) | spam list + id map ExampleGens | "
        "CleanExamples | floor (pandas) | copy (read + write) | kept / spam / merged | "
        "clean / stock time | clean / stock peak RSS | clean / floor time | "
        "copy / floor time |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for _, (stock, reference, clean, floor, copy) in sorted(results.items()):
        accounting = clean.details["accounting"]
        removed = accounting["removed_per_reason"]
        lines.append(
            f"| {accounting['rows_in']:,} | {stock.seconds:.1f} s, {stock.peak_rss_mb:,.0f} MB "
            f"| {reference.seconds:.1f} s, {reference.peak_rss_mb:,.0f} MB "
            f"| {clean.seconds:.1f} s, {clean.peak_rss_mb:,.0f} MB "
            f"| {floor.seconds:.3f} s, {floor.peak_rss_mb:,.0f} MB "
            f"| {copy.seconds:.1f} s, {copy.peak_rss_mb:,.0f} MB "
            f"| {accounting['kept']:,} / {removed.get('spam', 0):,} / "
            f"{removed.get('duplicate_merged', 0):,} "
            f"| {clean.seconds / stock.seconds:.2f}x | {clean.peak_rss_mb / stock.peak_rss_mb:.2f}x "
            f"| {clean.seconds / floor.seconds:.0f}x | {copy.seconds / floor.seconds:.1f}x |"
        )
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the benchmark (or, with --child, one step of it); returns the exit code."""
    from benchmarks.measure import run_sizes_cli

    return run_sizes_cli(argv, __doc__.split("\n\n")[0], child, benchmark, format_table)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
