"""Start-up of the read-only commands: wall time of a whole `cascade lineage ...` call.

A query on the demo's small SQLite store answers in milliseconds; what a user
waits for is the process: the interpreter, the imports, opening the store. Each
command runs as a user runs it (the `cascade` console script, a fresh
process), REPEATS times, in rounds that interleave the commands and `python -c
pass` (the floor any Python command pays on this machine at that moment). The
table gives each command's median wall time and its ratio to that floor's.

A second table, measured in the same rounds, gives the import of the
command-line libraries against the same floor: argcomplete (tab completion
over argparse, which `cascade` uses) and Click (the alternative it was chosen
over); every `cascade` call pays its library's import.

Target: every command <= 0.7 s (median of 5). The queries import no TensorFlow
(`tests/e2e/test_lineage_e2e.py` checks `sys.modules`; `tests/cli/test_main.py`
checks that building the parser imports none of TensorFlow, Beam and TFX).

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

from benchmarks.measure import cascade_command, load_note

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_STORE = os.path.join(ROOT, "outputs", "demo", "metadata.sqlite")
TARGET_SECONDS = 0.7


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


FLOOR = "python -c pass"
# The command-line libraries' own import, against the same floor.
LIBRARIES = {
    "python -c 'import argcomplete'": "import argcomplete",
    "python -c 'import click'": "import click",
}


def commands(metadata: str) -> list[tuple[str, list[str]]]:
    """(name, argv) of each command measured; `python -c pass` first."""
    pushed, spam_list = _refs(metadata)
    cascade = cascade_command()
    store = ["--metadata", metadata]
    return [
        (FLOOR, [sys.executable, "-c", "pass"]),
        ("lineage runs", [*cascade, "lineage", "runs", *store]),
        (f"lineage show {pushed}", [*cascade, "lineage", "show", str(pushed), *store]),
        (f"lineage upstream {pushed}", [*cascade, "lineage", "upstream", str(pushed), *store]),
        (
            "lineage downstream <spam list folder>",
            [*cascade, "lineage", "downstream", spam_list, *store],
        ),
        ("inventory", [*cascade, "inventory", *store]),
        ("history", [*cascade, "history", *store]),
    ]


def library_imports() -> list[tuple[str, list[str]]]:
    """(name, argv) of each library import measured, where the library is installed."""
    import importlib.util

    return [
        (name, [sys.executable, "-c", code])
        for name, code in LIBRARIES.items()
        if importlib.util.find_spec(code.split()[-1]) is not None
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
    """Measures every command and library import; prints two tables."""
    sys.path.insert(0, ROOT)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metadata", default=DEMO_STORE, help="SQLite store (default: the demo's)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if not os.path.exists(args.metadata):
        print(f"error: {args.metadata} does not exist (make demo writes it)", file=sys.stderr)
        return 2
    load = load_note()
    measured = commands(args.metadata)
    libraries = library_imports()
    seconds = measure(measured + libraries, args.repeats)
    floor = statistics.median(seconds[FLOOR])

    def row(name: str, mark_over_target: bool) -> str:
        median = statistics.median(seconds[name])
        over = mark_over_target and name != FLOOR and median > TARGET_SECONDS
        return (
            f"| {name} | {median:.2f}{' (over target)' if over else ''} | {median / floor:.1f}x |"
        )

    print(f"| cascade ... | median of {args.repeats} (s) | / {FLOOR} |")
    print("|---|---:|---:|")
    for name, _ in measured:
        print(row(name, mark_over_target=True))
    print()
    print(f"| command-line library | median of {args.repeats} (s) | / {FLOOR} |")
    print("|---|---:|---:|")
    print(row(FLOOR, mark_over_target=False))
    for name, _ in libraries:
        print(row(name, mark_over_target=False))
    missing = [name for name in LIBRARIES if name not in dict(libraries)]
    if missing:
        print(f"(not installed, not measured: {', '.join(missing)})")
    print(f"\n{load} before the first round")
    return 0


if __name__ == "__main__":
    sys.exit(main())
