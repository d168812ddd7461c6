"""Running one benchmark step in its own process and measuring it.

Each step runs in a fresh Python process so its peak memory is its own. The
step reports its own wall time (imports excluded) on its last stdout line as
JSON; the parent samples the resident memory of the process and all of its
children (the FnApiRunner's multi_processing workers included) to find the peak.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Callable, Optional, Sequence

import psutil

SAMPLE_SECONDS = 0.1


@dataclasses.dataclass(frozen=True)
class StepResult:
    """One measured step."""

    name: str
    seconds: float
    peak_rss_mb: float
    details: dict


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def cascade_command() -> list[str]:
    """The `cascade` console script beside this interpreter, as users run it (its
    entry point through this interpreter when the project is not installed)."""
    script = os.path.join(os.path.dirname(sys.executable), "cascade")
    if os.path.exists(script):
        return [script]
    return [sys.executable, "-c", "import sys; from cli.main import main; sys.exit(main())"]


class StepFailedError(RuntimeError):
    """A step that exited non-zero or ran out of time, with what it used until then."""

    def __init__(self, message: str, seconds: float, peak_rss_mb: float):
        super().__init__(message)
        self.seconds = seconds
        self.peak_rss_mb = peak_rss_mb


def run_step(
    name: str,
    argv: Sequence[str],
    timeout: float = 3600,
    samples: Optional[list[tuple[float, int]]] = None,
) -> StepResult:
    """Runs `python argv...` and returns its self-reported time and peak tree RSS.

    The child's output goes to temporary files, not pipes, so a step that logs
    a lot never blocks on a full pipe.

    Args:
      name: The step's name in the result.
      argv: The child's arguments after `python`.
      timeout: Seconds before the child is killed.
      samples: If given, every (epoch seconds, tree RSS bytes) sample is
        appended to it (to find the peak of a part of the step).

    Raises:
      StepFailedError: The step exited non-zero (its stderr tail is in the
        message) or timed out; it carries the wall time and peak RSS so far.
    """
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen([sys.executable, *argv], stdout=stdout, stderr=stderr)
        peak, timed_out = _watch(process, timeout, samples)
        seconds = time.monotonic() - started
        if timed_out:
            raise StepFailedError(f"{name}: timed out after {timeout:.0f}s", seconds, _mb(peak))
        if process.returncode != 0:
            stderr.seek(0)
            raise StepFailedError(
                f"{name} failed ({process.returncode}):\n{stderr.read()[-4000:]}",
                seconds,
                _mb(peak),
            )
        stdout.seek(0)
        report = json.loads(stdout.read().strip().splitlines()[-1])
    return StepResult(name, report.pop("seconds"), _mb(peak), report)


def _watch(
    process: subprocess.Popen, timeout: float, samples: Optional[list[tuple[float, int]]]
) -> tuple[int, bool]:
    """Samples the process tree's RSS until it exits.

    Returns:
      The peak in bytes, and whether the process outlived `timeout` seconds
      (it is then killed).
    """
    watched = psutil.Process(process.pid)
    peak = 0
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        try:
            rss = _tree_rss(watched)
        except psutil.NoSuchProcess:
            break
        peak = max(peak, rss)
        if samples is not None:
            samples.append((time.time(), rss))
        if time.monotonic() > deadline:
            _kill_tree(watched)
            process.wait()
            return peak, True
        time.sleep(SAMPLE_SECONDS)
    process.wait()
    return peak, False


def _kill_tree(process: psutil.Process) -> None:
    """Kills `process` and every process under it (a Beam step's workers too)."""
    try:
        tree = [*process.children(recursive=True), process]
    except psutil.NoSuchProcess:
        return
    for p in tree:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass


def _mb(peak_bytes: int) -> float:
    return peak_bytes / 2**20


def median_steps(runs: Sequence[Sequence[StepResult]]) -> list[StepResult]:
    """Per step, the run with the median time (its memory and details with it).

    Args:
      runs: Repeated runs of one benchmark, each its steps in the same order.

    Returns:
      One StepResult per step: of an odd number of runs the middle one by
      time, of an even number the faster of the two middle ones.
    """
    return [
        sorted(same_step, key=lambda step: step.seconds)[(len(same_step) - 1) // 2]
        for same_step in zip(*runs)
    ]


def load_note() -> str:
    """The machine's recent load: "load average 0.12 (2 cores)" (one minute)."""
    one_minute, _, _ = os.getloadavg()
    return f"load average {one_minute:.2f} ({os.cpu_count()} cores)"


def run_sizes_cli(
    argv: Optional[Sequence[str]],
    description: str,
    child: Callable[[str, Sequence[str]], dict],
    benchmark: Callable[[int, str], list],
    format_table: Callable[[dict], str],
    default_rows: Sequence[int] = (100_000, 1_000_000),
) -> int:
    """The command line every row-count benchmark shares.

    `--child STEP ARGS...` runs one step and prints its JSON report (what
    `run_step` reads); otherwise `--rows N...` (default `default_rows`) runs
    `benchmark` per size in a work folder, `--repeat K` times (each step's
    median run is reported), and prints `format_table` of the results and the
    machine's load average before each size (after the first size, that load
    includes the benchmark's own previous size). A `--work-dir` must be new or
    empty (its outputs are kept); without one, a temporary folder is used and
    removed, whatever the outcome.

    Returns:
      The exit code.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--child":
        print(json.dumps(child(argv[1], argv[2:])))
        return 0
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rows", type=int, nargs="+", default=list(default_rows))
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; medians reported")
    parser.add_argument("--work-dir", help="keep generated data and outputs here")
    args = parser.parse_args(argv)
    if any(r <= 0 for r in args.rows) or args.repeat <= 0:
        parser.error("--rows and --repeat must be positive")
    if args.work_dir and os.path.isdir(args.work_dir) and os.listdir(args.work_dir):
        parser.error(f"--work-dir {args.work_dir} is not empty: give a new or empty folder")
    work = args.work_dir or tempfile.mkdtemp(prefix="cascade-bench-")
    results, loads = {}, []
    try:
        for rows in args.rows:
            loads.append(f"{rows:,} rows: {load_note()} before the first run")
            runs = []
            for run in range(args.repeat):
                folder = os.path.join(work, f"run_{run + 1}") if args.repeat > 1 else work
                runs.append(benchmark(rows, folder))
                timings = ", ".join(f"{r.name} {r.seconds:.1f}s" for r in runs[-1])
                print(f"{rows:,} rows, run {run + 1}: {timings}", flush=True)
            results[rows] = median_steps(runs)
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(format_table(results))
    print()
    repeats = f"median of {args.repeat} runs per step; " if args.repeat > 1 else ""
    print(f"{repeats}{'; '.join(loads)}")
    return 0
