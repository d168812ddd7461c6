"""The type CsvExampleGen will give each column, per source, found before it runs.

CsvExampleGen (tfx_bsl's CSV decoder) infers a column's type over all rows of
one input split -- here, one source: empty cells say nothing; a column of
integers within int64 is INT; any other number makes it FLOAT; any other text,
an integer beyond int64 included, makes it STRING. Each source is typed on its
own, so one column can come out INT in one source and STRING in another, and
the run then fails minutes later with "Feature had wrong type", naming no file
or row. `SourceTypes` follows the same rules over the rows preflight reads
anyway, and `check_agreement` names the first cell on each side of a clash.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

from core.errors import InputDataError

UNKNOWN, INT, FLOAT, STRING = range(4)
TYPE_NAMES = {INT: "integer", FLOAT: "floating-point", STRING: "text"}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# The shortest decimal integer outside int64 has 19 digits.
_LONG_INTEGER_CHARS = 19


def cell_type(cell: str) -> int:
    """A cell's type by tfx_bsl's rules (`csv_decoder._InferValueType`).

    tfx_bsl parses the cell's UTF-8 bytes, where only ASCII digits count: a
    number written in other digits (e.g. full-width) is text.
    """
    if not cell:
        return UNKNOWN
    if not cell.isascii():
        return STRING
    try:
        return INT if _INT64_MIN <= int(cell) <= _INT64_MAX else STRING
    except ValueError:
        pass
    try:
        float(cell)
    except ValueError:
        return STRING
    return FLOAT


def is_long_integer(cell: str) -> bool:
    """Whether a cell is an integer outside int64 (which CsvExampleGen reads as text)."""
    try:
        return not _INT64_MIN <= int(cell) <= _INT64_MAX
    except ValueError:
        return False


@dataclasses.dataclass(frozen=True)
class Cell:
    """Where a column first took its type."""

    path: str
    line: int
    value: str

    def describe(self) -> str:
        return f"{self.path}, row {self.line}: {self.value[:40]!r}"


class SourceTypes:
    """The inferred type of every column of one source, fed row by row.

    Args:
      header: The source's column names.
    """

    def __init__(self, header: Sequence[str]) -> None:
        self.header = list(header)
        self.types = [UNKNOWN] * len(header)
        self.first: list[Optional[Cell]] = [None] * len(header)
        self._open = list(range(len(header)))  # columns not yet STRING

    def add(self, row: Sequence[str], path: str, line: int) -> None:
        """Raises each column's type to what this row's cells need."""
        closed = False
        for i in self._open:
            cell = row[i]
            if not cell:
                continue
            current = self.types[i]
            if current == FLOAT and len(cell) < _LONG_INTEGER_CHARS and cell.isascii():
                # Most cells of a FLOAT column: only text can raise it further.
                try:
                    float(cell)
                    continue
                except ValueError:
                    found = STRING
            else:
                found = cell_type(cell)
            if found > current:
                self.types[i] = found
                self.first[i] = Cell(path, line, cell)
                closed = closed or found == STRING
        if closed:
            self._open = [i for i in self._open if self.types[i] != STRING]

    def of(self, column: str) -> tuple[int, Optional[Cell]]:
        """(type, the cell that set it) of one column; UNKNOWN if the source lacks it."""
        if column not in self.header:
            return UNKNOWN, None
        i = self.header.index(column)
        return self.types[i], self.first[i]


def _why(cell: Cell) -> str:
    return " (an integer beyond int64 is read as text)" if is_long_integer(cell.value) else ""


def check_agreement(sources: Sequence[tuple[str, SourceTypes]], numeric: Sequence[str]) -> None:
    """Fails if a column's type differs between sources, or a numeric feature is text.

    Args:
      sources: (source name, its column types), in config order.
      numeric: Columns the config declares numeric.

    Raises:
      InputDataError: Naming the column, and the source, file, row and value
        on each side.
    """
    for name, types in sources:
        for column in numeric:
            kind, cell = types.of(column)
            if kind == STRING and cell is not None:
                raise InputDataError(
                    f"column {column!r} is numeric in the config, but source {name} has text "
                    f"in it ({cell.describe()}){_why(cell)}, so CsvExampleGen would read "
                    "the column as text"
                )
    columns = dict.fromkeys(column for _, types in sources for column in types.header)
    for column in columns:
        typed = [(name, *types.of(column)) for name, types in sources]
        known = [(name, kind, cell) for name, kind, cell in typed if kind != UNKNOWN]
        for (name_a, kind_a, cell_a), (name_b, kind_b, cell_b) in zip(
            known[:1] * len(known), known[1:]
        ):
            if kind_a != kind_b:
                raise InputDataError(
                    f"column {column!r} has {TYPE_NAMES[kind_a]} values in source {name_a} "
                    f"({cell_a.describe()}){_why(cell_a)} but {TYPE_NAMES[kind_b]} values in "
                    f"source {name_b} ({cell_b.describe()}){_why(cell_b)}; CsvExampleGen types "
                    "each source on its own and TFX would fail on the mix, so make them agree"
                )
