"""The split of single examples (no group key) on batches of records.

The same placement as `beam_split` (histogram pass, plans, bucket placement,
exact ranking of straddling buckets), with the per-example work done inside
one DoFn call per batch (a list of serialized records, see
`examples_io.read_split_batches`):

- the histogram pass turns a batch into its (stratum, bucket) counts, so only
  a few counts per batch reach the combiner;
- the placement pass turns a batch into one list of records per split, counts
  them per (split, stratum) as it goes, and sends on only the units of
  straddling buckets (a tiny share) one by one, to be ranked exactly.

Positions, strata, plans and ranking are `units` and `allocation`'s, so a
record lands in the same split as through `beam_split.split_units`.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterator, Mapping, Sequence

import apache_beam as beam

from components.common import counts
from components.common.packed_mapping import PackMapping
from components.stratified_split import allocation, beam_split, units


def bucket_counts(
    records: list[bytes], label_key: str, stratify_by: Sequence[str], seed: int
) -> Iterator[tuple[tuple[str, int], int]]:
    """((stratum, bucket), n) for one batch's labelled examples."""
    counted: Counter = Counter()
    for stratum, position in units.batch_strata_and_positions(
        records, label_key, stratify_by, seed
    ):
        if stratum != units.UNLABELED:
            counted[stratum, allocation.bucket_of(position)] += 1
    yield from counted.items()


class PlaceBatch(beam.DoFn):
    """A batch of records -> (split index, [records]) per split it reaches.

    Unlabeled examples get index -1: counted, never written. Units in straddling buckets leave on
    `beam_split.STRADDLING` as ((stratum, bucket), unit). The records placed
    here are counted per (split name, stratum) on `counts.COUNTS` at the end
    of each bundle.
    """

    def __init__(
        self,
        label_key: str,
        stratify_by: Sequence[str],
        seed: int,
        split_names: Sequence[str],
    ) -> None:
        self._label_key = label_key
        self._stratify_by = tuple(stratify_by)
        self._seed = seed
        self._split_names = tuple(split_names)
        self._counter = counts.BundleCounter()

    def start_bundle(self) -> None:
        self._counter = counts.BundleCounter()

    def process(
        self, records: list[bytes], plans: Mapping[str, allocation.StratumPlan]
    ) -> Iterator[object]:
        per_split: dict[int, list[bytes]] = {}
        placed: Counter = Counter()
        placements = units.batch_strata_and_positions(
            records, self._label_key, self._stratify_by, self._seed
        )
        for record, (stratum, position) in zip(records, placements):
            if stratum == units.UNLABELED:
                index = -1
            else:
                bucket = allocation.bucket_of(position)
                index = plans[stratum].split_of_bucket(bucket)
                if index is None:
                    unit = (stratum, position, b"", (record,))
                    yield beam.pvalue.TaggedOutput(beam_split.STRADDLING, ((stratum, bucket), unit))
                    continue
            per_split.setdefault(index, []).append(record)
            placed[index, stratum] += 1
        for (index, stratum), n in placed.items():
            self._counter.add((self._split_name(index), stratum), n)
        yield from per_split.items()

    def finish_bundle(self) -> Iterator[beam.pvalue.TaggedOutput]:
        yield from self._counter.emit()

    def _split_name(self, index: int) -> str:
        return self._split_names[index] if index >= 0 else units.UNLABELED


def split_batches(
    batches_to_count: beam.PCollection,
    batches_to_place: beam.PCollection,
    label_key: str,
    stratify_by: Sequence[str],
    seed: int,
    ratios: Sequence[float],
    split_names: Sequence[str],
) -> tuple[beam.PCollection, beam.PCollection, beam.PCollection]:
    """Batches of records -> (placed batches, ranked units, placement counts).

    Args:
      batches_to_count: The records, as read for the histogram pass.
      batches_to_place: The same records from a second read, so a runner can
        stream the placement pass (see `beam_split.split_units_branches`).
      label_key, stratify_by, seed: As for `units.example_unit`.
      ratios: Split ratios.
      split_names: The output split names, by index.

    Returns:
      (split index, [records]) per batch and split; (split index, unit) per
      unit of a straddling bucket, ranked exactly; and ((split name, stratum),
      n) counts of the placed batches. Together, every record once.
    """
    counted = batches_to_count | "CountPerBucketInBatch" >> beam.FlatMap(
        bucket_counts, label_key, stratify_by, seed
    )
    plans = beam_split.plans_from_bucket_counts(counted, ratios)
    plans_side = beam.pvalue.AsSingleton(plans | "PackPlans" >> PackMapping())
    placed = batches_to_place | "PlaceBatches" >> beam.ParDo(
        PlaceBatch(label_key, stratify_by, seed, split_names), plans_side
    ).with_outputs(beam_split.STRADDLING, counts.COUNTS, main="placed")
    ranked = beam_split.rank_straddling(placed[beam_split.STRADDLING], plans_side)
    return placed.placed, ranked, placed[counts.COUNTS]
