"""StratifiedSplit's split arithmetic: exact sizes, rank thresholds, bucketed placement.

Pure functions only (no Beam, no TensorFlow). The property tests check the two
promises the Beam path relies on: sizes are the largest-remainder rounding of
n * ratio, and placing units bucket by bucket (histogram plans plus exact
ranking of straddling buckets) gives exactly the membership of sorting each
stratum whole (`assign_in_memory`).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.model_selection import train_test_split

from components.stratified_split import allocation
from components.stratified_split.allocation import (
    assign_in_memory,
    bucket_of,
    exact_ratios,
    largest_remainder,
    plan_stratum,
    split_of_rank,
    thresholds,
)

SIXTY_TWENTY_TWENTY = [0.6, 0.2, 0.2]
F = Fraction
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def place_bucketed(units, ratios):
    """Simulates beam_split.PlaceUnits: histograms -> plans -> per-bucket placement.

    Only the per-(stratum, bucket) counts are used to plan, then each unit is
    placed from its bucket alone, or, in a straddling bucket, from its rank among
    that bucket's units sorted by (position, tie-break).
    """
    exact = exact_ratios(ratios)
    histograms: dict[str, Counter] = defaultdict(Counter)
    for stratum, position, _ in units:
        histograms[stratum][bucket_of(position)] += 1
    plans = {s: plan_stratum(h.items(), exact) for s, h in histograms.items()}
    result = [None] * len(units)
    straddling: dict[tuple[str, int], list[int]] = defaultdict(list)
    for index, (stratum, position, _) in enumerate(units):
        bucket = bucket_of(position)
        split = plans[stratum].split_of_bucket(bucket)
        if split is None:
            straddling[(stratum, bucket)].append(index)
        else:
            result[index] = split
    for (stratum, bucket), indices in straddling.items():
        ordered = sorted(indices, key=lambda i: (units[i][1], units[i][2]))
        splits = plans[stratum].splits_of_sorted_bucket(bucket, len(ordered))
        for index, split in zip(ordered, splits):
            result[index] = split
    return result, plans, len(straddling)


def is_largest_remainder(n, ratios, sizes):
    """True if `sizes` is the largest-remainder rounding of n * ratios (ties to earlier).

    Checked from the definition rather than by recomputing: every size is the
    floor or the floor + 1 of its quota, they sum to n, and every split rounded up
    has a larger remainder than every split rounded down (or an equal one and an
    earlier index).
    """
    quotas = [n * r for r in ratios]
    floors = [q.numerator // q.denominator for q in quotas]
    if sum(sizes) != n or any(s - f not in (0, 1) for s, f in zip(sizes, floors)):
        return False
    up = [i for i, (s, f) in enumerate(zip(sizes, floors)) if s > f]
    down = [i for i, (s, f) in enumerate(zip(sizes, floors)) if s == f]
    remainder = [q - f for q, f in zip(quotas, floors)]
    return all(
        remainder[i] > remainder[j] or (remainder[i] == remainder[j] and i < j)
        for i in up
        for j in down
    )


# --- exact_ratios --------------------------------------------------------------------------


def test_exact_ratios_takes_floats_at_their_decimal_value():
    assert exact_ratios(SIXTY_TWENTY_TWENTY) == [F(3, 5), F(1, 5), F(1, 5)]
    # 0.1 + 0.2 is 0.30000000000000004 in floats; the exact ratios still sum to 1.
    assert exact_ratios([0.1, 0.2, 0.7]) == [F(1, 10), F(1, 5), F(7, 10)]
    assert sum(exact_ratios([0.1, 0.2, 0.7])) == 1


def test_exact_ratios_normalizes_to_sum_to_one():
    assert exact_ratios([2, 1, 1]) == [F(1, 2), F(1, 4), F(1, 4)]
    assert exact_ratios([3.0, 1.0]) == [F(3, 4), F(1, 4)]
    # Three floats of 1/3 sum to 0.9999999999999999; normalized they are exactly 1/3.
    assert exact_ratios([1 / 3] * 3) == [F(1, 3)] * 3


@pytest.mark.parametrize(
    "ratios, message",
    [
        ([1.0], r"at least two split ratios are needed, got \[1.0\]"),
        ([], r"at least two split ratios are needed, got \[\]"),
        ([0.5, 0.0, 0.5], r"split ratios must all be > 0, got \[0.5, 0.0, 0.5\]"),
        ([1.2, -0.2], r"split ratios must all be > 0, got \[1.2, -0.2\]"),
    ],
)
def test_exact_ratios_rejects_bad_ratios(ratios, message):
    with pytest.raises(ValueError, match=message):
        exact_ratios(ratios)


# --- largest_remainder ---------------------------------------------------------------------


def test_largest_remainder_of_the_issue_example():
    exact = exact_ratios(SIXTY_TWENTY_TWENTY)
    assert largest_remainder(30, exact) == [18, 6, 6]  # positives
    assert largest_remainder(70, exact) == [42, 14, 14]  # negatives
    assert largest_remainder(100, exact) == [60, 20, 20]


@pytest.mark.parametrize(
    "n, ratios, expected",
    [
        (0, SIXTY_TWENTY_TWENTY, [0, 0, 0]),
        (1, SIXTY_TWENTY_TWENTY, [1, 0, 0]),  # quotas .6/.2/.2: the largest remainder
        (2, SIXTY_TWENTY_TWENTY, [1, 1, 0]),  # 1.2/.4/.4: the tie goes to the earlier split
        (3, SIXTY_TWENTY_TWENTY, [2, 1, 0]),  # 1.8/.6/.6
        (4, SIXTY_TWENTY_TWENTY, [2, 1, 1]),  # 2.4/.8/.8
        (7, [0.5, 0.5], [4, 3]),  # 3.5/3.5
        (10, [1 / 3, 1 / 3, 1 / 3], [4, 3, 3]),
        (5, [0.7, 0.2, 0.1], [4, 1, 0]),  # 3.5/1/.5: tie between splits 0 and 2
        (11, [0.25, 0.25, 0.25, 0.25], [3, 3, 3, 2]),
        # Float arithmetic would break these ties the wrong way (14 * 0.6 = 8.399..):
        (14, [0.1, 0.3, 0.6], [2, 4, 8]),  # 1.4/4.2/8.4
        (2, [0.1, 0.7, 0.2], [0, 2, 0]),  # .2/1.4/.4
        (4, [0.2, 0.15, 0.65], [1, 1, 2]),  # .8/.6/2.6
    ],
)
def test_largest_remainder_hand_checked(n, ratios, expected):
    assert largest_remainder(n, exact_ratios(ratios)) == expected


def test_largest_remainder_ties_go_to_the_earlier_split():
    halves = exact_ratios([0.5, 0.5])
    assert [largest_remainder(n, halves) for n in range(1, 6)] == [
        [1, 0],
        [1, 1],
        [2, 1],
        [2, 2],
        [3, 2],
    ]
    quarters = exact_ratios([0.25] * 4)
    assert largest_remainder(1, quarters) == [1, 0, 0, 0]
    assert largest_remainder(2, quarters) == [1, 1, 0, 0]
    assert largest_remainder(3, quarters) == [1, 1, 1, 0]


@given(
    n=st.integers(min_value=0, max_value=10_000),
    weights=st.lists(st.integers(min_value=1, max_value=50), min_size=2, max_size=5),
)
@PROPERTY_SETTINGS
def test_largest_remainder_is_exact_and_sums_to_n(n, weights):
    exact = exact_ratios([w / sum(weights) for w in weights])
    sizes = largest_remainder(n, exact)
    assert sum(sizes) == n
    assert all(abs(s - n * r) < 1 for s, r in zip(sizes, exact))
    assert is_largest_remainder(n, exact, sizes)


# --- thresholds / split_of_rank / bucket_of ----------------------------------------------


def test_thresholds_and_split_of_rank():
    cumulative = thresholds([18, 6, 6])
    assert cumulative == [18, 24, 30]
    assert [split_of_rank(r, cumulative) for r in (0, 17, 18, 23, 24, 29)] == [0, 0, 1, 1, 2, 2]
    assert thresholds([]) == []


def test_split_of_rank_skips_empty_splits():
    cumulative = thresholds([0, 2, 0, 1])
    assert cumulative == [0, 2, 2, 3]
    assert [split_of_rank(r, cumulative) for r in range(3)] == [1, 1, 3]
    # The tiny-stratum case: 2 units in 60/20/20 go to train and dev, none to test.
    tiny = thresholds(largest_remainder(2, exact_ratios(SIXTY_TWENTY_TWENTY)))
    assert [split_of_rank(r, tiny) for r in range(2)] == [0, 1]


def test_bucket_of_takes_the_top_sixteen_bits():
    assert allocation.BUCKET_BITS == 16
    assert bucket_of(0) == 0
    assert bucket_of(2**48 - 1) == 0
    assert bucket_of(2**48) == 1
    assert bucket_of(2**64 - 1) == 2**16 - 1


# --- plan_stratum --------------------------------------------------------------------------


def test_plan_stratum_sends_whole_buckets_and_ranks_straddling_ones():
    # 30 units in three buckets of 10: ranks 0-9, 10-19, 20-29; thresholds 18, 24, 30.
    histogram = [(12, 10), (5, 4), (9, 10), (5, 6)]  # unsorted, bucket 5 repeated
    plan = plan_stratum(histogram, exact_ratios(SIXTY_TWENTY_TWENTY))
    assert plan.sizes == (18, 6, 6)
    assert plan.cumulative == (18, 24, 30)
    assert plan.total == 30
    assert dict(plan.bucket_start) == {5: 0, 9: 10, 12: 20}
    assert dict(plan.bucket_split) == {5: 0}
    assert plan.split_of_bucket(5) == 0
    assert plan.split_of_bucket(9) is None
    assert plan.split_of_bucket(12) is None
    assert plan.splits_of_sorted_bucket(9, 10) == [0] * 8 + [1] * 2
    assert plan.splits_of_sorted_bucket(12, 10) == [1] * 4 + [2] * 6


def test_plan_stratum_with_empty_splits():
    exact = exact_ratios(SIXTY_TWENTY_TWENTY)
    one = plan_stratum([(7, 1)], exact)
    assert (one.sizes, dict(one.bucket_split)) == ((1, 0, 0), {7: 0})
    two_in_one_bucket = plan_stratum([(7, 2)], exact)
    assert two_in_one_bucket.sizes == (1, 1, 0)
    assert two_in_one_bucket.split_of_bucket(7) is None
    assert two_in_one_bucket.splits_of_sorted_bucket(7, 2) == [0, 1]
    # Sizes 2/0/2: a bucket spanning ranks 1-2 straddles train and test, skipping dev.
    halves_and_none = [F(1, 2), F(1, 1_000_000), F(1, 2) - F(1, 1_000_000)]
    plan = plan_stratum([(1, 1), (2, 2), (3, 1)], halves_and_none)
    assert plan.sizes == (2, 0, 2)
    assert dict(plan.bucket_split) == {1: 0, 3: 2}
    assert plan.splits_of_sorted_bucket(2, 2) == [0, 2]


def test_plan_stratum_of_an_empty_histogram():
    plan = plan_stratum([], exact_ratios([0.5, 0.5]))
    assert (plan.sizes, plan.total, dict(plan.bucket_start)) == ((0, 0), 0, {})


# --- assign_in_memory ----------------------------------------------------------------------


def test_assign_in_memory_orders_by_position_then_tiebreak():
    units = [
        ("a", 50, b"x"),
        ("a", 10, b"z"),
        ("b", 5, b"q"),
        ("a", 10, b"y"),  # same position as the second unit: b"y" < b"z" ranks first
        ("a", 99, b"w"),
        ("b", 1, b"p"),
    ]
    # Stratum a (4 units, 60/20/20 -> 2/1/1): ranks 10y, 10z | 50x | 99w.
    # Stratum b (2 units -> 1/1/0): ranks 1p | 5q.
    assert assign_in_memory(units, SIXTY_TWENTY_TWENTY) == [1, 0, 1, 0, 2, 0]


def test_assign_in_memory_of_the_issue_example_counts():
    rng = random.Random(3)
    units = [("pos" if i < 30 else "neg", rng.getrandbits(64), b"%d" % i) for i in range(100)]
    splits = assign_in_memory(units, SIXTY_TWENTY_TWENTY)
    counts = Counter((u[0], s) for u, s in zip(units, splits))
    assert [counts["pos", s] for s in range(3)] == [18, 6, 6]
    assert [counts["neg", s] for s in range(3)] == [42, 14, 14]


def test_plan_stratum_agrees_with_assign_in_memory_on_a_crowded_bucket():
    # 40 units, all in bucket 3, positions colliding: everything is ranked exactly.
    units = [("s", (3 << 48) | (i % 5), b"%02d" % i) for i in range(40)]
    placed, plans, straddling = place_bucketed(units, SIXTY_TWENTY_TWENTY)
    assert straddling == 1
    assert plans["s"].sizes == (24, 8, 8)
    assert placed == assign_in_memory(units, SIXTY_TWENTY_TWENTY)


# --- properties over random strata, ratios and seeds ---------------------------------------


@st.composite
def split_problems(draw):
    """Random class counts, 2-5 split ratios and unit positions.

    Positions are either full 64-bit draws (almost one unit per bucket) or only
    vary in a few top and bottom bits, so many units share a bucket (and some a
    position, decided by the tie-break), which makes buckets straddle thresholds.
    """
    class_counts = draw(st.lists(st.integers(0, 60), min_size=1, max_size=4))
    weights = draw(st.lists(st.integers(1, 20), min_size=2, max_size=5))
    seed = draw(st.integers(0, 2**32 - 1))
    crowded = draw(st.booleans())
    rng = random.Random(seed)
    units = []
    for label, count in enumerate(class_counts):
        for _ in range(count):
            if crowded:
                position = (rng.getrandbits(2) << 62) | rng.getrandbits(3)
            else:
                position = rng.getrandbits(64)
            units.append((f"label={label}", position, b"unit-%06d" % len(units)))
    ratios = [w / sum(weights) for w in weights]
    return units, ratios, seed


@given(split_problems())
@PROPERTY_SETTINGS
def test_property_sizes_are_largest_remainder_and_sum_to_n(problem):
    units, ratios, _ = problem
    exact = exact_ratios(ratios)
    _, plans, _ = place_bucketed(units, ratios)
    splits = assign_in_memory(units, ratios)
    per_stratum = Counter(u[0] for u in units)
    for stratum, n in per_stratum.items():
        sizes = list(plans[stratum].sizes)
        assert sizes == largest_remainder(n, exact)
        assert sum(sizes) == n
        assert is_largest_remainder(n, exact, sizes)
        placed = Counter(s for u, s in zip(units, splits) if u[0] == stratum)
        assert [placed[i] for i in range(len(ratios))] == sizes


@given(split_problems())
@PROPERTY_SETTINGS
def test_property_bucketed_placement_equals_in_memory(problem):
    units, ratios, _ = problem
    placed, _, _ = place_bucketed(units, ratios)
    assert placed == assign_in_memory(units, ratios)


def test_crowded_positions_do_exercise_straddling_buckets():
    # Guards the property above: the crowded draws really hit the exact-ranking path.
    rng = random.Random(0)
    units = [
        (f"label={i % 2}", (rng.getrandbits(2) << 62) | rng.getrandbits(3), b"%d" % i)
        for i in range(101)
    ]
    placed, plans, straddling = place_bucketed(units, [0.5, 0.3, 0.2])
    assert straddling >= 2
    assert any(len(p.bucket_split) < len(p.bucket_start) for p in plans.values())
    assert placed == assign_in_memory(units, [0.5, 0.3, 0.2])


@given(split_problems(), st.randoms(use_true_random=False))
@PROPERTY_SETTINGS
def test_property_membership_does_not_depend_on_input_order(problem, rng):
    units, ratios, _ = problem
    membership = dict(zip((u[2] for u in units), assign_in_memory(units, ratios)))
    shuffled = list(units)
    rng.shuffle(shuffled)
    assert dict(zip((u[2] for u in shuffled), assign_in_memory(shuffled, ratios))) == membership
    bucketed, _, _ = place_bucketed(shuffled, ratios)
    assert dict(zip((u[2] for u in shuffled), bucketed)) == membership


# --- against scikit-learn's stratified train_test_split ------------------------------------


def sklearn_three_way_counts(class_counts, seed):
    """Per-class train/dev/test counts of a two-stage sklearn split (60/20/20)."""
    y = np.concatenate([[c] * n for c, n in enumerate(class_counts)])
    rest, test = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=seed)
    train, dev = train_test_split(rest, test_size=0.25, stratify=y[rest], random_state=seed)
    return [
        [int(np.sum(y[part] == c)) for part in (train, dev, test)] for c in range(len(class_counts))
    ]


@pytest.mark.parametrize(
    "class_counts",
    [(70, 30), (45, 33, 22), (13, 17, 71), (101, 57, 9), (500, 37, 12, 8), (1000, 7)],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_per_class_counts_are_exact_and_within_one_of_sklearn(class_counts, seed):
    exact = exact_ratios(SIXTY_TWENTY_TWENTY)
    ours = [largest_remainder(n, exact) for n in class_counts]
    theirs = sklearn_three_way_counts(class_counts, seed)
    for n, our_sizes, their_sizes in zip(class_counts, ours, theirs):
        assert sum(their_sizes) == n  # sklearn loses nothing either
        assert is_largest_remainder(n, exact, our_sizes)
        assert all(abs(a - b) <= 1 for a, b in zip(our_sizes, their_sizes)), (
            n,
            our_sizes,
            their_sizes,
        )


def test_issue_example_matches_sklearn_exactly():
    # 70/30 leaves no remainders in either sklearn stage, so both agree exactly.
    assert sklearn_three_way_counts((70, 30), seed=0) == [[42, 14, 14], [18, 6, 6]]
    exact = exact_ratios(SIXTY_TWENTY_TWENTY)
    assert [largest_remainder(n, exact) for n in (70, 30)] == [[42, 14, 14], [18, 6, 6]]
