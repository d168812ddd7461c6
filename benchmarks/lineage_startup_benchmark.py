"""Start-up of the lineage commands: wall time of a whole `cascade-lineage` call.

A query on the demo's small SQLite store answers in milliseconds; what a user
waits for is the process: the interpreter, the imports, opening the store. Each
command runs as a user runs it (the console script, a fresh process), REPEATS
times, in rounds that interleave the commands and `python -c pass` (the floor
any Python command pays on this machine at that moment). The table gives each
command's median wall time and its ratio to that floor's.

Target: every command <= 0.7 s (median of 5). The queries import no TensorFlow
(`tests/e2e/test_lineage_e2e.py` checks `sys.modules`).

    .venv/bin/python -m benchmarks.lineage_startup_benchmark [--metadata FILE]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from typing import Optional, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_STORE = os.path.join(ROOT, "outputs", "demo", "metadata.sqlite")
TARGET_SECONDS = 0.7


def _lineage_command() -> list[str]:
    """`cascade-lineage` beside this interpreter (the console script users run)."""
    script = os.path.join(os.path.dirname(sys.executable), "cascade-lineage")
    return [script] if os.path.exists(script) else [sys.executable, "-m", "cli.lineage"]


def _refs(metadata: str) -> tuple[int, str]:
    """The newest pushed model's id and the spam list's raw path, from the store."""
    from metadata import connection
    from metadata.lineage import Lineage

    config = connection.connection_config(sqlite_path=metadata, read_only=True)
    store = connection.open_store(config, metadata)
    pushed = max(a.id for a in store.get_artifacts_by_type("PushedModel"))
    graph = Lineage(store).upstream([pushed])
    [spam_list] = [
        e.parameters["input_base"]
        for e in graph.executions.values()
        if e.component == "SpamListGen"
    ]
    return pushed, spam_list


def commands(metadata: str) -> list[tuple[str, list[str]]]:
    """(name, argv) of each command measured; `python -c pass` first."""
    pushed, spam_list = _refs(metadata)
    lineage = [*_lineage_command(), "--metadata", metadata]
    return [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("runs", [*lineage, "runs"]),
        (f"show {pushed}", [*lineage, "show", str(pushed)]),
        (f"upstream {pushed}", [*lineage, "upstream", str(pushed)]),
        ("downstream <spam list folder>", [*lineage, "downstream", spam_list]),
        ("inventory", [*lineage, "inventory"]),
        ("history", [*lineage, "history"]),
    ]


def measure(measured: Sequence[tuple[str, list[str]]], repeats: int) -> dict[str, list[float]]:
    """Wall seconds of each command, `repeats` rounds of every command in turn.

    Raises:
      RuntimeError: A command failed (its stderr is in the message).
    """
    seconds: dict[str, list[float]] = {name: [] for name, _ in measured}
    for _ in range(repeats):
        for name, argv in measured:
            started = time.perf_counter()
            result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
            elapsed = time.perf_counter() - started
            if result.returncode != 0:
                raise RuntimeError(f"{name} exited {result.returncode}: {result.stderr[-2000:]}")
            seconds[name].append(elapsed)
    return seconds


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Measures every command and prints one table."""
    sys.path.insert(0, ROOT)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metadata", default=DEMO_STORE, help="SQLite store (default: the demo's)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if not os.path.exists(args.metadata):
        print(f"error: {args.metadata} does not exist (make demo writes it)", file=sys.stderr)
        return 2
    seconds = measure(commands(args.metadata), args.repeats)
    floor = statistics.median(seconds["python -c pass"])
    print(f"| cascade-lineage ... | median of {args.repeats} (s) | / python -c pass |")
    print("|---|---:|---:|")
    for name, times in seconds.items():
        median = statistics.median(times)
        mark = "" if name == "python -c pass" or median <= TARGET_SECONDS else " (over target)"
        print(f"| {name} | {median:.2f}{mark} | {median / floor:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
