"""Tests for `core.source_folders`: which files of a data folder are read, the rest named."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

from core import source_folders


@pytest.mark.parametrize(
    "name, read",
    [
        ("users.csv", True),
        ("EXTRA.CSV", True),
        ("more.csv.gz", True),
        ("Old.Csv.GZ", True),
        ("notes.txt", False),
        ("users.csv.bak", False),
        ("users.csvx", False),
        ("users.tsv", False),
        ("users.gz", False),
        ("csv", False),
    ],
)
def test_a_name_is_read_when_it_ends_in_csv_or_csv_gz_in_any_case(name, read):
    assert source_folders.is_csv_name(name) is read


@pytest.mark.parametrize("name", ["users.csv", "EXTRA.CSV", "more.csv.gz", "Old.Csv.GZ"])
def test_example_gens_glob_matches_every_name_that_is_read(name):
    assert fnmatch.fnmatchcase(name, source_folders.EXAMPLE_GEN_GLOB)


def test_a_folder_is_split_into_files_read_and_entries_named(tmp_path: Path):
    for name in ("users.csv", "EXTRA.CSV", "more.csv.gz", "notes.txt", "users.csv.bak"):
        (tmp_path / name).write_text("a\n")
    (tmp_path / "2025").mkdir()
    (tmp_path / "2025" / "users.csv").write_text("a\n")
    # A folder named like a CSV file is a folder: not read.
    (tmp_path / "old.csv").mkdir()

    found = source_folders.list_folder(str(tmp_path) + "/")

    assert found.folder == str(tmp_path)
    assert found.read == [str(tmp_path / n) for n in ("EXTRA.CSV", "more.csv.gz", "users.csv")]
    assert found.not_read == ["2025/", "notes.txt", "old.csv/", "users.csv.bak"]
    assert found.warning() == (
        f"{tmp_path}: not read: 2025/ (a folder), notes.txt (not .csv or .csv.gz), "
        "old.csv/ (a folder), users.csv.bak (not .csv or .csv.gz)"
    )


def test_a_folder_whose_every_file_is_read_warns_of_nothing(tmp_path: Path):
    (tmp_path / "users.csv").write_text("a\n")
    found = source_folders.list_folder(str(tmp_path))
    assert (found.not_read, found.warning()) == ([], "")
