"""CSV cells as large as the data has: Python's reader refuses cells over 128 KiB by default.

TFX's CSV reading (tfx_bsl) has no such limit, so a valid training file with
one long text cell would pass CsvExampleGen but fail Cascade's own checks.
The readers of user data call `allow_large_cells` first.
"""

from __future__ import annotations

import csv

# The largest limit the C reader accepts on every platform (a C long).
MAX_CELL_CHARS = 2**31 - 1


def allow_large_cells() -> None:
    """Lifts the csv module's cell size limit (process-wide and idempotent)."""
    if csv.field_size_limit() < MAX_CELL_CHARS:
        csv.field_size_limit(MAX_CELL_CHARS)


def duplicate_column(header: list[str]) -> tuple[str, int, int] | None:
    """The first name the header repeats, with its two 1-based positions, or None."""
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name in seen:
            return name, seen[name], position
        seen[name] = position
    return None
