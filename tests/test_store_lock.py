"""metadata.store_lock: one writer at a time on a SQLite store, waiting and killed holders.

The other writer is a real second process holding the lock, as a second
run_local.py would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from core.errors import CascadeError
from metadata import store_lock

HOLD = """
import sys, time
from metadata import store_lock
with store_lock.writing(sys.argv[1], "run_local.py, pipeline 'other'"):
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder(store: str, seconds: float) -> subprocess.Popen:
    """A second process that holds the store's lock for `seconds`."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, store, str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
    )
    assert process.stdout.readline().strip() == "holding"
    return process


def test_a_second_writer_that_cannot_wait_is_told_who_holds_the_store(tmp_path) -> None:
    store = str(tmp_path / "metadata.sqlite")
    holder = _holder(store, 30)
    try:
        with pytest.raises(CascadeError) as e:
            with store_lock.writing(store, "predict", wait_seconds=0, report=lambda _: None):
                pass
        message = str(e.value)
        assert store in message
        assert f"run_local.py, pipeline 'other' (pid {holder.pid}, since " in message
        assert "one writer at a time" in message
    finally:
        holder.kill()
        holder.wait()


def test_a_second_writer_waits_for_the_first_then_writes(tmp_path) -> None:
    store = str(tmp_path / "metadata.sqlite")
    holder = _holder(store, 1.5)
    said = []
    started = time.monotonic()
    try:
        with store_lock.writing(store, "predict", wait_seconds=60, report=said.append):
            waited = time.monotonic() - started
    finally:
        holder.wait()
    assert waited > 1.0  # the holder kept the store for 1.5 s after saying so
    assert len(said) == 1 and said[0].startswith(f"waiting for the metadata store {store}")


def test_a_killed_holder_leaves_the_store_free(tmp_path) -> None:
    store = str(tmp_path / "metadata.sqlite")
    holder = _holder(store, 30)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with store_lock.writing(store, "predict", wait_seconds=0):
        pass


def test_an_uncreatable_lock_file_is_named(tmp_path) -> None:
    in_the_way = tmp_path / "outputs"
    in_the_way.write_text("a file where the output folder should be")
    with pytest.raises(CascadeError, match="cannot create the lock file .*outputs/metadata"):
        with store_lock.writing(str(in_the_way / "metadata.sqlite"), "predict"):
            pass
