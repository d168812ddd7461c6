"""A write that failed for want of space or permission, found inside any wrapper.

A Beam job that cannot write (a full disk, a read-only file system) fails in a
worker; the error reaches the command wrapped in Beam's own exception, often
as text only. `write_failure` finds the operating system's reason in the
exception chain or, failing that, in the message, so the command can say it
in one sentence instead of a worker traceback.
"""

from __future__ import annotations

import errno
from typing import Optional

from core import interrupts

# errno -> the reason as the operating system words it. Only errors a read
# cannot cause: "Permission denied" could as well be an unreadable input.
WRITE_ERRNOS = {
    errno.ENOSPC: "No space left on device",
    errno.EDQUOT: "Disk quota exceeded",
    errno.EROFS: "Read-only file system",
}


def write_failure(error: BaseException) -> Optional[str]:
    """The reason a write failed (e.g. "No space left on device"), or None.

    Args:
      error: What the job raised (a Beam wrapper, an OSError, TensorFlow's
        file errors ...).

    Returns:
      The reason, when `error` or anything in its chain is a write failure of
      a kind in WRITE_ERRNOS; None for every other failure, and for any
      failure of a command that a signal interrupted (that is reported as
      the interruption).
    """
    if interrupts.interrupting_signal(error) is not None:
        return None
    seen = set()
    current: Optional[BaseException] = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in WRITE_ERRNOS:
            return WRITE_ERRNOS[current.errno]
        text = str(current)
        for reason in WRITE_ERRNOS.values():
            if reason in text:
                return reason
        current = current.__cause__ or current.__context__
    return None
