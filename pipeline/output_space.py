"""The output root checked before a run: writable, and with room for the run's artifacts.

TFX finds an unwritable folder or a full disk minutes into a run, inside a
Beam job, as a traceback. Both can be checked up front for a local output
root. Room is estimated from the input: each of ExampleGen, CleanExamples,
StratifiedSplit and Transform writes about one compressed copy of the rows,
and compressed examples take about as much room as the CSV text. The check
asks for one input's worth (plus the store and model): a run needs several,
so the check refuses only runs that could not have fitted.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Sequence

from core.errors import CascadeError
from core.output_paths import nearest_existing

# Room a run needs whatever its input: the store, the log, the model.
BASE_BYTES = 100 * 2**20


def check_output_root(root: str, input_files: Sequence[str]) -> None:
    """Fails if a local output root cannot be written or has no room for the run.

    Args:
      root: The run's output root (a `gs://` root is not checked).
      input_files: The run's input CSV files (their sizes estimate the need).

    Raises:
      CascadeError: Naming the folder and what is wrong (not writable, a
        file in the way, or free space below the estimate).
    """
    if "://" in root:
        return
    existing = nearest_existing(root)
    if not os.path.isdir(existing):
        raise CascadeError(f"output root {root}: {existing} is a file, not a folder")
    try:
        os.makedirs(root, exist_ok=True)
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as e:
        raise CascadeError(
            f"output root {root} is not writable ({e.strerror or e}); choose another --output-root"
        ) from None
    input_bytes = sum(os.path.getsize(f) for f in input_files if "://" not in f)
    problem = room_problem(shutil.disk_usage(root).free, input_bytes)
    if problem:
        raise CascadeError(f"output root {root}: {problem}")


def room_problem(free_bytes: int, input_bytes: int) -> str | None:
    """Why `free_bytes` cannot hold a run over `input_bytes` of CSV, or None."""
    needed = BASE_BYTES + input_bytes
    if free_bytes >= needed:
        return None
    # Free space rounded down, the need rounded up: never "110 MiB free, needs 110 MiB".
    return (
        f"{free_bytes // 2**20:,} MiB free, but this run needs at least "
        f"{-(-needed // 2**20):,} MiB (about one copy of its input, plus the model and store)"
    )
