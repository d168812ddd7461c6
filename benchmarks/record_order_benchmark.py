"""What writing records in a fixed order would add to StratifiedSplit and CleanExamples.

Both steps write their records in the order Beam's bundles finish. For each
size it runs the split and clean benchmarks (`benchmarks.split_benchmark`,
`benchmarks.clean_benchmark`: stock CsvExampleGen, StratifiedSplit,
CleanExamples, ...), then times, each in its own process on Beam's FnApiRunner
(in memory, one worker), two ways of writing the records StratifiedSplit reads
(CsvExampleGen's one split) into a new Examples artifact:

  streaming  read batches -> write batches (`steps.copy_examples`): how both
             steps write
  fixed      the same records in a fixed order: each batch's content hashes
             (`content_hash.record_hashes`) place its records in one of
             ORDER_SHARDS shards, one packet per batch and shard; packets are
             grouped by shard, each shard's records sorted by (hash, bytes)
             and written as its own file, `data_tfrecord-SSSSS-of-NNNNN.gz`

and prints wall time (the step's own, imports excluded), peak RSS of the step's
process tree, fixed/streaming ratios, and fixed's extra time as a share of
StratifiedSplit's and CleanExamples' time in the same run.

    .venv/bin/python -m benchmarks.record_order_benchmark --rows 1000000
"""

from __future__ import annotations

import os
import sys
import time
from typing import Optional, Sequence

# Shards of the fixed order: fixed, so the files do not depend on the runner.
ORDER_SHARDS = 16
ORDER_SEED = 0
SPLIT = "all"


def _child(step: str, args: Sequence[str]) -> dict:
    """Writes split `all` of the Examples at args[0] into args[1], `streaming` or `fixed`."""
    from benchmarks import steps

    steps.prepare_child()
    if step == "streaming":
        seconds, folder = steps.copy_examples(args[0], [SPLIT], args[1])
    else:
        seconds, folder = _write_in_fixed_order(args[0], args[1])
    files = [os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".gz")]
    return {
        "seconds": seconds,
        "files": len(files),
        "output_mb": sum(os.path.getsize(f) for f in files) / 2**20,
    }


def _write_in_fixed_order(uri: str, out: str) -> tuple[float, str]:
    """Writes split `all` of the Examples at `uri` into `out` in the fixed order.

    Returns:
      (seconds the Beam job took, the written split's folder).
    """
    from benchmarks import steps

    import apache_beam as beam
    from tfx.types import artifact_utils, standard_artifacts

    from components.common import examples_io

    examples = steps.examples_artifact(uri, [SPLIT])
    output = standard_artifacts.Examples()
    output.uri = out
    examples_io.set_output_splits(output, [SPLIT], examples)
    folder = artifact_utils.get_split_uri([output], SPLIT)
    started = time.monotonic()
    with beam.Pipeline(argv=steps.BEAM_ARGS) as pipeline:
        (
            examples_io.read_split_batches(pipeline, examples, SPLIT)
            | "ShardByContent" >> beam.FlatMap(_shard_packets)
            | "GroupShards" >> beam.GroupByKey()
            | "SortAndWrite" >> beam.Map(_write_shard, folder)
        )
    return time.monotonic() - started, folder


def _shard_packets(batch: list[bytes]) -> list[tuple[int, list[tuple[int, bytes]]]]:
    """One (shard, [(content hash, record), ...]) packet per shard the batch reaches."""
    from components.common import content_hash

    packets: dict[int, list[tuple[int, bytes]]] = {}
    for position, record in zip(content_hash.record_hashes(batch, ORDER_SEED), batch):
        packets.setdefault(position % ORDER_SHARDS, []).append((position, record))
    return list(packets.items())


def _write_shard(grouped: tuple[int, Sequence[list[tuple[int, bytes]]]], folder: str) -> None:
    """Sorts one shard's records by (hash, bytes) and writes them as the shard's file.

    The file is written under a temporary name and renamed, as Beam's file
    sink does, in the same gzip level and batch framing as `write_split_batches`.
    """
    import gzip

    from tfx.v1.dsl.io import fileio

    from components.common import examples_io, tfrecord_format

    shard, packets = grouped
    pairs = [pair for packet in packets for pair in packet]
    pairs.sort()
    records = [record for _, record in pairs]
    name = f"{examples_io.DEFAULT_FILE_NAME}-{shard:05d}-of-{ORDER_SHARDS:05d}.gz"
    fileio.makedirs(folder)
    temporary = os.path.join(folder, f".{name}.tmp")
    with fileio.open(temporary, "wb") as raw:
        with gzip.GzipFile(
            fileobj=raw, mode="wb", compresslevel=examples_io.WRITE_COMPRESSION_LEVEL, mtime=0
        ) as stream:
            for start in range(0, len(records), examples_io.BATCH_RECORDS):
                stream.write(
                    tfrecord_format.frame(records[start : start + examples_io.BATCH_RECORDS])
                )
    fileio.rename(temporary, os.path.join(folder, name), overwrite=True)


def benchmark(rows: int, work: str) -> list:
    """Runs the split and clean benchmarks, then both writes of StratifiedSplit's input.

    Returns:
      The split benchmark's StepResults, the clean benchmark's, streaming,
      fixed, in one list (`_parts` takes it apart).
    """
    from benchmarks import clean_benchmark, split_benchmark
    from benchmarks.measure import run_step

    split = split_benchmark.benchmark(rows, os.path.join(work, "split"))
    clean = clean_benchmark.benchmark(rows, os.path.join(work, "clean"))
    ingest = split[1]
    folder = os.path.join(work, "order", f"rows_{rows}")
    me = [os.path.abspath(__file__), "--child"]
    writes = [
        run_step(step, [*me, step, ingest.details["uri"], os.path.join(folder, step)])
        for step in ("streaming", "fixed")
    ]
    return [*split, *clean, *writes]


def _parts(result: Sequence) -> tuple[list, list, object, object]:
    """(split benchmark's steps, clean benchmark's steps, streaming, fixed) of
    one `benchmark` result."""
    from benchmarks import clean_benchmark, split_benchmark

    split_end = len(split_benchmark.STEPS)
    clean_end = split_end + len(clean_benchmark.STEPS)
    streaming, fixed = result[clean_end:]
    return list(result[:split_end]), list(result[split_end:clean_end]), streaming, fixed


def format_table(results: dict) -> str:
    """Renders {rows: benchmark's list} as Markdown tables (the split and clean tables last)."""
    from benchmarks import clean_benchmark, split_benchmark

    lines = [
        "| rows | streaming write | fixed-order write | fixed / streaming time "
        "| fixed / streaming peak RSS | files (streaming, fixed) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for rows, result in sorted(results.items()):
        _, _, streaming, fixed = _parts(result)
        lines.append(
            f"| {rows:,} | {streaming.seconds:.1f} s, {streaming.peak_rss_mb:,.0f} MB "
            f"| {fixed.seconds:.1f} s, {fixed.peak_rss_mb:,.0f} MB "
            f"| {fixed.seconds / streaming.seconds:.2f}x "
            f"| {fixed.peak_rss_mb / streaming.peak_rss_mb:.2f}x "
            f"| {streaming.details['files']}, {fixed.details['files']} |"
        )
    lines += [
        "",
        "| rows | fixed - streaming | StratifiedSplit | extra / split "
        "| CleanExamples | extra / clean | fixed-order write / stock CsvExampleGen (3-way split) peak RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rows, result in sorted(results.items()):
        split_steps, clean_steps, streaming, fixed = _parts(result)
        stock, split, clean = split_steps[0], split_steps[2], clean_steps[2]
        extra = fixed.seconds - streaming.seconds
        lines.append(
            f"| {rows:,} | {extra:+.1f} s | {split.seconds:.1f} s | {extra / split.seconds:+.0%} "
            f"| {clean.seconds:.1f} s | {extra / clean.seconds:+.0%} "
            f"| {fixed.peak_rss_mb:,.0f} MB / {stock.peak_rss_mb:,.0f} MB "
            f"= {fixed.peak_rss_mb / stock.peak_rss_mb:.2f}x |"
        )
    split_results = {rows: _parts(result)[0] for rows, result in results.items()}
    clean_results = {rows: _parts(result)[1] for rows, result in results.items()}
    lines += [
        "",
        "The same run's split benchmark:",
        "",
        split_benchmark.format_table(split_results),
        "",
        "The same run's clean benchmark:",
        "",
        clean_benchmark.format_table(clean_results),
    ]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the benchmark (or, with --child, one step of it); returns the exit code."""
    from benchmarks.measure import run_sizes_cli

    return run_sizes_cli(
        argv, __doc__.split("\n\n")[0], _child, benchmark, format_table, [1_000_000]
    )


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
