"""The split as Beam transforms: histogram pass, then placement of every unit.

1. Each record becomes a unit (or records are grouped into units by group key).
2. Units are counted per (stratum, bucket) and each stratum's histogram becomes
   a `StratumPlan` (small: at most 2**16 buckets per stratum), a side input.
3. A unit in a bucket wholly inside one split goes there; units in the few
   buckets that straddle a threshold are grouped per bucket, sorted by
   (position, tie-break) and ranked exactly.

No step holds a stratum, let alone the dataset, in one worker's memory: the
placement pass reads the input a second time and streams.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Iterable, Iterator, Mapping, Optional, Sequence

import apache_beam as beam

from components.common.packed_mapping import PackMapping
from components.stratified_split import allocation, units

STRADDLING = "straddling"
UNLABELED_UNITS = "unlabeled"


def _histogram_key(unit: units.Unit) -> tuple[tuple[str, int], int]:
    stratum, position, _, _ = unit
    return (stratum, allocation.bucket_of(position)), 1


def _plan(
    stratum_and_histogram: tuple[str, Iterable[tuple[int, int]]], ratios: Sequence[Fraction]
) -> tuple[str, allocation.StratumPlan]:
    stratum, histogram = stratum_and_histogram
    return stratum, allocation.plan_stratum(histogram, ratios)


class _PlaceUnit(beam.DoFn):
    """Sends a unit to its split, or to the straddling output to be ranked exactly."""

    def process(
        self, unit: units.Unit, plans: Mapping[str, allocation.StratumPlan]
    ) -> Iterator[object]:
        stratum, position, _, _ = unit
        bucket = allocation.bucket_of(position)
        split = plans[stratum].split_of_bucket(bucket)
        if split is None:
            yield beam.pvalue.TaggedOutput(STRADDLING, ((stratum, bucket), unit))
        else:
            yield split, unit


def _rank_straddling_bucket(
    key_and_units: tuple[tuple[str, int], Iterable[units.Unit]],
    plans: Mapping[str, allocation.StratumPlan],
) -> Iterator[tuple[int, units.Unit]]:
    (stratum, bucket), bucket_units = key_and_units
    # Units sort by (position, group key, records); the stratum is the same.
    ordered = sorted(bucket_units, key=units.sort_key)
    splits = plans[stratum].splits_of_sorted_bucket(bucket, len(ordered))
    yield from zip(splits, ordered)


def _split_labelled(unit: units.Unit) -> Iterator[object]:
    stratum, _, _, _ = unit
    if stratum == units.UNLABELED:
        yield beam.pvalue.TaggedOutput(UNLABELED_UNITS, unit)
    else:
        yield unit


@beam.ptransform_fn
def ToUnits(  # noqa: N802 - Beam transform naming
    records: beam.PCollection,
    label_key: str,
    stratify_by: Sequence[str],
    group_by: Optional[str],
    seed: int,
) -> beam.PCollection:
    """Serialized examples -> units (one per example, or one per group)."""
    if not group_by:
        return records | "MakeExampleUnits" >> beam.Map(
            units.example_unit, label_key, stratify_by, seed
        )

    def keyed_by_group(record: bytes) -> tuple[bytes, bytes]:
        key = units.group_key_of(record, group_by)
        # Examples without a group key are groups of one, keyed by their bytes.
        return (b"g:" + key if key is not None else b"r:" + record), record

    return (
        records
        | "KeyByGroup" >> beam.Map(keyed_by_group)
        | "GroupExamples" >> beam.GroupByKey()
        # MapTuple only passes extra arguments to parameters that have defaults.
        | "MakeGroupUnits"
        >> beam.MapTuple(
            lambda key, records: units.group_unit(key, records, label_key, stratify_by, seed)
        )
    )


def stratum_plans(
    labelled_units: beam.PCollection, ratios: Sequence[float], label: str = "Plan"
) -> beam.PCollection:
    """Labelled units -> (stratum, StratumPlan), from per-bucket counts only."""
    counted = labelled_units | f"{label}KeyByStratumBucket" >> beam.Map(_histogram_key)
    return plans_from_bucket_counts(counted, ratios, label)


def plans_from_bucket_counts(
    counted: beam.PCollection, ratios: Sequence[float], label: str = "Plan"
) -> beam.PCollection:
    """((stratum, bucket), n) counts, any number per key -> (stratum, StratumPlan)."""
    exact = allocation.exact_ratios(ratios)
    return (
        counted
        | f"{label}CountPerBucket" >> beam.CombinePerKey(sum)
        | f"{label}KeyByStratum" >> beam.MapTuple(lambda key, n: (key[0], (key[1], n)))
        | f"{label}GatherHistograms" >> beam.GroupByKey()
        | f"{label}PlanStrata" >> beam.Map(_plan, exact)
    )


def place_units_branches(
    labelled_units: beam.PCollection, plans: beam.PCollection
) -> tuple[beam.PCollection, beam.PCollection]:
    """Labelled units -> (placed by bucket, ranked in straddling buckets).

    Both hold (split index, unit). They are kept apart because joining them
    (a Flatten) would make a runner like the in-memory DirectRunner hold every
    bucket-placed unit until the straddling buckets are ranked; consumers write
    each branch on its own and it streams.
    """
    plans_side = beam.pvalue.AsSingleton(plans | "PackPlans" >> PackMapping())
    placed = labelled_units | "PlaceByBucket" >> beam.ParDo(_PlaceUnit(), plans_side).with_outputs(
        STRADDLING, main="placed"
    )
    return placed.placed, rank_straddling(placed[STRADDLING], plans_side)


def rank_straddling(
    straddling: beam.PCollection, plans_side: beam.pvalue.AsSideInput
) -> beam.PCollection:
    """((stratum, bucket), unit) of straddling buckets -> (split index, unit), ranked exactly."""
    return (
        straddling
        | "GroupStraddlingBuckets" >> beam.GroupByKey()
        | "RankStraddlingBuckets" >> beam.FlatMap(_rank_straddling_bucket, plans_side)
    )


def _labelled_only(all_units: beam.PCollection, label: str) -> beam.PCollection:
    return all_units | f"{label}DropUnlabeled" >> beam.Filter(
        lambda u: units.stratum_of_unit(u) != units.UNLABELED
    )


def split_units_branches(
    units_to_count: beam.PCollection,
    units_to_place: beam.PCollection,
    ratios: Sequence[float],
) -> tuple[beam.PCollection, beam.PCollection, beam.PCollection]:
    """Units -> three PCollections of (split index, unit), exact per stratum.

    Args:
      units_to_count: The units, as read for the histogram pass.
      units_to_place: The same units, for the placement pass. Passing a second
        read of the input (rather than the same PCollection) lets a runner
        stream the placement pass instead of holding every unit until the
        histograms are done; group mode passes the same PCollection twice.
      ratios: Split ratios.

    Returns:
      (placed by bucket, ranked in straddling buckets, unlabeled at index -1,
      so the executor counts them and fails with their number): together,
      every unit of `units_to_place` once.
    """
    plans = stratum_plans(_labelled_only(units_to_count, "Count"), ratios)
    separated = units_to_place | "SeparateUnlabeled" >> beam.FlatMap(_split_labelled).with_outputs(
        UNLABELED_UNITS, main="labelled"
    )
    placed, ranked = place_units_branches(separated.labelled, plans)
    unlabeled = separated[UNLABELED_UNITS] | "PlaceUnlabeled" >> beam.Map(lambda u: (-1, u))
    return placed, ranked, unlabeled


def split_units(
    units_to_count: beam.PCollection,
    units_to_place: beam.PCollection,
    ratios: Sequence[float],
) -> beam.PCollection:
    """`split_units_branches`, flattened into one PCollection of (split index, unit)."""
    return (
        split_units_branches(units_to_count, units_to_place, ratios)
        | "FlattenAll" >> beam.Flatten()
    )
