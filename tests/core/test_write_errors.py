"""core.write_errors: a failed write's reason, found inside Beam-style wrappers."""

from __future__ import annotations

import errno
import os

from core.write_errors import write_failure


def test_an_oserror_of_a_full_disk_is_a_write_failure() -> None:
    error = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/out/x")
    assert write_failure(error) == "No space left on device"


def test_the_reason_is_found_through_the_exception_chain() -> None:
    try:
        try:
            raise OSError(errno.EROFS, "Read-only file system", "/out")
        except OSError as inner:
            raise RuntimeError("a worker failed") from inner
    except RuntimeError as outer:
        assert write_failure(outer) == "Read-only file system"


def test_the_reason_is_found_in_a_wrapped_message() -> None:
    # What Beam re-raises from a worker: the worker's traceback as text.
    wrapped = RuntimeError(
        "Traceback ...\nOSError: [Errno 28] No space left on device [while running 'Write']"
    )
    assert write_failure(wrapped) == "No space left on device"


def test_other_failures_are_not_write_failures() -> None:
    assert write_failure(ValueError("bad cell")) is None
    assert write_failure(FileNotFoundError(errno.ENOENT, "No such file", "/in")) is None
    # An unreadable input is not a failed write.
    assert write_failure(PermissionError(errno.EACCES, "Permission denied", "/in")) is None
