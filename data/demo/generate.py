"""Deterministic demo-data generator for the Cascade pipeline.

Cascade predicts ``looking_for_job`` (0/1) for users of a job platform so that
job ads can be surfaced to people who are actually looking. This script writes
a small, fully synthetic data set that exercises every stage of the pipeline:

* three sources with identical columns -- ``web/users.csv`` (~2500 rows),
  ``mobile/users.csv`` (~1500 rows) and ``partner/users.csv`` (~1000 rows,
  with its own ``PTR-XXXXXX`` hex id scheme);
* ``spam_accounts/spam_accounts.csv``: a reference list of spam accounts;
* ``id_map/id_map.csv``: alias -> canonical id for people seen twice.

Problems are planted on purpose, so that the cleaning, dedup and validation
stages have something real to find:

* ~3% of source rows are spam accounts with odd rows (implausible
  ``profile_views_30d``, age missing or 18, 25+ applications, random label).
  Every one is listed in the spam list, and the list also holds a few ids that
  appear in no source (a reference list is never perfectly aligned).
* ~5% of people appear in two sources under different ids (a partner id or a
  second ``u`` id in mobile). Their rows have mostly-consistent features,
  different ``signup_ts``, and ~5% of the pairs carry conflicting labels.
* Missing values (empty fields) in most feature columns, a heavily skewed
  ``profile_views_30d`` and rare categorical values (< 1%), so vocabularies,
  out-of-vocabulary buckets and log transforms get exercised.

The label is drawn from a logistic model of employment status, applications,
log profile views and years of experience (plus noise), tuned to a ~30%
positive rate and learnable by a simple model (AUC ~0.8+).

All randomness comes from one ``random.Random(20261128)``; Python ``hash()`` is
never used, so the output is byte-identical on every run and platform.
``--scale`` multiplies the row counts (e.g. for benchmarks).

``--daily DAYS`` writes the same users as arriving data instead: one span
folder per day (``<source>/span-<day>/users.csv``, default under
``data/demo-daily``), each source's rows cut into ``DAYS`` equal days, and the
spam list and id map as known on each day (see ``split_into_days``).

Usage::

    python data/demo/generate.py [--out DIR] [--scale FLOAT] [--daily DAYS]
"""

from __future__ import annotations

import argparse
import calendar
import csv
import dataclasses
import math
import os
import random
from typing import Dict, List, Optional, Sequence, Set, Tuple

SEED = 20261128
# The folder `--daily` writes to, beside data/demo.
DAILY_DIR = "demo-daily"

COLUMNS: Tuple[str, ...] = (
    "user_id",
    "signup_ts",
    "age",
    "years_experience",
    "profile_views_30d",
    "applications_30d",
    "education",
    "industry",
    "country",
    "employment_status",
    "looking_for_job",
)
SPAM_COLUMNS: Tuple[str, ...] = ("user_id", "flagged_reason", "flagged_at")
ID_MAP_COLUMNS: Tuple[str, ...] = ("alias_id", "canonical_id")

BASE_ROWS: Dict[str, int] = {"web": 2500, "mobile": 1500, "partner": 1000}
SOURCES: Tuple[str, ...] = ("web", "mobile", "partner")

SIGNUP_START = calendar.timegm((2023, 1, 1, 0, 0, 0))
SIGNUP_END = calendar.timegm((2025, 12, 31, 23, 59, 59))

SPAM_RATE = 0.03
EXTRA_SPAM_FRACTION = 0.04
DUPLICATE_RATE = 0.05
PARTNER_ALIAS_SHARE = 0.6
LABEL_CONFLICT_RATE = 0.05

MISSING_RATES: Dict[str, float] = {
    "age": 0.05,  # spam rows add ~1.5 points on top -> ~6% overall
    "years_experience": 0.04,
    "profile_views_30d": 0.02,
    "education": 0.03,
    "industry": 0.05,
    "country": 0.01,
}

STATUS_WEIGHTS: Dict[str, float] = {
    "employed": 0.60,
    "unemployed": 0.13,
    "student": 0.13,
    "self_employed": 0.12,
    "retired": 0.02,
}
EDUCATION_WEIGHTS: Dict[str, float] = {
    "high_school": 0.31,
    "bachelor": 0.42,
    "master": 0.20,
    "phd": 0.05,
    "bootcamp": 0.006,
    "associate": 0.006,
    "trade_school": 0.005,
}
INDUSTRY_WEIGHTS: Dict[str, float] = {
    "software": 0.17,
    "finance": 0.11,
    "healthcare": 0.12,
    "retail": 0.12,
    "education": 0.09,
    "manufacturing": 0.09,
    "hospitality": 0.08,
    "logistics": 0.07,
    "marketing": 0.07,
    "government": 0.07,
    "maritime": 0.0025,
    "mining": 0.0025,
    "aerospace": 0.0025,
}
COUNTRY_WEIGHTS: Dict[str, float] = {
    "US": 0.354,
    "IN": 0.22,
    "GB": 0.12,
    "DE": 0.10,
    "BR": 0.10,
    "CA": 0.09,
    "IS": 0.002,
    "MT": 0.002,
    "LU": 0.002,
}

# Applications: P(any application in 30d) and Poisson mean of extra ones.
APPLY_PROBABILITY: Dict[str, float] = {
    "employed": 0.12,
    "unemployed": 0.75,
    "student": 0.45,
    "self_employed": 0.18,
    "retired": 0.03,
}
APPLY_EXTRA_MEAN: Dict[str, float] = {
    "employed": 1.5,
    "unemployed": 5.0,
    "student": 2.5,
    "self_employed": 2.0,
    "retired": 0.5,
}
MAX_NORMAL_APPLICATIONS = 20
SPAM_MIN_APPLICATIONS = 25

# Label model (logit scale).
LABEL_INTERCEPT = -2.4
LABEL_STATUS_EFFECT: Dict[str, float] = {
    "employed": 0.0,
    "unemployed": 3.2,
    "student": 1.3,
    "self_employed": 0.2,
    "retired": -1.0,
}
LABEL_APPLICATION_EFFECT = 0.65
LABEL_APPLICATION_CAP = 12
LABEL_LOG_VIEWS_EFFECT = 0.15
LABEL_EXPERIENCE_EFFECT = -0.02
LABEL_NOISE_SD = 0.4

# Serving data: new users to score after training, from their own random
# stream (so the training files do not change when it does). One feature
# drifts on purpose: a campaign in Brazil brings in far more Brazilian users
# than the training data had; every other column keeps its distribution.
SERVING_SEED = SEED + 1
SERVING_ROWS = 2000
SERVING_COLUMNS: Tuple[str, ...] = tuple(c for c in COLUMNS if c != "looking_for_job")
DRIFTED_FEATURE = "country"
SERVING_COUNTRY_WEIGHTS: Dict[str, float] = {
    **COUNTRY_WEIGHTS,
    "BR": 0.40,
    "US": 0.22,
    "IN": 0.12,
}

SPAM_REASONS: Tuple[str, ...] = (
    "bulk_applications",
    "fake_profile",
    "bot_traffic",
    "reported_by_users",
)
SPAM_STATUSES: Tuple[str, ...] = ("employed", "unemployed", "student")


@dataclasses.dataclass
class UserRow:
    """One row of a source file; ``None`` means an empty (missing) field."""

    user_id: str
    signup_ts: int
    age: Optional[int]
    years_experience: Optional[int]
    profile_views_30d: Optional[int]
    applications_30d: int
    education: Optional[str]
    industry: Optional[str]
    country: Optional[str]
    employment_status: str
    looking_for_job: int


@dataclasses.dataclass
class DemoData:
    """Everything the generator produces, before it is written to disk."""

    sources: Dict[str, List[UserRow]]
    spam: List[Tuple[str, str, int]]
    id_map: List[Tuple[str, str]]
    extra_spam_ids: List[str]


# --------------------------------------------------------------------------
# Sizes and ids
# --------------------------------------------------------------------------


def source_sizes(scale: float) -> Dict[str, int]:
    """Compute the number of rows per source.

    Args:
        scale: Multiplier for the base row counts (1.0 -> 2500/1500/1000).

    Returns:
        Mapping of source name to row count (at least 1 each).
    """
    return {name: max(1, round(n * scale)) for name, n in BASE_ROWS.items()}


def id_width(count: int) -> int:
    """Pick a digit width so ``count`` ids fill at most half the id space.

    Args:
        count: Number of distinct ids needed.

    Returns:
        Number of decimal digits (at least 6).
    """
    width = 6
    while 10**width < 2 * count:
        width += 1
    return width


def make_u_ids(rng: random.Random, count: int) -> List[str]:
    """Draw distinct web/mobile-style ids such as ``u000123``.

    Args:
        rng: Random source.
        count: Number of ids.

    Returns:
        ``count`` distinct ids in random order.
    """
    width = id_width(count)
    return [f"u{n:0{width}d}" for n in rng.sample(range(10**width), count)]


def make_partner_ids(rng: random.Random, count: int) -> List[str]:
    """Draw distinct partner-style ids such as ``PTR-7F3A91``.

    Args:
        rng: Random source.
        count: Number of ids (must be well below 16**6).

    Returns:
        ``count`` distinct ids in random order.
    """
    return [f"PTR-{n:06X}" for n in rng.sample(range(16**6), count)]


# --------------------------------------------------------------------------
# Feature samplers
# --------------------------------------------------------------------------


def weighted_choice(rng: random.Random, weights: Dict[str, float]) -> str:
    """Draw one key of ``weights`` with probability proportional to its value.

    Args:
        rng: Random source.
        weights: Category -> relative weight (insertion order is used).

    Returns:
        The chosen category.
    """
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def poisson(rng: random.Random, mean: float) -> int:
    """Draw a Poisson variate (Knuth's method; fine for small means).

    Args:
        rng: Random source.
        mean: Poisson mean.

    Returns:
        A non-negative integer.
    """
    limit = math.exp(-mean)
    count, product = 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def signup_timestamp(rng: random.Random) -> int:
    """Draw a signup time uniformly within 2023-01-01..2025-12-31 (UTC).

    Args:
        rng: Random source.

    Returns:
        Epoch seconds.
    """
    return rng.randint(SIGNUP_START, SIGNUP_END)


def sample_age(rng: random.Random, status: str) -> int:
    """Draw an age (18-70) that fits the employment status.

    Args:
        rng: Random source.
        status: Employment status.

    Returns:
        Age in years.
    """
    if status == "student":
        return min(35, 18 + int(rng.expovariate(1 / 4)))
    if status == "retired":
        return rng.randint(58, 70)
    while True:  # truncated normal by rejection: no pile-up at the bounds
        age = round(rng.gauss(38, 11))
        if 19 <= age <= 70:
            return age


def sample_experience(rng: random.Random, status: str, age: int) -> int:
    """Draw years of experience consistent with age (at most ``age - 18``).

    Args:
        rng: Random source.
        status: Employment status.
        age: Age in years.

    Returns:
        Years of experience, 0-45.
    """
    if status == "student":
        return min(age - 18, rng.randint(0, 2))
    career_start = min(age, rng.randint(18, 26))
    years = int((age - career_start) * rng.uniform(0.7, 1.0))
    return max(0, min(45, years))


def sample_profile_views(rng: random.Random) -> int:
    """Draw a heavily skewed view count: lognormal body plus a Pareto tail.

    Args:
        rng: Random source.

    Returns:
        Non-negative count; median ~9, rare values in the tens of thousands.
    """
    if rng.random() < 0.015:
        return min(60000, int(200 * rng.paretovariate(0.7)))
    return int(rng.lognormvariate(2.2, 1.2))


def sample_applications(rng: random.Random, status: str) -> int:
    """Draw the 30-day application count (zero for most people).

    Args:
        rng: Random source.
        status: Employment status.

    Returns:
        Count between 0 and ``MAX_NORMAL_APPLICATIONS``.
    """
    if rng.random() >= APPLY_PROBABILITY[status]:
        return 0
    extra = poisson(rng, APPLY_EXTRA_MEAN[status])
    return min(MAX_NORMAL_APPLICATIONS, 1 + extra)


def label_logit(row: UserRow) -> float:
    """Deterministic part of the label model, on the logit scale.

    Args:
        row: A row with all features present (before masking).

    Returns:
        The logit of P(looking_for_job = 1) without noise.
    """
    applications = min(row.applications_30d, LABEL_APPLICATION_CAP)
    return (
        LABEL_INTERCEPT
        + LABEL_STATUS_EFFECT[row.employment_status]
        + LABEL_APPLICATION_EFFECT * applications
        + LABEL_LOG_VIEWS_EFFECT * math.log1p(row.profile_views_30d or 0)
        + LABEL_EXPERIENCE_EFFECT * (row.years_experience or 0)
    )


def sample_label(rng: random.Random, row: UserRow) -> int:
    """Draw the label from the noisy logistic model.

    Args:
        rng: Random source.
        row: A row with all features present (before masking).

    Returns:
        0 or 1.
    """
    logit = label_logit(row) + rng.gauss(0, LABEL_NOISE_SD)
    return int(rng.random() < 1 / (1 + math.exp(-logit)))


def make_user(
    rng: random.Random, user_id: str, country_weights: Optional[Dict[str, float]] = None
) -> UserRow:
    """Generate an ordinary (non-spam) user with a label.

    Args:
        rng: Random source.
        user_id: Id to give the row.
        country_weights: Country distribution (default ``COUNTRY_WEIGHTS``).

    Returns:
        A fully populated row (missing values are planted later).
    """
    status = weighted_choice(rng, STATUS_WEIGHTS)
    age = sample_age(rng, status)
    row = UserRow(
        user_id=user_id,
        signup_ts=signup_timestamp(rng),
        age=age,
        years_experience=sample_experience(rng, status, age),
        profile_views_30d=sample_profile_views(rng),
        applications_30d=sample_applications(rng, status),
        education=weighted_choice(rng, EDUCATION_WEIGHTS),
        industry=weighted_choice(rng, INDUSTRY_WEIGHTS),
        country=weighted_choice(rng, country_weights or COUNTRY_WEIGHTS),
        employment_status=status,
        looking_for_job=0,
    )
    row.looking_for_job = sample_label(rng, row)
    return row


def make_spam_user(rng: random.Random, user_id: str) -> UserRow:
    """Generate a spam account: odd-looking row with a coin-flip label.

    Args:
        rng: Random source.
        user_id: Id to give the row.

    Returns:
        A row with implausible views, age missing or 18 and 25+ applications.
    """
    views = rng.randint(75000, 950000) if rng.random() < 0.85 else 0
    return UserRow(
        user_id=user_id,
        signup_ts=signup_timestamp(rng),
        age=None if rng.random() < 0.5 else 18,
        years_experience=0,
        profile_views_30d=views,
        applications_30d=rng.randint(SPAM_MIN_APPLICATIONS, 150),
        education=weighted_choice(rng, EDUCATION_WEIGHTS),
        industry=weighted_choice(rng, INDUSTRY_WEIGHTS),
        country=weighted_choice(rng, COUNTRY_WEIGHTS),
        employment_status=rng.choice(SPAM_STATUSES),
        looking_for_job=int(rng.random() < 0.5),
    )


# --------------------------------------------------------------------------
# Planted problems
# --------------------------------------------------------------------------


def pick_spam_slots(
    rng: random.Random, sizes: Dict[str, int], spam_rate: float = SPAM_RATE
) -> Set[Tuple[str, int]]:
    """Choose which (source, row index) slots hold spam accounts.

    Args:
        rng: Random source.
        sizes: Rows per source.
        spam_rate: Share of all rows that are spam.

    Returns:
        Set of ``(source, index)`` pairs, ~``spam_rate`` of all rows.
    """
    slots = [(name, i) for name in SOURCES for i in range(sizes[name])]
    return set(rng.sample(slots, round(spam_rate * len(slots))))


def duplicate_counts(sizes: Dict[str, int]) -> Tuple[int, int]:
    """Number of duplicate pairs whose alias lives in partner and in mobile.

    ~``DUPLICATE_RATE`` of distinct people appear twice, so with R rows and
    D pairs: D = rate * (R - D).

    Args:
        sizes: Rows per source.

    Returns:
        ``(partner_aliases, mobile_aliases)``.
    """
    total = sum(sizes.values())
    pairs = round(DUPLICATE_RATE * total / (1 + DUPLICATE_RATE))
    partner = min(round(pairs * PARTNER_ALIAS_SHARE), sizes["partner"] // 2)
    mobile = min(pairs - partner, sizes["mobile"] // 3)
    return partner, mobile


def free_slots(name: str, size: int, taken: Set[Tuple[str, int]]) -> List[Tuple[str, int]]:
    """List the slots of one source that are not yet used.

    Args:
        name: Source name.
        size: Rows in the source.
        taken: Slots already used (spam, aliases, canonicals).

    Returns:
        Unused ``(source, index)`` slots in index order.
    """
    return [(name, i) for i in range(size) if (name, i) not in taken]


def pick_duplicate_pairs(
    rng: random.Random, sizes: Dict[str, int], spam: Set[Tuple[str, int]]
) -> List[Tuple[Tuple[str, int], Tuple[str, int]]]:
    """Choose (alias slot, canonical slot) pairs, never touching spam.

    Mobile aliases get a web canonical; partner aliases get a web or mobile
    canonical. Each slot is used at most once, so there are no chains.

    Args:
        rng: Random source.
        sizes: Rows per source.
        spam: Spam slots to avoid.

    Returns:
        List of ``(alias_slot, canonical_slot)``.
    """
    n_partner, n_mobile = duplicate_counts(sizes)
    taken = set(spam)
    mobile_aliases = rng.sample(free_slots("mobile", sizes["mobile"], taken), n_mobile)
    taken.update(mobile_aliases)
    web_canonicals = rng.sample(free_slots("web", sizes["web"], taken), n_mobile)
    taken.update(web_canonicals)
    partner_aliases = rng.sample(free_slots("partner", sizes["partner"], taken), n_partner)
    pool = free_slots("web", sizes["web"], taken) + free_slots("mobile", sizes["mobile"], taken)
    partner_canonicals = rng.sample(pool, n_partner)
    return list(zip(mobile_aliases, web_canonicals)) + list(
        zip(partner_aliases, partner_canonicals)
    )


def perturb_duplicate(rng: random.Random, canonical: UserRow, alias_id: str) -> UserRow:
    """Copy a person's row for their second account, with small differences.

    Args:
        rng: Random source.
        canonical: The person's canonical row.
        alias_id: Id of the second account.

    Returns:
        A row with the same categorical features and label, another signup
        time, possibly one year older, and different platform-specific counts.
    """
    row = dataclasses.replace(canonical, user_id=alias_id)
    while row.signup_ts == canonical.signup_ts:
        row.signup_ts = signup_timestamp(rng)
    if row.age is not None and row.age < 70 and rng.random() < 0.3:
        row.age += 1
        if row.years_experience is not None and row.years_experience < 45:
            row.years_experience += rng.randint(0, 1)
    if row.profile_views_30d is not None:
        row.profile_views_30d = int(row.profile_views_30d * rng.uniform(0.5, 1.5))
    row.applications_30d = max(0, row.applications_30d + rng.randint(-1, 1))
    return row


def plant_missing(rng: random.Random, row: UserRow) -> None:
    """Blank feature fields at random, at the ``MISSING_RATES`` rates.

    Args:
        rng: Random source.
        row: Row to modify in place.

    Returns:
        None.
    """
    for column, rate in MISSING_RATES.items():
        if rng.random() < rate:
            setattr(row, column, None)


def spam_entry(rng: random.Random, user_id: str, signup_ts: int) -> Tuple[str, str, int]:
    """Build one spam-list entry, flagged some time after signup.

    Args:
        rng: Random source.
        user_id: Spam account id.
        signup_ts: Signup time of the account.

    Returns:
        ``(user_id, flagged_reason, flagged_at)``.
    """
    flagged_at = signup_ts + rng.randint(3600, 45 * 86400)
    return user_id, rng.choice(SPAM_REASONS), flagged_at


# --------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------


def assign_ids(
    rng: random.Random, sizes: Dict[str, int], n_extra: int
) -> Tuple[Dict[str, List[str]], List[str]]:
    """Draw all row ids plus ids for spam accounts absent from every source.

    Args:
        rng: Random source.
        sizes: Rows per source.
        n_extra: Number of spam-list ids that appear in no source.

    Returns:
        ``(ids per source, extra spam ids)``; all ids are distinct.
    """
    extra_u, extra_ptr = n_extra - n_extra // 2, n_extra // 2
    u_ids = make_u_ids(rng, sizes["web"] + sizes["mobile"] + extra_u)
    ptr_ids = make_partner_ids(rng, sizes["partner"] + extra_ptr)
    ids = {
        "web": u_ids[: sizes["web"]],
        "mobile": u_ids[sizes["web"] : sizes["web"] + sizes["mobile"]],
        "partner": ptr_ids[: sizes["partner"]],
    }
    extra = u_ids[sizes["web"] + sizes["mobile"] :] + ptr_ids[sizes["partner"] :]
    return ids, extra


def build_rows(
    rng: random.Random, ids: Dict[str, List[str]], spam: Set[Tuple[str, int]]
) -> Dict[str, List[UserRow]]:
    """Generate one row per slot: spam accounts or ordinary users.

    Args:
        rng: Random source.
        ids: Row ids per source.
        spam: Slots that hold spam accounts.

    Returns:
        Rows per source, in slot order.
    """
    rows: Dict[str, List[UserRow]] = {}
    for name in SOURCES:
        rows[name] = [
            make_spam_user(rng, uid) if (name, i) in spam else make_user(rng, uid)
            for i, uid in enumerate(ids[name])
        ]
    return rows


def plant_duplicates(
    rng: random.Random,
    rows: Dict[str, List[UserRow]],
    pairs: Sequence[Tuple[Tuple[str, int], Tuple[str, int]]],
) -> List[Tuple[str, str]]:
    """Overwrite alias slots with copies of their canonical person.

    ~``LABEL_CONFLICT_RATE`` of the pairs (at least one) get a flipped label.

    Args:
        rng: Random source.
        rows: Rows per source, modified in place.
        pairs: ``(alias_slot, canonical_slot)`` pairs.

    Returns:
        ``(alias_id, canonical_id)`` entries for the id map.
    """
    n_conflicts = max(1, round(LABEL_CONFLICT_RATE * len(pairs))) if pairs else 0
    conflicts = set(rng.sample(range(len(pairs)), n_conflicts))
    id_map = []
    for k, ((a_src, a_idx), (c_src, c_idx)) in enumerate(pairs):
        canonical = rows[c_src][c_idx]
        alias = perturb_duplicate(rng, canonical, rows[a_src][a_idx].user_id)
        if k in conflicts:
            alias.looking_for_job = 1 - alias.looking_for_job
        rows[a_src][a_idx] = alias
        id_map.append((alias.user_id, canonical.user_id))
    return id_map


def build_spam_list(
    rng: random.Random,
    rows: Dict[str, List[UserRow]],
    spam: Set[Tuple[str, int]],
    extra_ids: Sequence[str],
) -> List[Tuple[str, str, int]]:
    """List every spam account in the sources plus the extra unmatched ids.

    Args:
        rng: Random source.
        rows: Rows per source.
        spam: Spam slots.
        extra_ids: Spam ids that appear in no source.

    Returns:
        Spam-list entries sorted by user id.
    """
    entries = [
        spam_entry(rng, rows[name][i].user_id, rows[name][i].signup_ts) for name, i in sorted(spam)
    ]
    entries += [spam_entry(rng, uid, signup_timestamp(rng)) for uid in extra_ids]
    return sorted(entries)


def generate(scale: float = 1.0, spam_rate: float = SPAM_RATE) -> DemoData:
    """Generate the whole demo data set in memory.

    Args:
        scale: Multiplier for the base row counts.
        spam_rate: Share of rows that are spam accounts.

    Returns:
        The sources (rows shuffled), spam list and id map.
    """
    rng = random.Random(SEED)
    sizes = source_sizes(scale)
    spam = pick_spam_slots(rng, sizes, spam_rate)
    n_extra = max(3, round(EXTRA_SPAM_FRACTION * len(spam)))
    ids, extra_ids = assign_ids(rng, sizes, n_extra)
    rows = build_rows(rng, ids, spam)
    pairs = pick_duplicate_pairs(rng, sizes, spam)
    id_map = plant_duplicates(rng, rows, pairs)
    spam_list = build_spam_list(rng, rows, spam, extra_ids)
    for name in SOURCES:
        for row in rows[name]:
            plant_missing(rng, row)
        rng.shuffle(rows[name])
    return DemoData(rows, spam_list, sorted(id_map), list(extra_ids))


def generate_serving(scale: float = 1.0) -> List[UserRow]:
    """New users to score, with ``DRIFTED_FEATURE`` drifted (see ``SERVING_COUNTRY_WEIGHTS``).

    Args:
        scale: Multiplier for ``SERVING_ROWS``.

    Returns:
        Rows with fresh ``s…`` ids, missing values planted as in the sources;
        their label is drawn but not written (serving data has none).
    """
    rng = random.Random(SERVING_SEED)
    count = max(1, round(SERVING_ROWS * scale))
    width = id_width(count)
    ids = [f"s{n:0{width}d}" for n in rng.sample(range(10**width), count)]
    rows = [make_user(rng, user_id, SERVING_COUNTRY_WEIGHTS) for user_id in ids]
    for row in rows:
        plant_missing(rng, row)
    return rows


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def format_row(row: UserRow, columns: Sequence[str] = COLUMNS) -> List[str]:
    """Turn a row into CSV fields (``None`` -> empty string).

    Args:
        row: Row to format.
        columns: The columns to write, in order.

    Returns:
        Field strings in ``columns`` order.
    """
    values = (getattr(row, column) for column in columns)
    return ["" if value is None else str(value) for value in values]


def write_csv(path: str, header: Sequence[str], records: Sequence[Sequence[object]]) -> None:
    """Write a CSV with a header, ``\\n`` line endings and minimal quoting.

    Args:
        path: Output file; parent folders are created.
        header: Column names.
        records: Data rows.

    Returns:
        None.
    """
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(header)
        writer.writerows(records)


def split_into_days(data: DemoData, days: int) -> List[DemoData]:
    """The same users arriving over ``days`` days.

    Day ``d`` holds the ``d``-th of ``days`` equal slices of each source (its
    rows are shuffled already). Its spam list holds the entries about users
    seen by that day and the spam ids that are in no source; its id map holds
    the aliases seen by that day. So each day's lists are complete for every
    day up to it, and the newest is the one to use.

    Args:
        data: Generated data.
        days: How many days (spans).

    Returns:
        One DemoData per day, in order.
    """
    out = []
    seen: Set[str] = set()
    extra = set(data.extra_spam_ids)
    for day in range(days):
        sources = {}
        for name in SOURCES:
            rows = data.sources[name]
            sources[name] = rows[len(rows) * day // days : len(rows) * (day + 1) // days]
            seen.update(row.user_id for row in sources[name])
        spam = [entry for entry in data.spam if entry[0] in seen or entry[0] in extra]
        id_map = [pair for pair in data.id_map if pair[0] in seen]
        out.append(DemoData(sources, spam, id_map, data.extra_spam_ids))
    return out


def write_daily_data(days: Sequence[DemoData], out_dir: str) -> Dict[str, str]:
    """Write each day as a span folder: ``<name>/span-<day>/<file>.csv``, days from 1.

    Args:
        days: The days, as ``split_into_days`` returns them.
        out_dir: Root folder.

    Returns:
        Mapping of "<name> span <day>" to written path.
    """
    paths = {}
    for day, data in enumerate(days, start=1):
        for name, path in write_demo_data(data, out_dir).items():
            folder, file_name = os.path.split(path)
            span_path = os.path.join(folder, f"span-{day}", file_name)
            os.makedirs(os.path.dirname(span_path), exist_ok=True)
            os.replace(path, span_path)
            paths[f"{name} span {day}"] = span_path
    return paths


def write_demo_data(
    data: DemoData, out_dir: str, serving: Sequence[UserRow] = ()
) -> Dict[str, str]:
    """Write all demo CSVs under ``out_dir``.

    Args:
        data: Generated data.
        out_dir: Root folder (``web/``, ``mobile/`` ... are created in it).
        serving: New users to write to ``serving/new_users.csv`` (if any).

    Returns:
        Mapping of logical name to written path.
    """
    paths = {name: os.path.join(out_dir, name, "users.csv") for name in SOURCES}
    paths["spam_accounts"] = os.path.join(out_dir, "spam_accounts", "spam_accounts.csv")
    paths["id_map"] = os.path.join(out_dir, "id_map", "id_map.csv")
    for name in SOURCES:
        write_csv(paths[name], COLUMNS, [format_row(r) for r in data.sources[name]])
    write_csv(paths["spam_accounts"], SPAM_COLUMNS, data.spam)
    write_csv(paths["id_map"], ID_MAP_COLUMNS, data.id_map)
    if serving:
        paths["serving"] = os.path.join(out_dir, "serving", "new_users.csv")
        write_csv(
            paths["serving"], SERVING_COLUMNS, [format_row(r, SERVING_COLUMNS) for r in serving]
        )
    return paths


def summarize(data: DemoData, paths: Dict[str, str]) -> str:
    """Build a short human-readable summary of what was written.

    Args:
        data: Generated data.
        paths: Written paths, as returned by ``write_demo_data``.

    Returns:
        Multi-line summary text.
    """
    lines = []
    total = positives = 0
    for name in SOURCES:
        rows = data.sources[name]
        pos = sum(r.looking_for_job for r in rows)
        total, positives = total + len(rows), positives + pos
        lines.append(f"{paths[name]}: {len(rows)} rows, {pos} positive")
    in_sources = len(data.spam) - len(data.extra_spam_ids)
    lines.append(f"total: {total} rows, positive rate {positives / total:.3f}")
    lines.append(
        f"{paths['spam_accounts']}: {len(data.spam)} spam ids "
        f"({in_sources} in sources, {len(data.extra_spam_ids)} in no source)"
    )
    lines.append(f"{paths['id_map']}: {len(data.id_map)} aliases")
    if "serving" in paths:
        lines.append(f"{paths['serving']}: new users to score, {DRIFTED_FEATURE!r} drifted")
    return "\n".join(lines)


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parse command-line arguments.

    Args:
        argv: Arguments without the program name; ``None`` uses ``sys.argv``.

    Returns:
        Namespace with ``out``, ``scale``, ``spam_rate`` and ``daily``.
    """
    parser = argparse.ArgumentParser(description="Generate the Cascade demo data.")
    parser.add_argument(
        "--out",
        help="output folder (default: the folder of this script; with --daily, data/demo-daily)",
    )
    parser.add_argument(
        "--daily",
        type=int,
        metavar="DAYS",
        help="write the users as DAYS daily spans (<source>/span-<day>/users.csv)",
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiplier for row counts (default 1.0)"
    )
    parser.add_argument(
        "--spam-rate",
        type=float,
        default=SPAM_RATE,
        help=f"share of rows that are spam accounts (default {SPAM_RATE})",
    )
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be positive")
    if not 0 <= args.spam_rate < 1:
        parser.error("--spam-rate must be in [0, 1)")
    if args.daily is not None and args.daily < 1:
        parser.error("--daily must be at least 1")
    here = os.path.dirname(os.path.abspath(__file__))
    if args.out is None:
        args.out = here if args.daily is None else os.path.join(os.path.dirname(here), DAILY_DIR)
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Generate the demo data and write it to disk.

    Args:
        argv: Command-line arguments (``--out DIR``, ``--scale FLOAT``,
            ``--daily DAYS``).

    Returns:
        Process exit code (0).
    """
    args = parse_args(argv)
    data = generate(args.scale, args.spam_rate)
    if args.daily is not None:
        days = split_into_days(data, args.daily)
        for path in write_daily_data(days, args.out).values():
            with open(path, encoding="utf-8") as handle:
                print(f"{path}: {sum(1 for _ in handle) - 1} rows")
        return 0
    paths = write_demo_data(data, args.out, generate_serving(args.scale))
    print(summarize(data, paths))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
