"""What CleanExamples would remove, counted while the preflight reads the rows: all of them, named first.

A spam list that names every id, or required columns that leave no row
whole, makes CleanExamples remove every row; the run then fails at that step,
tens of seconds in (CleanExamples says so itself, for runs without a
preflight). The preflight reads every row anyway, so it applies CleanExamples'
rules (`components.clean_examples.rules`) to each row as the step will see
it: a missing id or required value quarantines it, and a row whose id,
followed through the id map, is on the spam list is spam. Ids are compared
as CleanExamples reads them (`pipeline.id_map_check.id_text`): each column
is typed by tfx_bsl's rule over its whole source, so a row's id is counted
under each type it could read as, and its source's type chosen at the end.
Merging duplicates keeps one row per person, so it never removes every row.
"""

from __future__ import annotations

import collections
from typing import Optional, Sequence

from components.clean_examples import rules
from core import csv_contract
from core.errors import InputDataError
from pipeline.config import PipelineConfig
from pipeline.id_map_check import id_text

_KINDS = (csv_contract.INT, csv_contract.FLOAT, csv_contract.STRING)
_TEXT_ONLY = (csv_contract.STRING,)
_NUMBER_STARTS = frozenset("0123456789+-.")


class SpamIds:
    """The spam list's ids, gathered file by file as the preflight reads it.

    Args:
      column: The spam list's id column (`cleaning.spam_list.id_column`).
    """

    def __init__(self, column: str) -> None:
        self.column = column
        self.types = csv_contract.ColumnTypes([column])
        self.cells: list[str] = []

    def add(self, header: Sequence[str], row: Sequence[bytes], path: str, line: int) -> None:
        """Keeps one data row's id (a short row has none)."""
        index = header.index(self.column)
        if len(row) > index:
            self.types.add([row[index]], path, line)
            self.cells.append(row[index].decode("utf-8"))

    def ids(self) -> set[str]:
        """The ids as CleanExamples reads them (the column typed as a whole)."""
        as_read = id_text(self.types.types[0])
        return {as_read(cell) for cell in self.cells if cell}


class CleaningPreview:
    """Rows CleanExamples would remove, per source and reason, fed row by row.

    Args:
      config: The validated config (its id key and `cleaning` section).

    Attributes:
      spam: The spam list's ids as CleanExamples reads them (set by the
        preflight's reading of the spam list; empty without one).
      aliases: The id map's alias -> canonical id (empty without one).
    """

    def __init__(self, config: PipelineConfig) -> None:
        self.config = config
        self.spam: set[str] = set()
        self.aliases: dict[str, str] = {}
        self._rows: collections.Counter = collections.Counter()
        self._removed: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self._spam_as: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self._header: dict[str, tuple[Optional[int], list[tuple[str, int]]]] = {}

    def add_row(self, source: str, header: Sequence[str], row: Sequence[str]) -> None:
        """Counts one data row of `source` (cells as text, as many as the header)."""
        if source not in self._header:
            id_key = self.config.id_key
            self._header[source] = (
                header.index(id_key) if id_key else None,
                [(c, header.index(c)) for c in self.config.cleaning.required_columns],
            )
        id_index, required = self._header[source]
        self._rows[source] += 1
        if id_index is not None and not row[id_index]:
            self._removed[source][rules.MISSING_ID] += 1
            return
        missing = [column for column, i in required if not row[i]]
        if missing:
            self._removed[source][rules.MISSING_REQUIRED + missing[0]] += 1
            return
        if id_index is None or not self.spam:
            return
        cell = row[id_index]
        # A cell that cannot start a number reads as text in every column
        # (skipping the numeric readings can only count less spam, never more).
        kinds = _KINDS if cell[0] in _NUMBER_STARTS else _TEXT_ONLY
        for kind in kinds:
            try:
                identifier = id_text(kind)(cell)
            except ValueError:
                continue  # not a cell of a column of this type
            if self.aliases:
                identifier = rules.resolve_alias(identifier, self.aliases)
            if identifier in self.spam:
                self._spam_as[source][kind] += 1

    def removed(self, source: str, id_kind: int) -> dict[str, int]:
        """Rows of `source` CleanExamples would remove, per reason (see `rules`).

        Args:
          source: The source's name.
          id_kind: The type the source's id column took (`csv_contract`).
        """
        removed = dict(self._removed[source])
        kind = id_kind if id_kind in _KINDS else csv_contract.STRING
        if self._spam_as[source][kind]:
            removed[rules.SPAM] = self._spam_as[source][kind]
        return removed

    def check_rows_left(self, id_kinds: dict[str, int]) -> None:
        """Fails if CleanExamples would remove every row of every source.

        Args:
          id_kinds: Source -> the type its id column took (`csv_contract`).

        Raises:
          InputDataError: Naming the step, the rows and the reasons with counts.
        """
        total = sum(self._rows.values())
        removed: collections.Counter = collections.Counter()
        for source in self._rows:
            removed.update(self.removed(source, id_kinds.get(source, csv_contract.STRING)))
        if total and sum(removed.values()) == total:
            raise InputDataError(
                f"{self.config.config_path}: cleaning: CleanExamples would remove all "
                f"{total:,} rows: {rules.describe_removals(removed)}; nothing would be left "
                "to split or train on"
            )
