"""Rows per split as StratifiedSplit would cut the preflight's counts: an empty split found first.

StratifiedSplit cuts each stratum (the label, jointly with `split.stratify_by`)
exactly, by largest remainders (`components.stratified_split.allocation`),
so a small ratio can give a split no row of any stratum; the step then fails,
minutes into the run. The preflight has counted the rows of every label in
every source, so where the strata are made of those (the label, the source,
the inventory's labelling method) it cuts them here with the step's own
arithmetic. The counts are from before cleaning, which only removes rows;
StratifiedSplit checks the same on the cleaned rows (`check_no_split_empty`).
"""

from __future__ import annotations

from typing import Optional, Sequence

from components.stratified_split.allocation import exact_ratios, largest_remainder
from core.errors import InputDataError
from core.provenance import SOURCE_FEATURE
from pipeline.config import PipelineConfig
from pipeline.inventory import LABELLING_METHOD_FEATURE
from pipeline.preflight import SourceSummary


def strata_rows(
    config: PipelineConfig, sources: Sequence[SourceSummary]
) -> Optional[dict[str, int]]:
    """Rows per stratum, from the preflight's rows per source and label class.

    Returns:
      Stratum (e.g. "label=0|source=web") -> rows; None when the preflight
      cannot know the strata: split by groups (`split.group_by`), or
      stratified by a column other than the source and the labelling method.
    """
    stratify_by = config.split.stratify_by
    known = (SOURCE_FEATURE, LABELLING_METHOD_FEATURE)
    if config.split.group_by or any(key not in known for key in stratify_by):
        return None
    rows: dict[str, int] = {}
    for source in sources:
        tags = {SOURCE_FEATURE: source.name}
        if config.inventory:
            tags[LABELLING_METHOD_FEATURE] = config.inventory[source.name].labelling_method
        parts = [f"{key}={tags[key]}" for key in stratify_by]
        for label, n in source.label_counts.items():
            stratum = "|".join([f"label={label}"] + parts)
            rows[stratum] = rows.get(stratum, 0) + n
    return rows


def split_rows(ratios: Sequence[tuple[str, float]], strata: dict[str, int]) -> dict[str, int]:
    """Rows per split when each stratum is cut exactly at `ratios` (StratifiedSplit's rule)."""
    exact = exact_ratios([ratio for _, ratio in ratios])
    totals = dict.fromkeys((name for name, _ in ratios), 0)
    for n in strata.values():
        for (name, _), size in zip(ratios, largest_remainder(n, exact)):
            totals[name] += size
    return totals


def check_no_split_empty(config: PipelineConfig, sources: Sequence[SourceSummary]) -> None:
    """Fails if a split's ratio gives it no row of any stratum (where the preflight can tell).

    Raises:
      InputDataError: Naming the config field (`split.ratios.<name>`), the
        split, the strata and the largest of them.
    """
    strata = strata_rows(config, sources)
    if not strata:
        return
    for name, rows in split_rows(config.split.ratios, strata).items():
        if rows:
            continue
        ratio = dict(config.split.ratios)[name]
        largest, largest_rows = max(strata.items(), key=lambda kv: (kv[1], kv[0]))
        joint = " x ".join(["label", *config.split.stratify_by])
        raise InputDataError(
            f"{config.config_path}: split.ratios.{name}: {ratio:g} would give the {name} split "
            f"0 of the {sum(strata.values()):,} rows: StratifiedSplit cuts each of the "
            f"{len(strata):,} strata ({joint}) exactly, and not even the largest ({largest}, "
            f"{largest_rows:,} rows) gives it one; raise the ratio"
        )
