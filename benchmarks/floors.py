"""In-memory pandas/NumPy floors: the same counts as a Beam step, with no pipeline.

A floor loads a benchmark's rows into pandas before its clock starts, then
computes, vectorised and in one process, the counts the Beam step reports. No
serialization, no shuffle, no workers: its time is about the least the step's
per-row work can cost on this machine, so "Beam step / floor" says how much the
pipeline machinery adds. A floor that counted anything else would time
something else, so the benchmarks check that both counted the same.

Nothing here imports TensorFlow or TFX (the rules and the allocation it reuses
are pure Python), so a floor's peak RSS is pandas' and its data's.
"""

from __future__ import annotations

import dataclasses
import glob
import os
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from components.clean_examples import rules
from components.stratified_split import allocation

# CleanExamples' accounting keys the clean floor computes.
CLEAN_KEYS = (
    "rows_in",
    "rows_in_per_source",
    "kept",
    "kept_per_source",
    "removed_per_reason",
    "outcomes_per_source",
    "label_conflicts",
    "spam_ids",
    "spam_ids_not_in_data",
    "id_map_aliases",
)


def read_csvs(folder: str, text_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Every CSV file in `folder`, in name order, as one DataFrame.

    Only empty cells are missing, as CsvExampleGen reads them ("NA" is text).

    Args:
      folder: The folder (the files CsvExampleGen's `*.csv` pattern takes).
      text_columns: Columns kept as text, never parsed as numbers.
    """
    files = sorted(glob.glob(os.path.join(folder, "*.csv")))
    if not files:
        raise FileNotFoundError(f"no CSV file in {folder}")
    frames = [
        pd.read_csv(
            path,
            keep_default_na=False,
            na_values=[""],
            dtype={column: str for column in text_columns},
        )
        for path in files
    ]
    return pd.concat(frames, ignore_index=True)


@dataclasses.dataclass(frozen=True)
class CleanInputs:
    """CleanExamples' inputs in memory.

    Attributes:
      rows: Every source's rows, source after source.
      source: Each row's source, a Categorical whose categories are the sources in order.
      spam_list: The spam list's rows (None without one).
      id_map: The id map's rows (None without one).
    """

    rows: pd.DataFrame
    source: pd.Categorical
    spam_list: Optional[pd.DataFrame]
    id_map: Optional[pd.DataFrame]


def load_clean_inputs(data: str, sources: Sequence[str], options: Mapping[str, Any]) -> CleanInputs:
    """Reads `data`/<source>/, spam_accounts/ and id_map/ as the clean benchmark lays them out.

    Args:
      data: The generated data folder (see `benchmarks.steps.generate_demo_data`).
      sources: The source folders, in the order CleanExamples reads them.
      options: CleanOptions' fields (id columns are read as text).
    """
    frames = [read_csvs(os.path.join(data, s), [options["id_key"]]) for s in sources]
    source = pd.Categorical.from_codes(
        np.repeat(np.arange(len(sources)), [len(f) for f in frames]), categories=list(sources)
    )
    spam_list = id_map = None
    if options.get("has_spam_list"):
        spam_list = read_csvs(os.path.join(data, "spam_accounts"), [options["spam_id_column"]])
    if options.get("has_id_map"):
        id_map = read_csvs(
            os.path.join(data, "id_map"), [options["alias_column"], options["canonical_column"]]
        )
    return CleanInputs(pd.concat(frames, ignore_index=True), source, spam_list, id_map)


def quarantine_reasons(rows: pd.DataFrame, options: Mapping[str, Any]) -> np.ndarray:
    """Each row's quarantine reason ("" for a valid row), as `rules.quarantine_reason`.

    A missing id first, then the first missing required column in config
    order. The reasons CSV rows cannot have are left out: a cell holds one value
    (no `multiple_ids`), and CleanExamples refuses a reserved column before it
    starts.
    """
    conditions, reasons = [], []
    if options.get("id_key"):
        conditions.append(rows[options["id_key"]].isna().to_numpy())
        reasons.append(rules.MISSING_ID)
    for column in options.get("required_columns", ()):
        conditions.append(rows[column].isna().to_numpy())
        reasons.append(rules.MISSING_REQUIRED + column)
    if not conditions:
        return np.full(len(rows), "", dtype=object)
    return np.select(conditions, reasons, default="").astype(object)


def resolved_aliases(id_map: pd.DataFrame, alias_column: str, canonical_column: str) -> pd.Series:
    """Alias -> the canonical id its chain of links ends at (`rules.resolve_alias`).

    Each round follows one more link for every alias at once.

    Raises:
      ValueError: An alias with several canonical ids, a cycle, or a chain
        longer than `rules.MAX_ALIAS_HOPS` (CleanExamples fails on these too).
    """
    pairs = id_map[[alias_column, canonical_column]].dropna()
    pairs = pairs[pairs[alias_column] != pairs[canonical_column]].drop_duplicates()
    if pairs[alias_column].duplicated().any():
        raise ValueError("the id map maps an alias to several canonical ids")
    links = pd.Series(pairs[canonical_column].to_numpy(), index=pairs[alias_column].to_numpy())
    resolved = links
    for _ in range(rules.MAX_ALIAS_HOPS):
        further = resolved.map(links)
        if further.isna().all():
            return resolved
        resolved = further.fillna(resolved)
    raise ValueError("the id map has a cycle or a chain longer than rules.MAX_ALIAS_HOPS")


def canonical_ids(ids: pd.Series, aliases: pd.Series) -> pd.Series:
    """Each id's canonical id: its alias' target, or itself when it is no alias."""
    if aliases.empty:
        return ids
    return ids.map(aliases).fillna(ids)


def latest_per_person(
    person: np.ndarray, timestamp: np.ndarray, source_rank: np.ndarray
) -> np.ndarray:
    """Marks the row kept of each person's rows, as `rules.best_candidates` picks it.

    The most recent timestamp wins (a missing one is oldest), then the best
    source rank. Rows still tied are equally recent and of the same source, so
    whichever of them is marked, the counts per source and reason are the
    same as CleanExamples' (which settles them by content).

    Args:
      person: Each row's person, as integer codes.
      timestamp: Each row's recency (NaN when missing).
      source_rank: Each row's source rank (lower wins).

    Returns:
      True for the one row kept per person.
    """
    recency = np.where(np.isnan(timestamp), np.inf, -timestamp)
    order = np.lexsort((source_rank, recency, person))
    ordered = person[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    kept = np.empty(len(order), dtype=bool)
    kept[order] = first
    return kept


def source_ranks(sources: Sequence[str], source_priority: Sequence[str]) -> np.ndarray:
    """Each source's rank for breaking recency ties: its place in `source_priority`,
    unlisted sources after the listed ones, by name (as `rules.best_candidates`)."""
    unlisted = sorted(s for s in sources if s not in source_priority)
    rank = {s: i for i, s in enumerate([*source_priority, *unlisted])}
    return np.array([rank[s] for s in sources])


def _nested_counts(source: pd.Categorical, outcome: np.ndarray) -> dict[str, dict[str, int]]:
    """Source -> outcome -> rows, outcomes with no row left out; every source present."""
    table = pd.DataFrame({"source": source, "outcome": outcome}).value_counts(sort=False)
    nested: dict[str, dict[str, int]] = {str(s): {} for s in source.categories}
    for (name, reason), n in table.items():
        if n:
            nested[str(name)][str(reason)] = int(n)
    return nested


def clean_accounting(inputs: CleanInputs, options: Mapping[str, Any]) -> dict[str, Any]:
    """CleanExamples' accounting (the `CLEAN_KEYS` of it), computed in memory.

    Quarantine, alias resolution, spam removal by canonical id and one row kept
    per person (`latest_per_person`), as `beam_clean` decides them.

    Args:
      inputs: The rows, spam list and id map (`load_clean_inputs`).
      options: CleanOptions' fields; an id column is needed, label classes
        are not checked (the benchmark has none).

    Raises:
      ValueError: Options the floor does not apply, or an inconsistent id map.
    """
    if not options.get("id_key") or options.get("label_classes"):
        raise ValueError("the clean floor needs an id_key and applies no label_classes")
    rows, source = inputs.rows, inputs.source
    outcome = quarantine_reasons(rows, options)
    valid = outcome == ""
    aliases = pd.Series(dtype=object)
    if inputs.id_map is not None:
        aliases = resolved_aliases(
            inputs.id_map, options["alias_column"], options["canonical_column"]
        )
    canonical = canonical_ids(rows[options["id_key"]][valid], aliases)
    person, people = pd.factorize(canonical)
    spam = pd.Index([])
    if inputs.spam_list is not None:
        spam = pd.Index(
            canonical_ids(inputs.spam_list[options["spam_id_column"]].dropna(), aliases).unique()
        )
    is_spam = canonical.isin(spam).to_numpy()
    latest = options.get("keep_latest_by")
    timestamp = (
        pd.to_numeric(rows[latest][valid], errors="coerce").to_numpy(dtype=float)
        if latest
        else np.zeros(len(person))
    )
    valid_source = np.asarray(source.codes)[valid]
    rank = source_ranks(list(source.categories), options.get("source_priority", ()))
    kept = latest_per_person(person, timestamp, rank[valid_source])
    outcome[valid] = np.where(
        is_spam, rules.SPAM, np.where(kept, rules.KEPT, rules.DUPLICATE_MERGED)
    )
    label_conflicts = 0
    if options.get("label"):
        merged = ~is_spam
        distinct = (
            rows[options["label"]][valid][merged].groupby(person[merged]).nunique(dropna=True)
        )
        label_conflicts = int((distinct > 1).sum())
    per_source = _nested_counts(source, outcome)
    removed: dict[str, int] = {}
    for by_outcome in per_source.values():
        for reason, n in by_outcome.items():
            if reason != rules.KEPT:
                removed[reason] = removed.get(reason, 0) + n
    rows_in = {s: sum(v.values()) for s, v in per_source.items()}
    kept_per_source = {s: v.get(rules.KEPT, 0) for s, v in per_source.items()}
    has_spam_list = inputs.spam_list is not None
    return {
        "rows_in": len(rows),
        "rows_in_per_source": rows_in,
        "kept": sum(kept_per_source.values()),
        "kept_per_source": kept_per_source,
        "removed_per_reason": dict(sorted(removed.items())),
        "outcomes_per_source": per_source,
        "label_conflicts": label_conflicts,
        "spam_ids": len(spam) if has_spam_list else None,
        "spam_ids_not_in_data": int((~spam.isin(people)).sum()) if has_spam_list else None,
        "id_map_aliases": len(aliases) if inputs.id_map is not None else None,
    }


def seeded_positions(rows: pd.DataFrame, seed: int) -> np.ndarray:
    """A seeded 64-bit hash of each row's values (pandas' SipHash of every column)."""
    return pd.util.hash_pandas_object(rows, index=False, hash_key=f"{seed:016x}").to_numpy()


def stratified_split_counts(
    rows: pd.DataFrame, label: str, ratios: Sequence[tuple[str, float]], seed: int
) -> dict[str, dict[str, int]]:
    """StratifiedSplit's `split_counts`, computed in memory the way it splits.

    Each row gets a seeded position (`seeded_positions`); rows are ranked by
    position within their stratum (the label's value), and each stratum is cut
    at StratifiedSplit's own sizes (`allocation.largest_remainder`). Each row's
    split is found; the counts are taken from those.

    Args:
      rows: The rows, the label column as text: its CSV cells, which name the
        strata as StratifiedSplit does for an integer or text label.
      label: The label column: strata are its values (no stratify_by).
      ratios: Ordered (split name, ratio) pairs.
      seed: Chooses the positions.

    Returns:
      Split -> "label=<class>" -> rows, every split present and strata with
      no row in a split left out (StratifiedSplit's JSON).

    Raises:
      ValueError: A row has no label (StratifiedSplit fails on it too).
    """
    labels = rows[label]
    if labels.isna().any():
        raise ValueError(f"{int(labels.isna().sum())} rows have no value for label {label!r}")
    stratum, classes = pd.factorize(labels, sort=True)
    order = np.lexsort((seeded_positions(rows, seed), stratum))
    ordered = stratum[order]
    sizes = np.bincount(stratum, minlength=len(classes))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.arange(len(order)) - starts[ordered]
    exact = allocation.exact_ratios([r for _, r in ratios])
    cumulative = np.array(
        [allocation.thresholds(allocation.largest_remainder(int(n), exact)) for n in sizes]
    ).reshape(len(classes), len(ratios))
    split = np.empty(len(order), dtype=np.int64)
    split[order] = (rank[:, None] >= cumulative[ordered]).sum(axis=1)
    counts = np.bincount(stratum * len(ratios) + split, minlength=len(classes) * len(ratios))
    counts = counts.reshape(len(classes), len(ratios))
    return {
        name: {f"label={c}": int(counts[s, j]) for s, c in enumerate(classes) if counts[s, j]}
        for j, (name, _) in enumerate(ratios)
    }
