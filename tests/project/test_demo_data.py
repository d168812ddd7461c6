"""Checks for the committed demo data in ``data/demo``.

The CSVs must be exactly what ``data/demo/generate.py`` produces, and the
problems it plants (spam, duplicates, label conflicts, missing values, skew,
rare categories) must be present at the documented rates. All numbers are
computed from the committed files.
"""

from __future__ import annotations

import csv
import math
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Sequence

import pytest

DEMO_DIR = Path(__file__).resolve().parents[2] / "data" / "demo"
GENERATOR = DEMO_DIR / "generate.py"
SOURCES = ("web", "mobile", "partner")
EXPECTED_ROWS = {"web": 2500, "mobile": 1500, "partner": 1000}
COLUMNS = [
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
]
CSV_FILES = [f"{name}/users.csv" for name in SOURCES] + [
    "spam_accounts/spam_accounts.csv",
    "id_map/id_map.csv",
    "serving/new_users.csv",
]
SIGNUP_START = 1672531200  # 2023-01-01T00:00:00Z
SIGNUP_END = 1767225599  # 2025-12-31T23:59:59Z
U_ID = re.compile(r"^u\d{6}$")
PTR_ID = re.compile(r"^PTR-[0-9A-F]{6}$")
SPAM_APPLICATIONS = 25

Row = Dict[str, str]


def read_csv(relative: str) -> List[Row]:
    """Read one committed CSV as a list of dicts."""
    with open(DEMO_DIR / relative, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def sources() -> Dict[str, List[Row]]:
    return {name: read_csv(f"{name}/users.csv") for name in SOURCES}


@pytest.fixture(scope="module")
def all_rows(sources: Dict[str, List[Row]]) -> List[Row]:
    return [row for name in SOURCES for row in sources[name]]


@pytest.fixture(scope="module")
def by_id(sources: Dict[str, List[Row]]) -> Dict[str, Row]:
    return {row["user_id"]: row for name in SOURCES for row in sources[name]}


@pytest.fixture(scope="module")
def source_of(sources: Dict[str, List[Row]]) -> Dict[str, str]:
    return {row["user_id"]: name for name in SOURCES for row in sources[name]}


@pytest.fixture(scope="module")
def spam() -> List[Row]:
    return read_csv("spam_accounts/spam_accounts.csv")


@pytest.fixture(scope="module")
def id_map() -> List[Row]:
    return read_csv("id_map/id_map.csv")


def rate(rows: Sequence[Row], predicate) -> float:
    return sum(1 for row in rows if predicate(row)) / len(rows)


def auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Rank-based ROC AUC (ties get average ranks)."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    n_pos = sum(labels)
    n_neg = len(labels) - n_pos
    pos_rank_sum = sum(r for r, y in zip(ranks, labels) if y)
    return (pos_rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


# --------------------------------------------------------------------------
# Reproducibility and format
# --------------------------------------------------------------------------


def test_committed_files_match_generator(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "aliases" in result.stdout
    for relative in CSV_FILES:
        committed = (DEMO_DIR / relative).read_bytes()
        regenerated = (tmp_path / relative).read_bytes()
        assert regenerated == committed, f"{relative} differs from generator output"
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.csv"))
    assert written == sorted(CSV_FILES)


def test_generator_scale_option(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(tmp_path), "--scale", "0.2"],
        capture_output=True,
        check=True,
    )
    with open(tmp_path / "web" / "users.csv", newline="") as handle:
        assert sum(1 for _ in handle) == 500 + 1


def test_line_endings_and_headers() -> None:
    for relative in CSV_FILES:
        data = (DEMO_DIR / relative).read_bytes()
        assert b"\r" not in data
        assert data.endswith(b"\n")
    for name in SOURCES:
        header = (DEMO_DIR / name / "users.csv").read_text().split("\n", 1)[0]
        assert header.split(",") == COLUMNS
    assert read_csv("spam_accounts/spam_accounts.csv")[0].keys() == {
        "user_id",
        "flagged_reason",
        "flagged_at",
    }
    assert list(read_csv("id_map/id_map.csv")[0].keys()) == ["alias_id", "canonical_id"]


def test_row_counts(sources: Dict[str, List[Row]]) -> None:
    assert {name: len(rows) for name, rows in sources.items()} == EXPECTED_ROWS


def test_user_ids(sources: Dict[str, List[Row]], all_rows: List[Row]) -> None:
    for name in ("web", "mobile"):
        assert all(U_ID.match(row["user_id"]) for row in sources[name])
    assert all(PTR_ID.match(row["user_id"]) for row in sources["partner"])
    ids = [row["user_id"] for row in all_rows]
    assert len(set(ids)) == len(ids), "user ids must be unique across sources"


def test_rows_are_shuffled(sources: Dict[str, List[Row]]) -> None:
    for name in SOURCES:
        ids = [row["user_id"] for row in sources[name]]
        ts = [int(row["signup_ts"]) for row in sources[name]]
        assert ids != sorted(ids) and ts != sorted(ts)


# --------------------------------------------------------------------------
# Column values
# --------------------------------------------------------------------------


def test_value_ranges(all_rows: List[Row]) -> None:
    for row in all_rows:
        assert SIGNUP_START <= int(row["signup_ts"]) <= SIGNUP_END
        assert row["employment_status"] != ""
        assert row["looking_for_job"] in ("0", "1")
        assert int(row["applications_30d"]) >= 0
        if row["age"]:
            assert 18 <= int(row["age"]) <= 70
        if row["years_experience"]:
            assert 0 <= int(row["years_experience"]) <= 45
        if row["age"] and row["years_experience"]:
            assert int(row["years_experience"]) <= int(row["age"]) - 16
        if row["profile_views_30d"]:
            assert int(row["profile_views_30d"]) >= 0


@pytest.mark.parametrize(
    "column, low, high",
    [
        ("age", 0.045, 0.08),
        ("years_experience", 0.03, 0.055),
        ("profile_views_30d", 0.012, 0.03),
        ("education", 0.02, 0.04),
        ("industry", 0.04, 0.065),
        ("country", 0.005, 0.018),
        ("signup_ts", 0.0, 0.0),
        ("applications_30d", 0.0, 0.0),
        ("employment_status", 0.0, 0.0),
        ("looking_for_job", 0.0, 0.0),
    ],
)
def test_missing_rates(all_rows: List[Row], column: str, low: float, high: float) -> None:
    missing = rate(all_rows, lambda row: row[column] == "")
    assert low <= missing <= high, f"{column}: {missing:.4f}"


def test_profile_views_heavily_skewed(all_rows: List[Row]) -> None:
    views = sorted(int(r["profile_views_30d"]) for r in all_rows if r["profile_views_30d"])
    normal = sorted(
        int(r["profile_views_30d"])
        for r in all_rows
        if r["profile_views_30d"] and int(r["applications_30d"]) < SPAM_APPLICATIONS
    )
    median = views[len(views) // 2]
    assert median < 20
    assert sum(v < 50 for v in views) / len(views) > 0.8
    assert sum(views) / len(views) > 10 * median
    assert 10000 <= normal[-1] < 100000, "non-spam tail reaches the tens of thousands"


def test_applications_mostly_zero(all_rows: List[Row]) -> None:
    assert 0.6 <= rate(all_rows, lambda r: r["applications_30d"] == "0") <= 0.8


def test_categorical_vocabularies(all_rows: List[Row]) -> None:
    n = len(all_rows)
    education = Counter(r["education"] for r in all_rows)
    industry = Counter(r["industry"] for r in all_rows)
    country = Counter(r["country"] for r in all_rows)
    status = Counter(r["employment_status"] for r in all_rows)

    assert set(education) == {
        "",
        "high_school",
        "bachelor",
        "master",
        "phd",
        "bootcamp",
        "associate",
        "trade_school",
    }
    for rare in ("bootcamp", "associate", "trade_school"):
        assert 0 < education[rare] / n < 0.01, rare
    common_industries = {
        "software",
        "finance",
        "healthcare",
        "retail",
        "education",
        "manufacturing",
        "hospitality",
        "logistics",
        "marketing",
        "government",
    }
    assert set(industry) == common_industries | {"", "maritime", "mining", "aerospace"}
    for rare in ("maritime", "mining", "aerospace"):
        assert 0 < industry[rare] / n < 0.005, rare
    for common in common_industries:
        assert industry[common] / n > 0.04, common
    assert set(country) == {"", "US", "IN", "GB", "DE", "BR", "CA", "IS", "MT", "LU"}
    for rare in ("IS", "MT", "LU"):
        assert 0 < country[rare] / n < 0.005, rare
    assert set(status) == {"employed", "unemployed", "student", "self_employed", "retired"}
    assert 0 < status["retired"] / n < 0.04


# --------------------------------------------------------------------------
# Label
# --------------------------------------------------------------------------


def test_positive_rate(sources: Dict[str, List[Row]], all_rows: List[Row]) -> None:
    assert 0.25 <= rate(all_rows, lambda r: r["looking_for_job"] == "1") <= 0.35
    for name in SOURCES:
        assert 0.22 <= rate(sources[name], lambda r: r["looking_for_job"] == "1") <= 0.38


def test_label_depends_on_status(all_rows: List[Row]) -> None:
    def positive_rate(status: str) -> float:
        rows = [r for r in all_rows if r["employment_status"] == status]
        return rate(rows, lambda r: r["looking_for_job"] == "1")

    assert positive_rate("unemployed") > 0.7
    assert positive_rate("unemployed") > positive_rate("student") > positive_rate("employed")


def _features(row: Row) -> List[float]:
    status = row["employment_status"]
    applications = min(int(row["applications_30d"]), 20)
    views = row["profile_views_30d"]
    years = row["years_experience"]
    return [
        float(status == "unemployed"),
        float(status == "student"),
        float(status == "self_employed"),
        float(status == "retired"),
        math.log1p(applications),
        math.log1p(int(views)) if views else 0.0,
        float(views == ""),
        float(years) / 10 if years else 1.0,
    ]


def _fit_logistic(x: List[List[float]], y: List[int], steps: int = 300) -> List[float]:
    """Full-batch gradient descent on log loss; returns [bias, *weights]."""
    w = [0.0] * (len(x[0]) + 1)
    lr = 0.5
    for _ in range(steps):
        grad = [0.0] * len(w)
        for xi, yi in zip(x, y):
            z = w[0] + sum(wj * xj for wj, xj in zip(w[1:], xi))
            err = 1 / (1 + math.exp(-z)) - yi
            grad[0] += err
            for j, xj in enumerate(xi):
                grad[j + 1] += err * xj
        w = [wj - lr * gj / len(x) for wj, gj in zip(w, grad)]
    return w


def test_label_is_learnable(sources: Dict[str, List[Row]]) -> None:
    train = sources["web"] + sources["mobile"]
    test = sources["partner"]
    w = _fit_logistic([_features(r) for r in train], [int(r["looking_for_job"]) for r in train])
    scores = [w[0] + sum(a * b for a, b in zip(w[1:], _features(r))) for r in test]
    held_out_auc = auc(scores, [int(r["looking_for_job"]) for r in test])
    assert held_out_auc >= 0.78, held_out_auc
    applications_auc = auc(
        [int(r["applications_30d"]) for r in train], [int(r["looking_for_job"]) for r in train]
    )
    assert applications_auc >= 0.7, applications_auc


# --------------------------------------------------------------------------
# Spam
# --------------------------------------------------------------------------


def test_spam_list_format(spam: List[Row]) -> None:
    ids = [r["user_id"] for r in spam]
    assert len(ids) == len(set(ids))
    assert all(U_ID.match(i) or PTR_ID.match(i) for i in ids)
    assert all(r["flagged_reason"] for r in spam)
    assert all(re.fullmatch(r"\d+", r["flagged_at"]) for r in spam)


def test_spam_rate_and_alignment(
    spam: List[Row], by_id: Dict[str, Row], source_of: Dict[str, str], all_rows: List[Row]
) -> None:
    ids = {r["user_id"] for r in spam}
    in_sources = ids & set(by_id)
    unmatched = ids - set(by_id)
    assert 0.025 <= len(in_sources) / len(all_rows) <= 0.035
    assert 1 <= len(unmatched) <= 0.1 * len(ids), "a few listed ids appear in no source"
    assert {source_of[i] for i in in_sources} == set(SOURCES), "spam in every source"
    assert any(PTR_ID.match(i) for i in in_sources)
    assert any(PTR_ID.match(i) for i in unmatched) and any(U_ID.match(i) for i in unmatched)
    for entry in spam:
        if entry["user_id"] in by_id:
            assert int(entry["flagged_at"]) > int(by_id[entry["user_id"]]["signup_ts"])


def test_every_spam_row_is_listed(spam: List[Row], all_rows: List[Row]) -> None:
    listed = {r["user_id"] for r in spam}
    odd = {r["user_id"] for r in all_rows if int(r["applications_30d"]) >= SPAM_APPLICATIONS}
    assert odd == listed & {r["user_id"] for r in all_rows}


def test_spam_rows_look_odd(spam: List[Row], by_id: Dict[str, Row]) -> None:
    rows = [by_id[r["user_id"]] for r in spam if r["user_id"] in by_id]
    assert all(r["age"] in ("", "18") for r in rows)
    assert all(int(r["applications_30d"]) >= SPAM_APPLICATIONS for r in rows)
    views = [int(r["profile_views_30d"]) for r in rows if r["profile_views_30d"]]
    assert sum(v >= 75000 for v in views) / len(views) > 0.7, "implausible view counts"


# --------------------------------------------------------------------------
# Duplicates (id map)
# --------------------------------------------------------------------------


def test_id_map_structure(
    id_map: List[Row], by_id: Dict[str, Row], source_of: Dict[str, str], spam: List[Row]
) -> None:
    aliases = [r["alias_id"] for r in id_map]
    canonicals = [r["canonical_id"] for r in id_map]
    assert len(aliases) == len(set(aliases)), "no alias maps to two canonicals"
    assert len(canonicals) == len(set(canonicals)), "one alias per person"
    assert not set(aliases) & set(canonicals), "no chains or cycles"
    spam_ids = {r["user_id"] for r in spam}
    for alias, canonical in zip(aliases, canonicals):
        assert alias in by_id and canonical in by_id
        assert U_ID.match(canonical)
        assert source_of[canonical] in ("web", "mobile")
        assert source_of[alias] != source_of[canonical]
        assert PTR_ID.match(alias) or source_of[alias] == "mobile"
        assert alias not in spam_ids and canonical not in spam_ids
    assert any(PTR_ID.match(a) for a in aliases)
    assert any(U_ID.match(a) for a in aliases)


def test_duplicate_rate(id_map: List[Row], all_rows: List[Row]) -> None:
    people = len(all_rows) - len(id_map)
    assert 0.04 <= len(id_map) / people <= 0.06


def test_duplicates_mostly_consistent(id_map: List[Row], by_id: Dict[str, Row]) -> None:
    pairs = [(by_id[r["alias_id"]], by_id[r["canonical_id"]]) for r in id_map]
    for alias, canonical in pairs:
        assert alias["signup_ts"] != canonical["signup_ts"]
        assert alias["employment_status"] == canonical["employment_status"]
        if alias["age"] and canonical["age"]:
            assert 0 <= int(alias["age"]) - int(canonical["age"]) <= 1
    for column in ("education", "industry", "country"):
        both = [(a[column], c[column]) for a, c in pairs if a[column] and c[column]]
        assert all(a == c for a, c in both), column
    conflicts = sum(a["looking_for_job"] != c["looking_for_job"] for a, c in pairs)
    assert 1 <= conflicts <= 0.1 * len(pairs), conflicts


DAILY_DIR = DEMO_DIR.parent / "demo-daily"
DAYS = 3


def test_daily_spans_are_the_generator_output_and_the_demo_users(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(GENERATOR), "--out", str(tmp_path), "--daily", str(DAYS)],
        capture_output=True,
        check=True,
    )
    committed = sorted(str(p.relative_to(DAILY_DIR)) for p in DAILY_DIR.rglob("*.csv"))
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.csv"))
    assert written == committed
    for relative in committed:
        assert (tmp_path / relative).read_bytes() == (DAILY_DIR / relative).read_bytes(), relative

    def rows(path: Path) -> List[List[str]]:
        with open(path, newline="", encoding="utf-8") as handle:
            return list(csv.reader(handle))

    for name in SOURCES:
        days = [rows(DAILY_DIR / name / f"span-{day}" / "users.csv") for day in range(1, DAYS + 1)]
        demo = rows(DEMO_DIR / name / "users.csv")
        assert [row for day in days for row in day[1:]] == demo[1:], name
        assert [len(day) - 1 for day in days] == [
            len(demo[1:]) * (d + 1) // DAYS - len(demo[1:]) * d // DAYS for d in range(DAYS)
        ]
    newest = f"span-{DAYS}"
    assert rows(DAILY_DIR / "spam_accounts" / newest / "spam_accounts.csv") == rows(
        DEMO_DIR / "spam_accounts" / "spam_accounts.csv"
    )
    assert rows(DAILY_DIR / "id_map" / newest / "id_map.csv") == rows(
        DEMO_DIR / "id_map" / "id_map.csv"
    )
