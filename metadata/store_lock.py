"""One writer at a time on a SQLite metadata store.

SQLite lets one connection write at a time; MLMD retries a busy store for a
while and then fails the write (and with it the component or the scoring
being recorded). A pipeline run writes to the store from its first
component to its last, so two runs into one SQLite file, or a scoring
recorded while a run is publishing, would race. `writing` serialises them
with an advisory lock on `<store>.lock` beside the file: the second writer
says who holds the store and waits for it, up to a limit, then stops with
one sentence naming the store and the holder. The operating system drops
the lock when its holder exits, however it exits (SIGKILL included), so a
killed run never leaves the store locked.

A shared MySQL store needs none of this: MLMD's transactions keep
concurrent runs apart, and `writing` is not used for it.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import os
import time
from typing import Callable, Iterator, Optional

from core.errors import CascadeError

POLL_SECONDS = 0.5
NAME_WAIT_SECONDS = 2.0
DEFAULT_WAIT_SECONDS = 3600.0


def lock_path(store_path: str) -> str:
    """The lock file of a SQLite store: `<store>.lock` beside it."""
    return store_path + ".lock"


def _holder(lock_file: str) -> Optional[dict]:
    """What the current holder wrote into the lock file, if it is readable."""
    try:
        with open(lock_file, encoding="utf-8") as f:
            return json.loads(f.read() or "null")
    except (OSError, ValueError):
        return None


def describe_holder(holder: Optional[dict]) -> str:
    """E.g. `"run_local.py, pipeline 'x' (pid 12, since 2026-12-04 10:04:05 UTC)"`,
    or "another process" when the holder has not said who it is."""
    if not holder:
        return "another process"
    what = holder.get("purpose", "another process")
    since = holder.get("since", "")
    return f"{what} (pid {holder.get('pid', '?')}" + (f", since {since})" if since else ")")


@contextlib.contextmanager
def writing(
    store_path: str,
    purpose: str,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
    report: Callable[[str], None] = print,
    clock: Callable[[], float] = time.monotonic,
    advice: str = "run again when it has finished",
) -> Iterator[None]:
    """Holds the store's write lock for the `with` block.

    Args:
      store_path: The SQLite file (it need not exist yet).
      purpose: Who is writing, for the messages another writer sees (e.g.
        "run_local.py, pipeline 'cascade-demo'").
      wait_seconds: How long to wait for another writer to finish (0: not at all).
      report: Where the "waiting for ..." line goes (when it must wait, and
        again if another writer takes the store first).
      clock: Seconds, monotonic.
      advice: What the timeout message tells the user to do.

    Raises:
      CascadeError: The lock file cannot be created (names it and why), or
        another writer kept the store for longer than `wait_seconds`.
    """
    lock_file = lock_path(store_path)
    try:
        os.makedirs(os.path.dirname(os.path.abspath(lock_file)), exist_ok=True)
        descriptor = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise CascadeError(
            f"cannot create the lock file {lock_file} beside the metadata store ({e.strerror})"
        ) from None
    try:
        _acquire(descriptor, store_path, lock_file, wait_seconds, report, clock, advice)
        _write_holder(descriptor, purpose)
        yield
    finally:
        # Closing the descriptor releases the lock; the file stays (removing
        # it would race with a writer that has just opened it).
        os.close(descriptor)


def _acquire(
    descriptor: int,
    store_path: str,
    lock_file: str,
    wait_seconds: float,
    report: Callable[[str], None],
    clock: Callable[[], float],
    advice: str,
) -> None:
    started = clock()
    deadline = started + wait_seconds
    reported: Optional[str] = None
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                raise CascadeError(f"cannot lock {lock_file} ({e.strerror})") from None
        record = _holder(lock_file)
        holder = describe_holder(record)
        if clock() >= deadline:
            waited = f" for {wait_seconds:.0f}s" if wait_seconds else ""
            raise CascadeError(
                f"metadata store {store_path} is in use by {holder}, and stayed in use"
                f"{waited}; {advice} (a SQLite store takes one writer at a time; a shared "
                "MySQL store takes many)"
            )
        # A holder writes who it is just after it takes the lock: wait a moment
        # for that rather than report "another process".
        named = record is not None or clock() - started >= NAME_WAIT_SECONDS
        if named and holder != reported:
            report(f"waiting for the metadata store {store_path}: it is in use by {holder} ...")
            reported = holder
        time.sleep(POLL_SECONDS)


def _write_holder(descriptor: int, purpose: str) -> None:
    since = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    record = json.dumps({"purpose": purpose, "pid": os.getpid(), "since": since})
    try:
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, record.encode("utf-8"), 0)
    except OSError:
        pass  # who holds the lock is only for others' messages; the lock itself is held
