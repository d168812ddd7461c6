"""Tests for `core.spans`: placeholders checked, span folders found, the window chosen.

Span folders are written to pytest's `tmp_path`; each error test checks the
whole message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core import spans
from core.errors import InputDataError


def _folder(root: Path, *parts: str, rows: int = 1) -> Path:
    folder = root.joinpath(*parts)
    folder.mkdir(parents=True)
    (folder / "rows.csv").write_text("a,label\n" + "1,0\n" * rows)
    return folder


@pytest.mark.parametrize(
    "path, problem",
    [
        ("data/web", None),
        ("data/web/span-{SPAN}", None),
        ("data/web/span-{SPAN}/v{VERSION}", None),
        ("data/web/{YYYY}-{MM}-{DD}", None),
        (
            "data/web/{DAY}",
            "unknown placeholder {DAY} (expected {SPAN}, {VERSION} or {YYYY}, {MM}, {DD})",
        ),
        ("data/{SPAN}/web-{SPAN}", "placeholder {SPAN} appears more than once"),
        ("data/{SPAN}/{YYYY}-{MM}-{DD}", "use {SPAN} or a date ({YYYY}, {MM}, {DD}), not both"),
        ("data/{YYYY}-{MM}", "a date span needs all of {YYYY}, {MM} and {DD}"),
        ("data/web/v{VERSION}", "{VERSION} needs {SPAN} (or a date) in the same path"),
    ],
)
def test_check_pattern(path, problem):
    assert spans.check_pattern(path) == problem


def test_static_root_is_the_folder_above_the_first_placeholder():
    assert spans.static_root("/d/web/span-{SPAN}") == "/d/web"
    assert spans.static_root("/d/{SPAN}/web") == "/d"
    assert spans.static_root("gs://b/web/{YYYY}-{MM}-{DD}") == "gs://b/web"
    assert spans.static_root("/d/web") == "/d/web"


def test_find_spans_reads_numbers_padding_and_the_newest_version(tmp_path):
    _folder(tmp_path, "web", "span-01", "v1")
    _folder(tmp_path, "web", "span-01", "v3")
    _folder(tmp_path, "web", "span-2", "v1")
    (tmp_path / "web" / "span-3" / "v1").mkdir(parents=True)  # no CSV file: no span

    found = spans.find_spans(f"{tmp_path}/web/span-{{SPAN}}/v{{VERSION}}")

    assert found == {
        1: spans.SpanFolder(1, 3, f"{tmp_path}/web/span-01/v3"),
        2: spans.SpanFolder(2, 1, f"{tmp_path}/web/span-2/v1"),
    }


def test_find_spans_of_dates_numbers_days_since_1970(tmp_path):
    _folder(tmp_path, "web", "2026-12-01")
    _folder(tmp_path, "web", "2026-13-01")  # no date: not a span

    found = spans.find_spans(f"{tmp_path}/web/{{YYYY}}-{{MM}}-{{DD}}")

    assert list(found) == [20788]
    assert spans.fill("web/{YYYY}-{MM}-{DD}", 20788, None) == "web/2026-12-01"


def test_window_takes_the_newest_spans_every_source_has(tmp_path):
    for span in (1, 2, 3):
        _folder(tmp_path, "web", f"span-{span}")
        _folder(tmp_path, "mobile", f"span-{span}")
    patterns = [(s, f"{tmp_path}/{s}/span-{{SPAN}}") for s in ("web", "mobile")]

    two = spans.window(patterns, 2)
    capped = spans.window(patterns, 2, newest_span=2)
    all_of_them = spans.window(patterns, 5)

    assert [f.span for f in two["web"]] == [2, 3]
    assert [f.span for f in two["mobile"]] == [2, 3]
    assert [f.span for f in capped["web"]] == [1, 2]
    assert [f.span for f in all_of_them["mobile"]] == [1, 2, 3]


def test_window_names_the_source_that_lacks_a_span(tmp_path):
    for span in (1, 2):
        _folder(tmp_path, "web", f"span-{span}")
    _folder(tmp_path, "mobile", "span-1")
    patterns = [(s, f"{tmp_path}/{s}/span-{{SPAN}}") for s in ("web", "mobile")]

    with pytest.raises(InputDataError) as raised:
        spans.window(patterns, 1)

    assert str(raised.value) == (
        f"mobile: no folder for span 2 ({tmp_path}/mobile/span-2 has no .csv or .csv.gz files), but web "
        "has one; every source needs each span it reads"
    )


def test_a_pattern_that_matches_nothing_names_the_pattern_and_the_folder(tmp_path):
    _folder(tmp_path, "web", "day-1")

    with pytest.raises(InputDataError) as raised:
        spans.newest(f"{tmp_path}/web/span-{{SPAN}}", "cleaning.spam_list")

    assert str(raised.value) == (
        f"cleaning.spam_list: span pattern span-{{SPAN}} matches no folder of .csv or .csv.gz files "
        f"in {tmp_path}/web"
    )


def test_describe():
    assert spans.describe([]) == ""
    assert spans.describe([3]) == "span 3"
    assert spans.describe([3, 1, 2]) == "spans 1-3"
    assert spans.describe([1, 3]) == "spans 1, 3"


def test_a_span_folder_of_gzipped_or_capitalized_csv_files_is_a_span(tmp_path):
    import gzip

    _folder(tmp_path, "web", "span-1")
    (tmp_path / "web" / "span-2").mkdir()
    (tmp_path / "web" / "span-2" / "rows.csv.gz").write_bytes(gzip.compress(b"a,label\n1,0\n"))
    (tmp_path / "web" / "span-3").mkdir()
    (tmp_path / "web" / "span-3" / "ROWS.CSV").write_text("a,label\n1,0\n")
    # A folder holding no CSV file is no span.
    (tmp_path / "web" / "span-4").mkdir()
    (tmp_path / "web" / "span-4" / "notes.txt").write_text("soon\n")

    found = spans.find_spans(f"{tmp_path}/web/span-{{SPAN}}")

    assert list(found) == [1, 2, 3]
