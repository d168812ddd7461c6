"""CsvSourceExampleGen vs stock CsvExampleGen on the same rows, in one run.

For each size it generates demo rows from three sources and runs, each in its
own process on Beam's FnApiRunner (in memory, one worker):

  stock   CsvExampleGen, one input split per source
  ours    CsvSourceExampleGen on the same input: the same examples, made a batch
          of rows at a time, plus rows and label balance per source (counted in
          the same Beam job), a sha256 of each source's files and the declared
          inventory, recorded in MLMD

and prints wall time (the run's own, imports excluded), peak RSS of the step's
process tree, and ours/stock ratios. Target: at most stock's time and memory,
measurements included.

    .venv/bin/python -m benchmarks.ingest_benchmark --rows 100000 1000000
"""

from __future__ import annotations

import json
import os
import sys
from typing import Optional, Sequence

INVENTORY = {
    source: {"owner": "bench", "collection_cost": 100.0, "labelling_method": "crowd"}
    for source in ("web", "mobile", "partner")
}


def _child(step: str, args: Sequence[str]) -> dict:
    """Runs one step (`stock` or `ours`) on data folder args[0], work folder args[1]."""
    from benchmarks import steps

    steps.prepare_child()
    data, out = args[0], args[1]
    splits = [(s, f"{s}/*.csv") for s in steps.SOURCES]
    if step == "stock":
        seconds, uri = steps.run_example_gen(data, out, input_splits=splits)
        return {"seconds": seconds, "uri": uri}
    from tfx import v1 as tfx

    from components.source_example_gen.component import CsvSourceExampleGen

    component = CsvSourceExampleGen(
        input_base=data,
        input_config=tfx.proto.Input(
            splits=[tfx.proto.Input.Split(name=n, pattern=p) for n, p in splits]
        ),
        label="looking_for_job",
        inventory=INVENTORY,
    ).with_id("CsvSourceExampleGen")
    seconds, uri = steps.run_alone(component, out, "CsvSourceExampleGen")
    from ml_metadata import metadata_store

    store = metadata_store.MetadataStore(
        tfx.orchestration.metadata.sqlite_metadata_connection_config(
            os.path.join(out, "CsvSourceExampleGen.sqlite")
        )
    )
    [artifact] = store.get_artifacts_by_uri(uri)
    facts = json.loads(artifact.custom_properties["source_facts"].string_value)
    return {"seconds": seconds, "rows": sum(f["rows"] for f in facts.values())}


def benchmark(rows: int, work: str) -> list:
    """Measures stock and our ExampleGen on `rows` generated rows."""
    from benchmarks.measure import run_step
    from benchmarks.steps import generate_demo_data

    folder = os.path.join(work, f"rows_{rows}")
    data = generate_demo_data(rows, os.path.join(folder, "data"))
    me = [os.path.abspath(__file__), "--child"]
    stock = run_step("stock", [*me, "stock", data, os.path.join(folder, "stock")])
    ours = run_step("ours", [*me, "ours", data, os.path.join(folder, "ours")])
    return [stock, ours]


def format_table(results: dict) -> str:
    """Renders {rows: [stock, ours]} as a Markdown table."""
    lines = [
        "| rows | stock CsvExampleGen | CsvSourceExampleGen | time ours / stock | "
        "peak RSS ours / stock |",
        "|---:|---:|---:|---:|---:|",
    ]
    for _, (stock, ours) in sorted(results.items()):
        lines.append(
            f"| {ours.details['rows']:,} | {stock.seconds:.1f} s, {stock.peak_rss_mb:,.0f} MB "
            f"| {ours.seconds:.1f} s, {ours.peak_rss_mb:,.0f} MB "
            f"| {ours.seconds / stock.seconds:.2f}x | {ours.peak_rss_mb / stock.peak_rss_mb:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the benchmark (or, with --child, one step of it); returns the exit code."""
    from benchmarks.measure import run_sizes_cli

    return run_sizes_cli(argv, __doc__.split("\n\n")[0], _child, benchmark, format_table)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
