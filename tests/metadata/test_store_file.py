"""Files that are not ML Metadata stores get one sentence, from every command."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cli.main import main
from metadata import connection, store_file

ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = str(ROOT / "configs" / "demo.yaml")


def _sqlite_with_a_table(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (id INTEGER)")
    return path


def _mlmd_store(path: Path) -> Path:
    config = connection.connection_config(sqlite_path=str(path))
    connection.open_store(config, str(path))
    return path


def test_a_real_store_and_a_missing_file_are_fine(tmp_path):
    store = _mlmd_store(tmp_path / "metadata.sqlite")
    assert store_file.problem(str(store), read_only=True) is None
    odd = tmp_path / "a#b?c%d"
    odd.mkdir()
    assert store_file.problem(str(_mlmd_store(odd / "metadata.sqlite")), read_only=True) is None
    assert store_file.problem(str(tmp_path / "new.sqlite"), read_only=False) is None


def test_an_empty_file_may_become_a_store_but_cannot_be_read(tmp_path):
    empty = tmp_path / "metadata.sqlite"
    empty.write_bytes(b"")
    assert store_file.problem(str(empty), read_only=False) is None
    assert store_file.problem(str(empty), read_only=True) == (
        f"metadata store {empty} is an empty file (no pipeline has run into it)"
    )


@pytest.mark.parametrize("read_only", [True, False])
def test_foreign_and_damaged_files_are_named(tmp_path, read_only):
    text = tmp_path / "notes.sqlite"
    text.write_text("not a database\n")
    assert store_file.problem(str(text), read_only) == (
        f"metadata store {text} is not a SQLite file (wrong --metadata or output root?)"
    )
    foreign = _sqlite_with_a_table(tmp_path / "shop.sqlite")
    assert store_file.problem(str(foreign), read_only) == (
        f"metadata store {foreign} is a SQLite database but not an ML Metadata store "
        "(its tables: customers); name another file"
    )
    damaged = tmp_path / "damaged.sqlite"
    data = bytearray(_mlmd_store(tmp_path / "good.sqlite").read_bytes())
    data[16:100] = b"\xff" * 84  # the page size and header fields after the magic
    damaged.write_bytes(bytes(data))
    message = store_file.problem(str(damaged), read_only)
    assert message.startswith(f"metadata store {damaged} is damaged (")
    assert message.endswith("); restore it from a copy or use a new one")
    assert "SELECT" not in message


def _one_error_line(capsys: pytest.CaptureFixture) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_lineage_and_predict_on_a_foreign_sqlite_file_exit_2_naming_it(tmp_path, capsys):
    foreign = _sqlite_with_a_table(tmp_path / "shop.sqlite")
    expected = (
        f"error: metadata store {foreign} is a SQLite database but not an ML Metadata store "
        "(its tables: customers); name another file"
    )
    assert main(["lineage", "runs", "--metadata", str(foreign)]) == 2
    assert _one_error_line(capsys) == expected
    source = tmp_path / "new.csv"
    source.write_text("age\n3\n")
    assert (
        main(
            ["predict", "--config", DEMO_CONFIG, "--metadata", str(foreign), "--input", str(source)]
        )
        == 2
    )
    assert _one_error_line(capsys) == expected
    assert foreign.read_bytes() == _sqlite_with_a_table(tmp_path / "again.sqlite").read_bytes()


def test_a_run_into_a_foreign_store_stops_before_tfx(tmp_path, capsys):
    foreign = _sqlite_with_a_table(tmp_path / "metadata.sqlite")
    code = main(["run", "--config", DEMO_CONFIG, "--output-root", str(tmp_path)])
    assert code == 2
    assert _one_error_line(capsys) == (
        f"error: metadata store {foreign} is a SQLite database but not an ML Metadata store "
        "(its tables: customers); name another file"
    )
    assert not (tmp_path / "pipeline").exists()
