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


def test_local_patterns_match_as_tensorflows_gfile_globs_them(tmp_path) -> None:
    """Local paths are checked without TensorFlow, with gfile's answers: a
    wildcard stays within one path part and matches hidden names too."""
    from tfx.dsl.io import fileio

    (tmp_path / "hidden").mkdir()
    (tmp_path / "hidden" / ".part-1").write_text("x")
    (tmp_path / "run-1" / "out").mkdir(parents=True)
    (tmp_path / "run-1" / "out" / "part-1.csv").write_text("a\n1\n")
    (tmp_path / "rows.csv").write_text("a\n1\n")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    patterns = [
        "hidden/*",
        "hidden/part*",
        "run-*/out/part-?.csv",
        "run-[0-9]/out",
        "run-*/",
        "rows.csv/*",
        "*/part-1.csv",
        "**/part-1.csv",
        "*/*/part-1.csv",
        "r[!u]*",
        "dang*",
        "nothing-*",
        "nothing-*/part-1.csv",
    ]
    for pattern in patterns:
        uri = str(tmp_path / pattern)
        expected = artifact_files.PRESENT if fileio.glob(uri) else artifact_files.MISSING
        assert artifact_files.files_state(uri) == expected, pattern
    for path in ("rows.csv", "run-1/out/", "rows.csv/x", "dangling", "gone"):
        uri = str(tmp_path / path)
        expected = artifact_files.PRESENT if fileio.exists(uri) else artifact_files.MISSING
        assert artifact_files.files_state(uri) == expected, path


def test_a_remote_uri_is_asked_through_fileio(monkeypatch) -> None:
    from tfx.dsl.io import fileio

    asked = []

    def exists(uri: str) -> bool:
        asked.append(("exists", uri))
        return uri.endswith("/model")

    def glob(pattern: str) -> list[str]:
        asked.append(("glob", pattern))
        raise PermissionError("no credentials")

    monkeypatch.setattr(fileio, "exists", exists)
    monkeypatch.setattr(fileio, "glob", glob)
    assert artifact_files.files_state("gs://bucket/model") == artifact_files.PRESENT
    assert artifact_files.files_state("gs://bucket/gone") == artifact_files.MISSING
    assert artifact_files.files_state("gs://bucket/part-*") == artifact_files.UNKNOWN
    assert asked == [
        ("exists", "gs://bucket/model"),
        ("exists", "gs://bucket/gone"),
        ("glob", "gs://bucket/part-*"),
    ]
