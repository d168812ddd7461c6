"""The output root is checked before a run writes anything."""

from __future__ import annotations

import pytest

from core.errors import CascadeError
from pipeline import output_space


def test_a_new_folder_under_a_writable_one_is_fine_and_created(tmp_path):
    data = tmp_path / "in.csv"
    data.write_text("a\n1\n")
    output_space.check_output_root(str(tmp_path / "out" / "demo"), [str(data)])
    assert (tmp_path / "out" / "demo").is_dir()
    assert list((tmp_path / "out" / "demo").iterdir()) == []


def test_a_file_in_the_way_is_named(tmp_path):
    blocker = tmp_path / "outputs"
    blocker.write_text("")
    with pytest.raises(CascadeError) as raised:
        output_space.check_output_root(str(blocker / "demo"), [])
    assert str(raised.value) == f"output root {blocker / 'demo'}: {blocker} is a file, not a folder"


def test_a_folder_that_cannot_be_written_is_named():
    # /proc refuses new folders even to root (permission bits would not).
    with pytest.raises(CascadeError) as raised:
        output_space.check_output_root("/proc/cascade-outputs", [])
    assert str(raised.value).startswith("output root /proc/cascade-outputs is not writable (")
    assert str(raised.value).endswith("); choose another --output-root")


def test_room_is_one_input_copy_plus_the_store_and_model():
    base = output_space.BASE_BYTES
    assert output_space.room_problem(base + 10 * 2**20, 10 * 2**20) is None
    assert output_space.room_problem(base + 10 * 2**20 - 1, 10 * 2**20) == (
        "109 MiB free, but this run needs at least 110 MiB "
        "(about one copy of its input, plus the model and store)"
    )


def test_a_full_disk_is_named_before_the_run(tmp_path, tiny_filesystem):
    data = tmp_path / "in.csv"
    data.write_text("a\n" + "1\n" * 100_000)
    with pytest.raises(CascadeError) as raised:
        output_space.check_output_root(str(tiny_filesystem / "out"), [str(data)])
    assert str(raised.value) == (
        f"output root {tiny_filesystem / 'out'}: 0 MiB free, but this run needs at least "
        "101 MiB (about one copy of its input, plus the model and store)"
    )
