"""core.output_folder: an output folder checked before any work, nothing created."""

from __future__ import annotations

import pytest

from core.errors import CascadeError
from core.output_folder import check_output_folder, nearest_existing


def test_a_new_folder_under_a_writable_one_passes_and_is_not_created(tmp_path):
    check_output_folder(str(tmp_path / "checks" / "today"), "--output")
    assert list(tmp_path.iterdir()) == []
    assert nearest_existing(str(tmp_path / "checks" / "today")) == str(tmp_path)


def test_an_existing_folder_passes_and_is_left_as_it_was(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    check_output_folder(str(tmp_path), "--output")
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_file_named_as_the_folder_is_one_sentence(tmp_path):
    # TensorFlow would say `FailedPreconditionError: chk is not a directory`
    # after the work, in a traceback.
    (tmp_path / "chk").write_text("")
    with pytest.raises(CascadeError) as raised:
        check_output_folder(str(tmp_path / "chk"), "--output")
    assert str(raised.value) == f"--output {tmp_path / 'chk'} is a file, not a folder"


def test_a_file_in_the_way_above_the_folder_is_named(tmp_path):
    (tmp_path / "chk").write_text("")
    with pytest.raises(CascadeError) as raised:
        check_output_folder(str(tmp_path / "chk" / "sub"), "--output")
    assert (
        str(raised.value)
        == f"--output {tmp_path / 'chk' / 'sub'}: {tmp_path / 'chk'} is a file, not a folder"
    )


def test_a_read_only_filesystem_is_named_with_its_reason(read_only_folder):
    target = read_only_folder / "out"
    with pytest.raises(CascadeError) as raised:
        check_output_folder(str(target), "--output")
    assert str(raised.value) == (
        f"--output {target}: cannot write in {read_only_folder}: Read-only file system"
    )


def test_a_bucket_path_is_checked_when_written():
    check_output_folder("gs://bucket/checks", "--output")
