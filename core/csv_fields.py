"""CSV header and cell rules shared by preflight and the serving readers.

Python's csv module refuses cells over 131,072 characters by default. The
serving readers are Cascade's own, in one process and in every Beam worker,
so they lift the limit (`allow_large_cells`). Training data is read by
CsvExampleGen, whose reader keeps the default in its workers; preflight keeps
it too and names a longer cell.
"""

from __future__ import annotations

import csv

# The largest limit the C reader accepts on every platform (a C long).
MAX_CELL_CHARS = 2**31 - 1
# Python's default, which CsvExampleGen's reader keeps.
CSV_EXAMPLE_GEN_CELL_CHARS = 131_072


def allow_large_cells() -> None:
    """Lifts the csv module's cell size limit (process-wide: call before each read)."""
    csv.field_size_limit(MAX_CELL_CHARS)


def csv_example_gen_cells() -> int:
    """Sets the csv module's cell limit to CsvExampleGen's; returns it (call before each read)."""
    csv.field_size_limit(CSV_EXAMPLE_GEN_CELL_CHARS)
    return CSV_EXAMPLE_GEN_CELL_CHARS


def duplicate_column(header: list[str]) -> tuple[str, int, int] | None:
    """The first name the header repeats, with its two 1-based positions, or None."""
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name in seen:
            return name, seen[name], position
        seen[name] = position
    return None
