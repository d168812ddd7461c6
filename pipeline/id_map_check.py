"""The id map checked before any TFX step: aliases with two canonical ids, and cycles.

CleanExamples finds the same problems before its Beam job (it must, for
data that reaches it by another route), in the id map's Examples. Read
here, before any TFX step, the CSV rows are still at hand, so the message
names the file and rows of every link involved. The rules are CleanExamples' own
(`components.clean_examples.rules`), on the ids as CleanExamples sees them:
IdMapGen (a CsvExampleGen) types each column, so in a column of integers
`007` and `7` are one id, and CleanExamples reads every id as text
(`components.common.example_features`). A row whose alias equals its
canonical id, or that lacks either, is no link; one alias may be listed
twice with the same canonical id.
"""

from __future__ import annotations

import dataclasses
import struct
from typing import Callable, Iterable, Sequence

from components.clean_examples import rules
from core.errors import InputDataError
from core import csv_contract


@dataclasses.dataclass(frozen=True)
class Link:
    """One alias -> canonical row of the id map, as CleanExamples will see its ids."""

    alias: str
    canonical: str
    path: str
    line: int

    def where(self) -> str:
        return f"{self.path}, row {self.line}"


def _float32_text(cell: str) -> str:
    # A tf.Example stores floats as float32; CleanExamples prints whole ones as integers.
    value = struct.unpack("f", struct.pack("f", float(cell)))[0]
    return str(int(value)) if value.is_integer() else str(value)


def id_text(kind: int) -> Callable[[str], str]:
    """How a cell of a column of `kind` reads as an id in CleanExamples."""
    if kind == csv_contract.INT:
        return lambda cell: str(int(cell))
    if kind == csv_contract.FLOAT:
        return _float32_text
    return lambda cell: cell


@dataclasses.dataclass
class IdMapRows:
    """The id map's rows, gathered file by file, and the two columns' types.

    Args:
      alias_column: The config's alias column.
      canonical_column: The config's canonical column.
    """

    alias_column: str
    canonical_column: str
    rows: list[tuple[str, str, str, int]] = dataclasses.field(default_factory=list)
    types: csv_contract.ColumnTypes = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.types = csv_contract.ColumnTypes([self.alias_column, self.canonical_column])

    def add(self, header: Sequence[str], row: Sequence[bytes], path: str, line: int) -> None:
        """Keeps one data row's two ids (a short row has none).

        Args:
          header: The file's column names.
          row: The row's cells as the CSV contract reads them (bytes).
          path: The file, for messages.
          line: The line the row starts on.
        """
        alias_index = header.index(self.alias_column)
        canonical_index = header.index(self.canonical_column)
        if len(row) <= max(alias_index, canonical_index):
            return
        pair = [row[alias_index], row[canonical_index]]
        self.types.add(pair, path, line)
        self.rows.append((pair[0].decode("utf-8"), pair[1].decode("utf-8"), path, line))

    def links(self) -> list[Link]:
        """The rows that link two different ids, in file and row order."""
        alias_text = id_text(self.types.types[0])
        canonical_text = id_text(self.types.types[1])
        found = []
        for alias, canonical, path, line in self.rows:
            if not alias or not canonical:
                continue
            alias, canonical = alias_text(alias), canonical_text(canonical)
            if alias != canonical:
                found.append(Link(alias, canonical, path, line))
        return found


def check_links(all_links: Iterable[Link], field: str) -> None:
    """Fails on the first alias with two canonical ids, else on the first cycle.

    Args:
      all_links: Every link of the id map, in file and row order.
      field: The config field naming the id map, for the message.

    Raises:
      InputDataError: Naming the alias, its canonical ids and the rows that
        give them; or the ids of a cycle and the row of each of its links.
    """
    first: dict[str, Link] = {}
    for link in all_links:
        seen = first.setdefault(link.alias, link)
        if seen.canonical != link.canonical:
            raise InputDataError(
                f"{field}: alias {link.alias!r} has two canonical ids: {seen.canonical!r} "
                f"({seen.where()}) and {link.canonical!r} ({link.where()}); "
                "give each alias one canonical id"
            )
    aliases = {alias: link.canonical for alias, link in first.items()}
    for alias in sorted(aliases):
        try:
            rules.resolve_alias(alias, aliases)
        except rules.IdMapError as e:
            rows = "; ".join(f"{a} -> {first[a].canonical} at {first[a].where()}" for a in e.loop)
            raise InputDataError(f"{field}: {e}" + (f" ({rows})" if rows else "")) from None
