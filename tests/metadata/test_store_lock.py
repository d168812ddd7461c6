"""metadata.store_lock: one writer at a time on a SQLite store, waiting and killed holders.

The other writer is a real second process holding the lock, as a second
`cascade run` would; it lets go when the test writes a line to its stdin.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from core.errors import CascadeError
from metadata import store_lock

HOLD = """
import sys
from metadata import store_lock
with store_lock.writing(sys.argv[1], "cascade run, pipeline 'other'"):
    print("holding", flush=True)
    sys.stdin.readline()
"""


def _holder(store: str) -> subprocess.Popen:
    """A second process that holds the store's lock until a line arrives on its stdin."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, store],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
    )
    assert process.stdout.readline().strip() == "holding"
    return process


def _release(holder: subprocess.Popen) -> None:
    holder.stdin.write("done\n")
    holder.stdin.flush()
    holder.wait(timeout=30)


def test_a_second_writer_that_cannot_wait_is_told_who_holds_the_store(tmp_path) -> None:
    store = str(tmp_path / "metadata.sqlite")
    holder = _holder(store)
    try:
        with pytest.raises(CascadeError) as e:
            with store_lock.writing(
                store, "predict", wait_seconds=0, report=lambda _: None, advice="try later"
            ):
                pass
        message = str(e.value)
        assert message.startswith(f"metadata store {store} is in use by cascade run, ")
        assert f"pipeline 'other' (pid {holder.pid}, since " in message
        assert "; try later (a SQLite store takes one writer at a time" in message
    finally:
        _release(holder)


def test_a_second_writer_waits_until_the_first_lets_go(tmp_path) -> None:
    store = str(tmp_path / "metadata.sqlite")
    holder = _holder(store)
    said: list[str] = []
    acquired = threading.Event()

    def second_writer() -> None:
        with store_lock.writing(store, "predict", wait_seconds=120, report=said.append):
            acquired.set()

    thread = threading.Thread(target=second_writer)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not said and time.monotonic() < deadline:
            time.sleep(0.05)
        assert said == [
            f"waiting for the metadata store {store}: it is in use by "
            f"cascade run, pipeline 'other' (pid {holder.pid}, since {said[0].split('since ')[1]}"
        ]
        assert not acquired.is_set()
    finally:
        _release(holder)
        thread.join(timeout=30)
    assert acquired.is_set()


def test_a_killed_holder_leaves_the_store_free(tmp_path) -> None:
    store = str(tmp_path / "metadata.sqlite")
    holder = _holder(store)
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
