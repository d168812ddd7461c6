"""Batch scoring at scale: one process vs Beam, and what the skew check costs.

With the pushed model of a demo run (`--output-root`, default: train one), it
writes `--rows` demo rows without the label as one CSV and scores them, each
in its own process:

  one process       `serving.scoring.score_csv` (`cascade predict` without --profile)
  beam local        `serving.beam_scoring` on the `local` profile (one worker)
  beam parallel     the same on `local-parallel` (a worker per core)

each once without and once with the skew check (TFDV statistics of the rows
while scoring, then the comparison with the model's training statistics found
through MLMD, and writing both artifacts). Each scoring is the work of
`cascade predict --model M --output O --no-record [--no-skew-check]
[--profile P]`: `services.scoring.score`, whose check is `services.skew_check`. It prints wall time (imports
excluded), rows/s, peak RSS of the process tree and the check's added time.
Targets: the check adds <= 20% to scoring time; Beam on local-parallel scores
at least as many rows/s as one process.

On a small shared machine one measurement can be off by a third, so
`--repeats N` measures every line N times, interleaved (round 1 of every
line, then round 2, ...) so that a slow spell of the machine hits all lines
alike, and reports the median with the range.

    .venv/bin/python -m benchmarks.scoring_benchmark --rows 1000000 --repeats 3 \
        --output-root outputs/demo
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import json
import os
import shutil
import statistics
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
    from serving import beam_scoring, scoring  # noqa: F401 - imported before the clock starts
    from serving.model import ServingModel  # noqa: F401
    from services import scoring as scoring_service
    from services import skew_check  # noqa: F401
    from services.store import StoreOptions

    started = time.monotonic()
    outcome = scoring_service.score(
        scoring_service.ScoreRequest(
            input=csv_path,
            config=None,
            store=StoreOptions(sqlite_path=metadata),
            output=output,
            model=model_dir,
            record=False,
            check_skew=with_check,
            profile=PATHS[path],
        )
    )
    seconds = time.monotonic() - started
    if with_check:
        assert outcome.skew is not None, "the skew check did not run"
    skewed = len(outcome.skew.report.skewed) if outcome.skew is not None else None
    return {"seconds": seconds, "rows": outcome.scoring.rows, "skewed": skewed}


@dataclasses.dataclass(frozen=True)
class Measured:
    """Every measurement of one line (path, with or without the check).

    Attributes:
      seconds: Each run's time.
      peak_rss_mb: Each run's peak RSS of the process tree.
      rows: Rows each run scored (the generator writes about the rows asked for).
    """

    seconds: Sequence[float]
    peak_rss_mb: Sequence[float]
    rows: int

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.seconds)

    @property
    def spread(self) -> str:
        """`min-max s` over the repeats, or "" for a single measurement."""
        if len(self.seconds) < 2:
            return ""
        return f"{min(self.seconds):.1f}-{max(self.seconds):.1f} s"


def run(rows: int, model_dir: str, metadata: str, work: str, repeats: int) -> dict:
    """Scores `rows` rows on every path, without and with the check, `repeats` times.

    Returns:
      {(path, "none"|"check"): Measured}.
    """
    print(f"writing {rows:,} serving rows ...", flush=True)
    csv_path = serving_csv(rows, os.path.join(work, f"rows-{rows}"))
    steps = {}
    for round_number in range(1, repeats + 1):
        for path in PATHS:
            for check in ("none", "check"):
                output = os.path.join(
                    work, f"out-{rows}-{path.replace(' ', '_')}-{check}-{round_number}.csv"
                )
                step = measure.run_step(
                    f"{path} ({check})",
                    ["-m", "benchmarks.scoring_benchmark", "--child", path, check, model_dir,
                     csv_path, output, metadata],
                )  # fmt: skip
                steps.setdefault((path, check), []).append(step)
                print(
                    f"  round {round_number}/{repeats} {step.name}: {step.seconds:.1f}s, "
                    f"{step.peak_rss_mb:,.0f} MB",
                    flush=True,
                )
                _remove_output(output)
    scored = {s.details["rows"] for done in steps.values() for s in done}
    assert len(scored) == 1, f"the runs scored different row counts: {sorted(scored)}"
    (rows_scored,) = scored
    return {
        key: Measured([s.seconds for s in done], [s.peak_rss_mb for s in done], rows_scored)
        for key, done in steps.items()
    }


def _remove_output(output: str) -> None:
    """Drops one scoring's predictions and checks so the disk holds one at a time."""
    from serving.scoring import checks_dir

    for name in [*glob.glob(output + "*"), checks_dir(output)]:
        if not os.path.exists(name):
            continue
        if os.path.isdir(name):
            shutil.rmtree(name, ignore_errors=True)
        else:
            os.remove(name)


def format_table(results: dict, repeats: int) -> str:
    """One Markdown table: a line per path, without and with the skew check (medians)."""
    times = "median time" if repeats > 1 else "time"
    rows = next(iter(results.values())).rows
    lines = [
        f"| {rows:,} rows | {times} | rows/s | peak RSS | with skew check | rows/s | peak RSS "
        "| check adds |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for path in PATHS:
        plain, checked = results[(path, "none")], results[(path, "check")]
        lines.append(
            f"| {path} | {_seconds(plain)} | {rows / plain.median_seconds:,.0f} "
            f"| {max(plain.peak_rss_mb):,.0f} MB | {_seconds(checked)} "
            f"| {rows / checked.median_seconds:,.0f} | {max(checked.peak_rss_mb):,.0f} MB "
            f"| {100 * (checked.median_seconds / plain.median_seconds - 1):+.0f}% |"
        )
    one = results[("one process", "check")].median_seconds
    parallel = results[("beam parallel", "check")].median_seconds
    lines.append("")
    if repeats > 1:
        lines.append(
            f"Median of {repeats} runs per line (range in parentheses); peak RSS is the largest seen."
        )
    lines.append(
        f"Beam local-parallel / one process throughput (with the check): {one / parallel:.2f}x"
    )
    return "\n".join(lines)


def _seconds(measured: Measured) -> str:
    spread = measured.spread
    return f"{measured.median_seconds:.1f} s" + (f" ({spread})" if spread else "")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the benchmark (or one `--child` step) and prints its table."""
    argv = list(sys.argv[1:] if argv is None else argv)
    sys.path.insert(0, ROOT)
    if argv and argv[0] == "--child":
        print(json.dumps(_child(argv[1:])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--repeats", type=int, default=1, help="measure each line N times")
    parser.add_argument("--output-root", help="an existing demo run to use (default: train one)")
    args = parser.parse_args(argv)
    if any(r <= 0 for r in args.rows):
        parser.error("--rows must be positive")
    if args.repeats <= 0:
        parser.error("--repeats must be positive")
    load = measure.load_note()
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
        tables = [
            format_table(run(rows, pushed[-1], metadata, work, args.repeats), args.repeats)
            for rows in args.rows
        ]
    print()
    print("\n\n".join(tables))
    print(f"\n{load} before the benchmark started")
    return 0


if __name__ == "__main__":
    sys.exit(main())
