"""The id map checked before any TFX step: aliases with two canonical ids, and cycles.

CleanExamples finds the same problems (it must, for data that reaches it by
another route), but only inside its Beam job, tens of seconds into a run.
Read here, the map's rows are still at hand, so the message names the file
and rows of every link involved. The rules are CleanExamples' own
(`components.clean_examples.rules`): a row whose alias equals its canonical
id, or that lacks either, is no link; one alias may be listed twice with the
same canonical id.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Optional, Sequence

from components.clean_examples import rules
from core.errors import InputDataError


@dataclasses.dataclass(frozen=True)
class Link:
    """One alias -> canonical row of the id map."""

    alias: str
    canonical: str
    path: str
    line: int

    def where(self) -> str:
        return f"{self.path}, row {self.line}"


def link_of(
    row: Sequence[str], alias_index: int, canonical_index: int, path: str, line: int
) -> Optional[Link]:
    """The link one id-map row gives, or None (a short row, an empty id, or alias = canonical)."""
    if len(row) <= max(alias_index, canonical_index):
        return None
    alias, canonical = row[alias_index], row[canonical_index]
    if alias and canonical and alias != canonical:
        return Link(alias, canonical, path, line)
    return None


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
            loop = str(e).split(": ", 1)[1].split(" -> ") if "cycle" in str(e) else []
            rows = "; ".join(
                f"{a} -> {first[a].canonical} at {first[a].where()}" for a in loop[:-1]
            )
            raise InputDataError(f"{field}: {e}" + (f" ({rows})" if rows else "")) from None
