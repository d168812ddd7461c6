"""StratifiedSplit's Beam steps (ToUnits, split_units) on TestPipeline.

The bucketed Beam placement must agree exactly with the in-memory reference
`allocation.assign_in_memory`, which sorts every stratum whole.
"""

from __future__ import annotations

import random
import typing
from collections import Counter, defaultdict

import apache_beam as beam
import tensorflow as tf
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import BeamAssertException, assert_that, equal_to

from components.stratified_split import allocation, beam_batches, units
from components.stratified_split.beam_split import ToUnits, split_units
from tests.components.example_bytes import reversed_feature_order
from tests import local_beam

RATIOS = [0.6, 0.2, 0.2]
SEED = 17
# (TestPipeline is imported as BeamTestPipeline so pytest does not try to collect it.)


def split_together(all_units, ratios):
    """split_units with the same PCollection for the histogram and the placement pass."""
    return split_units(all_units, all_units, ratios)


def make_record(index: int, label, source: str, user: int | None = None) -> bytes:
    example = tf.train.Example()
    features = example.features.feature
    features["id"].int64_list.value.append(index)
    if label is not None:
        features["label"].int64_list.value.append(label)
    features["source"].bytes_list.value.append(source.encode())
    if user is not None:
        features["user"].bytes_list.value.append(b"u%03d" % user)
    return example.SerializeToString()


def synthetic_records(n: int = 300, seed: int = 5) -> list[bytes]:
    """`n` examples: labels 0/1/2 (skewed), two sources, a few without a label."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        label = None if i % 50 == 49 else rng.choices([0, 1, 2], weights=[6, 3, 1])[0]
        records.append(make_record(i, label, rng.choice(["web", "mobile"])))
    return records


def expected_pairs(records, stratify_by, ratios):
    """(split, record) pairs from the in-memory reference; unlabeled records at -1."""
    example_units = [units.example_unit(r, "label", stratify_by, SEED) for r in records]
    labelled = [u for u in example_units if u[0] != units.UNLABELED]
    splits = allocation.assign_in_memory([u[:3] for u in labelled], ratios)
    pairs = [(s, u[3][0]) for s, u in zip(splits, labelled)]
    pairs += [(-1, u[3][0]) for u in example_units if u[0] == units.UNLABELED]
    return pairs


def run_example_split(records, stratify_by):
    with BeamTestPipeline(options=local_beam.options()) as pipeline:
        made = (
            pipeline
            | "CreateRecords" >> beam.Create(records)
            | "MakeUnits" >> ToUnits("label", stratify_by, None, SEED)
        )
        pairs = split_together(made, RATIOS) | "ToSplitRecordPairs" >> (
            beam.MapTuple(lambda split, unit: (split, unit[3][0]))
        )
        assert_that(pairs, equal_to(expected_pairs(records, stratify_by, RATIOS)))


def test_to_units_makes_one_unit_per_example_with_its_fingerprint():
    records = synthetic_records(20)
    with BeamTestPipeline(options=local_beam.options()) as pipeline:
        made = pipeline | beam.Create(records) | ToUnits("label", ("source",), None, SEED)
        assert_that(
            made,
            equal_to([units.example_unit(r, "label", ("source",), SEED) for r in records]),
        )
    unit = units.example_unit(records[0], "label", ("source",), SEED)
    assert unit[0].startswith("label=") and "|source=" in unit[0]
    assert unit[2] == b"" and unit[3] == (records[0],)


def test_split_units_equals_in_memory_reference_with_unlabeled_marked():
    run_example_split(synthetic_records(), stratify_by=())


def test_split_units_joint_strata():
    run_example_split(synthetic_records(seed=8), stratify_by=("source",))


def test_split_units_exact_counts_per_stratum():
    records = [make_record(i, 1 if i < 30 else 0, "web") for i in range(100)]
    with BeamTestPipeline(options=local_beam.options()) as pipeline:
        made = pipeline | beam.Create(records) | ToUnits("label", (), None, SEED)
        counted = (
            split_together(made, RATIOS)
            | beam.MapTuple(lambda split, unit: (unit[0], split))
            | beam.combiners.Count.PerElement()
        )
        assert_that(
            counted,
            equal_to(
                [
                    (("label=1", 0), 18),
                    (("label=1", 1), 6),
                    (("label=1", 2), 6),
                    (("label=0", 0), 42),
                    (("label=0", 1), 14),
                    (("label=0", 2), 14),
                ]
            ),
        )


def test_split_units_with_a_second_read_for_the_histogram_pass():
    # The executor counts one read of the input and places another; the two reads
    # may arrive in any order and the result must not change.
    records = synthetic_records(seed=9)
    shuffled = list(records)
    random.Random(1).shuffle(shuffled)
    with BeamTestPipeline(options=local_beam.options()) as pipeline:
        to_place = (
            pipeline
            | "CreateToPlace" >> beam.Create(records)
            | "MakeUnitsToPlace" >> (ToUnits("label", ("source",), None, SEED))
        )
        to_count = (
            pipeline
            | "CreateToCount" >> beam.Create(shuffled)
            | "MakeUnitsToCount" >> (ToUnits("label", ("source",), None, SEED))
        )
        pairs = split_units(to_count, to_place, RATIOS) | beam.MapTuple(
            lambda split, unit: (split, unit[3][0])
        )
        assert_that(pairs, equal_to(expected_pairs(records, ("source",), RATIOS)))


def crowded_units(n: int = 400, seed: int = 2) -> list[units.Unit]:
    """Units whose positions only vary in 2 top and 4 bottom bits: 4 crowded buckets."""
    rng = random.Random(seed)
    made = []
    for i in range(n):
        position = (rng.getrandbits(2) << 62) | rng.getrandbits(4)
        # Records sort opposite to tie-breaks, so ranking must use the tie-break.
        made.append((f"label={i % 3}", position, b"t%04d" % i, (b"record-%04d" % (n - i),)))
    return made


def test_split_units_ranks_straddling_buckets_exactly():
    crowded = crowded_units()
    ratios = [0.5, 0.3, 0.2]
    splits = allocation.assign_in_memory([u[:3] for u in crowded], ratios)
    expected = [(s, u[3][0]) for s, u in zip(splits, crowded)]
    # The case is only interesting if some buckets straddle a threshold.
    histogram = Counter((u[0], allocation.bucket_of(u[1])) for u in crowded)
    plan = allocation.plan_stratum(
        [(b, n) for (s, b), n in histogram.items() if s == "label=0"],
        allocation.exact_ratios(ratios),
    )
    assert len(plan.bucket_split) < len(plan.bucket_start)
    with BeamTestPipeline(options=local_beam.options()) as pipeline:
        made = (
            pipeline
            # Positions are unsigned 64-bit, but Beam infers VarIntCoder (signed) from
            # tuples of ints; ToUnits's output is untyped, so make these untyped too.
            | beam.Create(range(len(crowded)))
            | "MakeCrowdedUnits" >> beam.Map(lambda i: crowded[i]).with_output_types(typing.Any)
        )
        pairs = split_together(made, ratios) | beam.MapTuple(
            lambda split, unit: (split, unit[3][0])
        )
        assert_that(pairs, equal_to(expected))


def test_to_units_and_split_units_with_coarse_buckets(monkeypatch):
    # Four buckets instead of 65,536: nearly every unit lands in a straddling bucket,
    # so units (positions up to 2**64 - 1) go through the straddling GroupByKey.
    monkeypatch.setattr(allocation, "_BUCKET_SHIFT", 62)
    assert allocation.bucket_of(2**64 - 1) == 3
    records = synthetic_records(240, seed=11)
    assert max(units.example_unit(r, "label", (), SEED)[1] for r in records) >= 2**63
    run_example_split(records, stratify_by=("source",))


def grouped_records(seed: int = 4) -> tuple[list[bytes], dict[bytes, str]]:
    """~120 users with 1-5 examples each; a user's examples share its label."""
    rng = random.Random(seed)
    records, user_of = [], {}
    index = 0
    for user in range(120):
        label = rng.choices([0, 1], weights=[7, 3])[0]
        for _ in range(rng.randint(1, 5)):
            record = make_record(index, label, "web", user)
            records.append(record)
            user_of[record] = f"u{user:03d}"
            index += 1
    # Two examples without a user: each is a group of one.
    for extra in range(2):
        record = make_record(index + extra, 1, "web")
        records.append(record)
        user_of[record] = f"none-{extra}"
    return records, user_of


def check_groups(records, user_of, ratios):
    """A matcher: every record placed once, groups whole, placement = in-memory reference."""

    def matcher(placed):
        seen = Counter(r for _, unit in placed for r in unit[3])
        if seen != Counter(records):
            raise BeamAssertException("records were lost or duplicated")
        splits_of_user = defaultdict(set)
        for split, unit in placed:
            for record in unit[3]:
                splits_of_user[user_of[record]].add(split)
        crossing = sorted(u for u, s in splits_of_user.items() if len(s) > 1)
        if crossing:
            raise BeamAssertException(f"groups cross splits: {crossing}")
        group_units = [unit for _, unit in placed]
        if len(group_units) != len(set(user_of.values())):
            raise BeamAssertException(
                f"{len(group_units)} units for {len(set(user_of.values()))} groups"
            )
        reference = allocation.assign_in_memory([u[:3] for u in group_units], ratios)
        if [split for split, _ in placed] != reference:
            raise BeamAssertException("group placement differs from assign_in_memory")
        per_stratum = Counter((unit[0], split) for split, unit in placed)
        exact = allocation.exact_ratios(ratios)
        for stratum, n in Counter(u[0] for u in group_units).items():
            sizes = [per_stratum[stratum, i] for i in range(len(ratios))]
            if sizes != allocation.largest_remainder(n, exact):
                raise BeamAssertException(f"{stratum}: {sizes} groups is not exact for {n}")

    return matcher


def test_group_mode_keeps_groups_together_and_places_groups_exactly():
    records, user_of = grouped_records()
    with BeamTestPipeline(options=local_beam.options()) as pipeline:
        made = pipeline | beam.Create(records) | ToUnits("label", (), "user", SEED)
        placed = split_together(made, RATIOS)
        assert_that(placed, check_groups(records, user_of, RATIOS))


def test_group_mode_with_coarse_buckets(monkeypatch):
    # Four buckets: the group units themselves go through the straddling GroupByKey.
    monkeypatch.setattr(allocation, "_BUCKET_SHIFT", 62)
    records, user_of = grouped_records(seed=6)
    with BeamTestPipeline(options=local_beam.options()) as pipeline:
        made = pipeline | beam.Create(records) | ToUnits("label", (), "user", SEED)
        placed = split_together(made, [0.5, 0.3, 0.2])
        assert_that(placed, check_groups(records, user_of, [0.5, 0.3, 0.2]))


def test_group_unit_takes_the_majority_stratum_and_key_fingerprint():
    records = [
        make_record(1, 1, "web", 7),
        make_record(2, 0, "web", 7),
        make_record(3, 1, "web", 7),
        make_record(4, None, "web", 7),
    ]
    unit = units.group_unit(b"g:u007", records, "label", (), SEED)
    assert unit[0] == "label=1"
    assert unit[2] == b"g:u007"
    assert unit[3] == tuple(sorted(records))
    # A 1-1 tie goes to the smaller stratum name; a group with no label is UNLABELED.
    assert units.group_unit(b"k", records[:2], "label", (), SEED)[0] == "label=0"
    assert units.group_unit(b"k", records[3:], "label", (), SEED)[0] == units.UNLABELED
    # The position depends on the key and seed only, not on the group's records.
    assert unit[1] == units.group_unit(b"g:u007", records[:1], "label", (), SEED)[1]
    assert unit[1] != units.group_unit(b"g:u007", records, "label", (), SEED + 1)[1]


def test_example_position_depends_on_content_not_on_byte_order():
    example = tf.train.Example()
    for name, value in (("a", b"x"), ("label", b"1"), ("source", b"web"), ("z", b"y")):
        example.features.feature[name].bytes_list.value.append(value)
    forward = example.SerializeToString(deterministic=True)
    backward = reversed_feature_order(forward)
    assert forward != backward
    assert tf.train.Example.FromString(backward) == example
    first = units.example_unit(forward, "label", ["source"], seed=5)
    second = units.example_unit(backward, "label", ["source"], seed=5)
    assert first[:3] == second[:3]  # same stratum and position; payload keeps its bytes
    assert second[3] == (backward,)


# --- the batched split of single examples -----------------------------------------------------


def run_batched_split(records, stratify_by, batch_size=37):
    """split_batches on batches of `records` (read twice: in other batches, other order)
    must give the in-memory reference's pairs and count them per (split, stratum)."""
    names = ["train", "dev", "test"]
    to_place = [records[i : i + batch_size] for i in range(0, len(records), batch_size)]
    shuffled = list(records)
    random.Random(3).shuffle(shuffled)
    to_count = [shuffled[i : i + 50] for i in range(0, len(shuffled), 50)]
    expected = expected_pairs(records, stratify_by, RATIOS)
    strata = {r: units.example_unit(r, "label", stratify_by, SEED)[0] for r in records}
    expected_counts = Counter(
        (names[s] if s >= 0 else units.UNLABELED, strata[r]) for s, r in expected
    )
    with BeamTestPipeline(options=local_beam.options()) as pipeline:
        placed, ranked, counted = beam_batches.split_batches(
            pipeline | "CreateToCount" >> beam.Create(to_count),
            pipeline | "CreateToPlace" >> beam.Create(to_place),
            "label",
            stratify_by,
            SEED,
            RATIOS,
            names,
        )
        pairs = (
            placed | "PairsOfBatches" >> beam.FlatMap(lambda p: [(p[0], r) for r in p[1]]),
            ranked | "PairsOfRanked" >> beam.MapTuple(lambda split, unit: (split, unit[3][0])),
        ) | beam.Flatten()
        assert_that(pairs, equal_to(expected), label="CheckPairs")
        ranked_counts = ranked | beam.MapTuple(lambda split, unit: ((names[split], unit[0]), 1))
        totals = (
            (counted, ranked_counts) | "FlattenCounts" >> beam.Flatten() | (beam.CombinePerKey(sum))
        )
        assert_that(totals, equal_to(list(expected_counts.items())), label="CheckCounts")


def test_split_batches_equals_in_memory_reference_with_unlabeled_marked():
    run_batched_split(synthetic_records(), stratify_by=())


def test_split_batches_joint_strata():
    run_batched_split(synthetic_records(seed=8), stratify_by=("source",))


def test_split_batches_exact_counts_per_stratum():
    records = [make_record(i, 1 if i < 30 else 0, "web") for i in range(100)]
    pairs = expected_pairs(records, (), RATIOS)
    per_label = Counter((units.example_unit(r, "label", (), SEED)[0], s) for s, r in pairs)
    assert [per_label["label=1", i] for i in range(3)] == [18, 6, 6]
    run_batched_split(records, stratify_by=(), batch_size=7)


def test_split_batches_with_coarse_buckets_ranks_through_the_straddling_path(monkeypatch):
    # Four buckets: nearly every example is in a straddling bucket and is ranked.
    monkeypatch.setattr(allocation, "_BUCKET_SHIFT", 62)
    run_batched_split(synthetic_records(240, seed=11), stratify_by=("source",))
