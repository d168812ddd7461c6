"""metadata.artifact_files: is an artifact's recorded URI still there."""

from __future__ import annotations

from metadata import artifact_files


def test_a_folder_or_file_that_exists_is_present(tmp_path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "rows.csv").write_text("a\n1\n")
    assert artifact_files.files_state(str(tmp_path / "model")) == artifact_files.PRESENT
    assert artifact_files.files_state(str(tmp_path / "rows.csv")) == artifact_files.PRESENT


def test_a_deleted_path_is_missing(tmp_path) -> None:
    assert artifact_files.files_state(str(tmp_path / "gone")) == artifact_files.MISSING


def test_a_pattern_is_present_while_it_matches_a_file(tmp_path) -> None:
    pattern = str(tmp_path / "part-*.csv")
    assert artifact_files.files_state(pattern) == artifact_files.MISSING
    (tmp_path / "part-1.csv").write_text("a\n1\n")
    assert artifact_files.files_state(pattern) == artifact_files.PRESENT


def test_an_artifact_without_a_uri_names_no_files() -> None:
    assert artifact_files.files_state("") == artifact_files.NO_URI
