"""Pass 1's decisions on removed rows, held as sorted NumPy arrays.

One decision per row fingerprint with a removed row: how many of the rows
with that fingerprint are kept, and why the others go. Spam and merged
duplicates grow with the input, so a dict of them (about 200 bytes an entry,
twice over while it is pickled) would make every worker's memory grow with
the rows; these arrays take 17 bytes an entry, travel as one side input, and
answer a whole batch's look-ups in one `np.searchsorted`.

The merged table reaches pass 2 as a file (`write_removals`), which each
worker process loads once (`load_removals`): Beam passes only its path, so
its side-input cache holds no copy per step that reads it.
"""

from __future__ import annotations

import io
import os
import threading
import weakref
from typing import Iterable, Optional, Sequence

import apache_beam as beam
import numpy as np
from tfx.v1.dsl.io import fileio

from components.clean_examples import rules

# The reasons a decision can carry, by code.
REASONS = (rules.SPAM, rules.DUPLICATE_MERGED)
# (rows kept, rows removed, reason), as `beam_clean.decide_person` yields it.
Decision = tuple[int, int, str]
# (rows kept, reason), what the table keeps of a Decision.
Kept = tuple[int, str]


class Removals:
    """Decisions by row fingerprint: (rows kept, reason the others are removed).

    Args:
      fingerprints: Row fingerprints, sorted, distinct (uint64).
      kept: Rows kept per fingerprint (int64; `beam_clean.TIED` for tied rows).
      reasons: Index into REASONS per fingerprint (uint8).
    """

    __slots__ = ("fingerprints", "kept", "reasons", "__weakref__")

    def __init__(self, fingerprints: np.ndarray, kept: np.ndarray, reasons: np.ndarray) -> None:
        self.fingerprints = fingerprints
        self.kept = kept
        self.reasons = reasons

    @classmethod
    def of(cls, decisions: Iterable[tuple[int, Decision]]) -> "Removals":
        """Packs (fingerprint, (kept, removed, reason)) pairs; fingerprints are distinct.

        Args:
          decisions: What `beam_clean.decide_person` yields for removed rows.

        Returns:
          The table, sorted by fingerprint.

        Raises:
          ValueError: A reason that is not one of REASONS.
        """
        pairs = list(decisions)
        code = {reason: i for i, reason in enumerate(REASONS)}
        for _, (_, _, reason) in pairs:
            if reason not in code:
                raise ValueError(f"no removal reason {reason!r}; known: {', '.join(REASONS)}")
        return cls.merged(
            [
                cls(
                    np.array([fp for fp, _ in pairs], dtype=np.uint64),
                    np.array([d[0] for _, d in pairs], dtype=np.int64),
                    np.array([code[d[2]] for _, d in pairs], dtype=np.uint8),
                )
            ]
        )

    @classmethod
    def merged(cls, parts: Sequence["Removals"]) -> "Removals":
        """One table of several (their fingerprints are disjoint: each row has one person).

        Args:
          parts: Tables, in any order.

        Returns:
          One table sorted by fingerprint (empty for no parts).
        """
        if not parts:
            return cls.of([])
        if len(parts) == 1 and _is_sorted(parts[0].fingerprints):
            return parts[0]
        fingerprints = np.concatenate([p.fingerprints for p in parts]).astype(np.uint64)
        order = np.argsort(fingerprints, kind="stable")
        return cls(
            fingerprints[order],
            np.concatenate([p.kept for p in parts]).astype(np.int64)[order],
            np.concatenate([p.reasons for p in parts]).astype(np.uint8)[order],
        )

    def __len__(self) -> int:
        return len(self.fingerprints)

    def positions(self, fingerprints: Sequence[int]) -> np.ndarray:
        """Where each fingerprint's decision is, in one search for a whole batch.

        Args:
          fingerprints: Row fingerprints (below 2**64).

        Returns:
          Each one's position in the table (int64), or -1 when it has no decision.
        """
        wanted = np.asarray(fingerprints, dtype=np.uint64)
        if not len(self.fingerprints) or not len(wanted):
            return np.full(len(wanted), -1, dtype=np.int64)
        at = np.searchsorted(self.fingerprints, wanted)
        found = at < len(self.fingerprints)
        found[found] = self.fingerprints[at[found]] == wanted[found]
        return np.where(found, at, -1)

    def at(self, position: int) -> Kept:
        """(rows kept, reason) at a position `positions` gave."""
        return int(self.kept[position]), REASONS[int(self.reasons[position])]

    def get(self, fingerprint: int) -> Optional[Kept]:
        """(rows kept, reason) of one row fingerprint, or None without a decision."""
        position = int(self.positions([fingerprint])[0])
        return None if position < 0 else self.at(position)

    def __getitem__(self, fingerprint: int) -> Kept:
        decision = self.get(fingerprint)
        if decision is None:
            raise KeyError(fingerprint)
        return decision


class MergeRemovals(beam.CombineFn):
    """Removals tables (one per shard of people) -> one table; empty for none."""

    def create_accumulator(self) -> list[Removals]:
        return []

    def add_input(self, accumulator: list[Removals], table: Removals) -> list[Removals]:
        accumulator.append(table)
        return accumulator

    def merge_accumulators(self, accumulators: Iterable[list[Removals]]) -> list[Removals]:
        tables = [table for accumulator in accumulators for table in accumulator]
        return [Removals.merged(tables)] if tables else []

    def extract_output(self, accumulator: list[Removals]) -> Removals:
        return Removals.merged(accumulator)


def write_removals(removals: Removals, path: str) -> str:
    """Writes the table as one NumPy archive.

    Args:
      removals: The merged table.
      path: Where (any `fileio` path; its folder must exist).

    Returns:
      `path`, for the steps that wait for the file.
    """
    fileio.makedirs(os.path.dirname(path))
    buffer = io.BytesIO()
    np.savez(
        buffer, fingerprints=removals.fingerprints, kept=removals.kept, reasons=removals.reasons
    )
    with fileio.open(path, "wb") as f:
        f.write(buffer.getvalue())
    return path


# Tables loaded in this process by path, while some step holds them.
_LOADED: "weakref.WeakValueDictionary[str, Removals]" = weakref.WeakValueDictionary()
_LOADING = threading.Lock()


def load_removals(path: Optional[str]) -> Removals:
    """The table `write_removals` stored at `path`, loaded once per process.

    Args:
      path: The file, or None for no decisions (no id column).

    Returns:
      The table, shared with every other holder in this process.

    Raises:
      OSError, ValueError: The file cannot be read as `write_removals` wrote it.
    """
    if path is None:
        return Removals.of([])
    with _LOADING:
        loaded = _LOADED.get(path)
        if loaded is None:
            with fileio.open(path, "rb") as f:
                arrays = np.load(io.BytesIO(f.read()))
            loaded = Removals(arrays["fingerprints"], arrays["kept"], arrays["reasons"])
            _LOADED[path] = loaded
    return loaded


def _is_sorted(values: np.ndarray) -> bool:
    return bool(np.all(values[:-1] <= values[1:]))
