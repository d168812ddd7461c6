"""Serving with the Transform graph inside the model: batch throughput and request latency.

Trains the demo pipeline into a temporary output root (or uses `--output-root`
of an existing run) and, with its pushed model:

  batch scoring   `serving.scoring.score_csv` over a raw CSV of `--rows` demo
                  rows without the label, as `cascade predict` runs it (the
                  input's sha256 and the statistics for the skew check
                  included): rows/s; and, timed apart, the same rows turned
                  into checked tf.Examples alone
  latency         `--calls` single-row calls of `serving_default` (raw
                  serialized tf.Example in, with parse + Transform + model),
                  p50/p99, against the same Keras model called on the row's
                  already-transformed tensors (the reference without Transform)

`--repeat K` measures both K times, interleaved (batch scoring, then the
calls, per round), and reports medians: of the batch times, and of each
round's p50 and p99.

Target: the Transform layer adds at most 30% to the p50 latency.

    .venv/bin/python -m benchmarks.serving_benchmark --rows 100000 --calls 1000 --repeat 3
"""

from __future__ import annotations

import argparse
import csv
import glob
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Optional, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_CONFIG = os.path.join(ROOT, "configs", "demo.yaml")
LABEL = "looking_for_job"
WARM_UP_CALLS = 20


def train_demo(output_root: str) -> None:
    """Runs the demo pipeline into `output_root` (`cascade run`, in its own process)."""
    from benchmarks.measure import cascade_command

    subprocess.run(
        [*cascade_command(), "run", "--output-root", output_root],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


def serving_csv(rows: int, folder: str) -> str:
    """Writes about `rows` demo rows from all sources, without the label, as one CSV."""
    from benchmarks.steps import SOURCES, generate_demo_data

    data = generate_demo_data(rows, os.path.join(folder, "data"))
    path = os.path.join(folder, "serving.csv")
    with open(path, "w", newline="") as out:
        writer = None
        for source in SOURCES:
            with open(os.path.join(data, source, "users.csv"), newline="") as f:
                for row in csv.DictReader(f):
                    del row[LABEL]
                    if writer is None:
                        writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\n")
                        writer.writeheader()
                    writer.writerow(row)
    return path


def percentiles(samples: Sequence[float]) -> tuple[float, float]:
    """(p50, p99) of `samples`, nearest rank."""
    ordered = sorted(samples)

    def rank(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))]

    return rank(0.50), rank(0.99)


def time_calls(call: Callable[[], object], calls: int) -> list[float]:
    """Milliseconds of each of `calls` calls, after a warm-up."""
    for _ in range(WARM_UP_CALLS):
        call()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def measure(model_dir: str, csv_path: str, calls: int, work: str, repeat: int) -> dict:
    """Measures batch scoring and single-request latency of one model, `repeat` times.

    Returns:
      Rows scored, the median batch and conversion seconds, and the median
      over rounds of each call's (p50, p99) in milliseconds.
    """
    import tensorflow as tf

    from serving import scoring
    from serving.model import ServingModel
    from serving import serving_input

    model = ServingModel(model_dir)
    loaded = tf.saved_model.load(model_dir)
    serve = loaded.signatures["serving_default"]
    transform = loaded.signatures["transform_features"]
    keras_model = tf.keras.models.load_model(model_dir)
    rows = serving_input.read_csv_examples(csv_path, model.columns)
    one = tf.constant([next(rows)[2]])
    rows.close()
    transformed = {k: v for k, v in transform(examples=one).items()}
    # A concrete function, like the signature: both calls skip tf.function's
    # per-call argument matching, so the difference is the graph's own work.
    reference = tf.function(
        lambda features: keras_model(features, training=False)
    ).get_concrete_function(transformed)
    served_p = float(serve(examples=one)["outputs"].numpy()[0, 0])
    reference_p = float(reference(transformed).numpy()[0, 0])
    assert abs(served_p - reference_p) < 1e-6, (served_p, reference_p)

    def serve_one() -> object:
        return serve(examples=one)

    def reference_one() -> object:
        return reference(transformed)

    rounds = []
    for round_number in range(1, repeat + 1):
        started = time.perf_counter()
        converted = sum(1 for _ in serving_input.read_csv_examples(csv_path, model.columns))
        convert_seconds = time.perf_counter() - started
        predictions = os.path.join(work, f"predictions_{round_number}.csv")
        result = scoring.score_csv(model, csv_path, predictions)
        assert converted == result.rows, (converted, result.rows)
        rounds.append(
            {
                "rows": result.rows,
                "score_seconds": result.seconds,
                "convert_seconds": convert_seconds,
                "serve": percentiles(time_calls(serve_one, calls)),
                "reference": percentiles(time_calls(reference_one, calls)),
            }
        )
        print(
            f"round {round_number}/{repeat}: batch {result.seconds:.1f}s, "
            f"serve p50 {rounds[-1]['serve'][0]:.2f} ms",
            flush=True,
        )

    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    def median_pair(key: str) -> tuple[float, float]:
        return tuple(statistics.median(r[key][i] for r in rounds) for i in (0, 1))

    return {
        "rows": rounds[0]["rows"],
        "score_seconds": median("score_seconds"),
        "convert_seconds": median("convert_seconds"),
        "serve": median_pair("serve"),
        "reference": median_pair("reference"),
        "calls": calls,
    }


def format_tables(m: dict) -> str:
    """Renders the measurements as two Markdown tables."""
    serve_p50, serve_p99 = m["serve"]
    ref_p50, ref_p99 = m["reference"]
    return "\n".join(
        [
            "| rows | batch scoring | rows/s | CSV -> checked tf.Examples alone |",
            "|---:|---:|---:|---:|",
            f"| {m['rows']:,} | {m['score_seconds']:.1f} s | {m['rows'] / m['score_seconds']:,.0f} "
            f"| {m['convert_seconds']:.1f} s |",
            "",
            f"| single-row call ({m['calls']:,} calls) | p50 | p99 |",
            "|---|---:|---:|",
            f"| `serving_default`: raw tf.Example, parse + Transform + model "
            f"| {serve_p50:.2f} ms | {serve_p99:.2f} ms |",
            f"| reference: Keras model on transformed tensors "
            f"| {ref_p50:.2f} ms | {ref_p99:.2f} ms |",
            f"| Transform's share: serving / reference "
            f"| {serve_p50 / ref_p50:.2f}x | {serve_p99 / ref_p99:.2f}x |",
        ]
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the benchmark and prints its tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows to batch-score")
    parser.add_argument("--calls", type=int, default=1000, help="single-row calls to time")
    parser.add_argument("--output-root", help="an existing demo run to use (default: train one)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; medians reported")
    args = parser.parse_args(argv)
    if args.rows <= 0 or args.calls <= 0 or args.repeat <= 0:
        parser.error("--rows, --calls and --repeat must be positive")
    sys.path.insert(0, ROOT)
    from core.environment import prepare_tensorflow

    from benchmarks.measure import load_note

    prepare_tensorflow()
    load = load_note()
    with tempfile.TemporaryDirectory(prefix="cascade-serving-bench-") as work:
        output_root = args.output_root
        if not output_root:
            output_root = os.path.join(work, "demo")
            print("training the demo pipeline ...", flush=True)
            train_demo(output_root)
        pushed = sorted(glob.glob(os.path.join(output_root, "serving_model", "*")))
        if not pushed:
            parser.error(f"no pushed model under {output_root}/serving_model")
        print(f"writing {args.rows:,} serving rows ...", flush=True)
        csv_path = serving_csv(args.rows, work)
        print(format_tables(measure(pushed[-1], csv_path, args.calls, work, args.repeat)))
        rounds = f"median of {args.repeat} rounds; " if args.repeat > 1 else ""
        print(f"\n{rounds}{load} before the benchmark started")
    return 0


if __name__ == "__main__":
    sys.exit(main())
