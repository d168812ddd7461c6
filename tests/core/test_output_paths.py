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
    with pytest.raises(RuntimeError):
        with output_paths.staging_folder(str(tmp_path / "out.csv")) as staging:
            (Path(staging) / "half").write_text("x")
            raise RuntimeError("the job failed")
    assert list(tmp_path.iterdir()) == []
