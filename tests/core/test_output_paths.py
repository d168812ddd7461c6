"""Tests for `core.output_paths`: an existing output is refused without --force, and a
command's staging folder is its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import output_paths
from core.errors import CascadeError


def _refusal(check, *args) -> str:
    with pytest.raises(CascadeError) as raised:
        check(*args)
    return str(raised.value)


def test_an_existing_output_file_is_refused_unless_forced(tmp_path: Path):
    path = tmp_path / "out.csv"
    output_paths.check_output_file(str(path), "--output")  # a new file: fine
    path.write_text("the user's\n")

    assert _refusal(output_paths.check_output_file, str(path), "--output") == (
        f"--output {path} exists; pass --force to overwrite it, or name another file"
    )
    output_paths.check_output_file(str(path), "--output", True)
    assert _refusal(output_paths.check_output_file, str(tmp_path), "--output", True) == (
        f"--output {tmp_path} is a folder; name a file"
    )
    missing = tmp_path / "no" / "out.csv"
    assert _refusal(output_paths.check_output_file, str(missing), "--plot") == (
        f"--plot {missing}: folder {missing.parent} does not exist; create it first"
    )
    output_paths.check_output_file(str(missing), "--output", make_folder=True)


def test_an_output_folder_that_holds_anything_is_refused_unless_forced(tmp_path: Path):
    folder = tmp_path / "proj"
    output_paths.check_output_folder(str(folder), "--output")  # missing: made later
    folder.mkdir()
    output_paths.check_output_folder(str(folder), "--output")  # empty: fine
    for name in ("a.txt", "b.txt", "c.txt"):
        (folder / name).write_text("x\n")
    (folder / "tmp").mkdir()

    assert _refusal(output_paths.check_output_folder, str(folder), "--output") == (
        f"--output {folder} is a folder that holds files already (a.txt, b.txt, c.txt, ...); "
        "name a new or empty folder, or pass --force to write into it (files of other names "
        "there are kept)"
    )
    output_paths.check_output_folder(str(folder), "--output", True)
    assert _refusal(output_paths.check_output_folder, str(folder / "a.txt"), "--output", True) == (
        f"--output {folder / 'a.txt'} is a file; name a folder"
    )


def test_a_staging_folder_is_new_beside_its_target_and_removed_whole(tmp_path: Path):
    target = tmp_path / "proj"
    target.mkdir()
    (target / "tmp").mkdir()
    (target / "tmp" / "notes.txt").write_text("the user's\n")

    with output_paths.staging_folder(str(target)) as staging:
        assert Path(staging).parent == tmp_path and Path(staging).is_dir()
        assert Path(staging).name.startswith("proj.staging-")
        (Path(staging) / "work" / "part").mkdir(parents=True)
        with output_paths.staging_folder(str(target)) as other:
            assert other != staging

    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]
    assert (target / "tmp" / "notes.txt").read_text() == "the user's\n"


def test_a_staging_folder_is_removed_when_the_work_fails(tmp_path: Path):
    with pytest.raises(RuntimeError, match="^the job failed$"):
        with output_paths.staging_folder(str(tmp_path / "out.csv")) as staging:
            (Path(staging) / "half").write_text("x")
            raise RuntimeError("the job failed")
    assert list(tmp_path.iterdir()) == []


# Writability: checked before any work, nothing created. TensorFlow's file
# functions meet these only when they write, after the work, in a traceback
# (`FailedPreconditionError: chk is not a directory`).


def test_a_new_folder_under_a_writable_one_passes_and_is_not_created(tmp_path: Path):
    output_paths.check_output_folder(str(tmp_path / "checks" / "today"), "--output")
    assert list(tmp_path.iterdir()) == []
    assert output_paths.nearest_existing(str(tmp_path / "checks" / "today")) == str(tmp_path)


def test_an_existing_folder_passes_with_force_and_is_left_as_it_was(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("mine")
    output_paths.check_output_folder(str(tmp_path), "--output", True)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_file_named_as_the_folder_is_one_sentence(tmp_path: Path):
    (tmp_path / "chk").write_text("")
    assert _refusal(output_paths.check_output_folder, str(tmp_path / "chk"), "--output") == (
        f"--output {tmp_path / 'chk'} is a file; name a folder"
    )


def test_a_file_in_the_way_above_the_output_is_named(tmp_path: Path):
    (tmp_path / "chk").write_text("")
    target = tmp_path / "chk" / "sub"
    assert _refusal(output_paths.check_output_folder, str(target), "--output") == (
        f"--output {target}: {tmp_path / 'chk'} is a file, not a folder"
    )
    assert _refusal(output_paths.check_output_file, str(target / "out.csv"), "--output") == (
        f"--output {target / 'out.csv'}: {tmp_path / 'chk'} is a file, not a folder"
    )
    assert _refusal(
        output_paths.check_output_file, str(target / "out.csv"), "--output", False, True
    ) == (f"--output {target / 'out.csv'}: {tmp_path / 'chk'} is a file, not a folder")


def test_a_read_only_filesystem_is_named_with_its_reason(read_only_folder: Path):
    target = read_only_folder / "out"
    assert _refusal(output_paths.check_output_folder, str(target), "--output") == (
        f"--output {target}: cannot write in {read_only_folder}: Read-only file system"
    )
    assert _refusal(output_paths.check_output_file, str(target), "--output") == (
        f"--output {target}: cannot write it: Read-only file system"
    )
    made = read_only_folder / "new" / "out.csv"
    assert _refusal(output_paths.check_output_file, str(made), "--output", False, True) == (
        f"--output {made}: cannot write in {read_only_folder}: Read-only file system"
    )
    assert list(read_only_folder.iterdir()) == []


def test_an_existing_file_that_cannot_be_written_is_named_with_force(tiny_filesystem: Path):
    import subprocess

    # The user's file, on a real filesystem then remounted read-only (root
    # would write through permission bits).
    path = tiny_filesystem / "out.csv"
    path.write_text("the user's\n")
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_filesystem)], check=True)
    assert _refusal(output_paths.check_output_file, str(path), "--output", True) == (
        f"--output {path}: cannot write it: Read-only file system"
    )
    assert path.read_text() == "the user's\n"


def test_a_bucket_path_is_checked_for_writing_when_written(monkeypatch, tmp_path: Path):
    # Whether it exists is asked of the bucket (fileio; not reached here): its
    # writability is not tried with a local temporary file.
    monkeypatch.setattr(output_paths, "exists", lambda path: False)
    monkeypatch.setattr(output_paths, "is_folder", lambda path: False)
    monkeypatch.chdir(tmp_path)
    output_paths.check_output_folder("gs://bucket/checks", "--output")
    output_paths.check_output_file("gs://bucket/checks/out.csv", "--output")
    assert list(tmp_path.iterdir()) == []
