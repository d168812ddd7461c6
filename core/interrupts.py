"""Ctrl-C and SIGTERM as an exception, so a command's cleanup always runs.

Python ends a process on SIGTERM without unwinding it, which would leave a
command's staged output behind. While `signals_as_exceptions()` is active,
both signals raise `Interrupted` in the main thread instead, and every
`finally` runs. Once a command starts publishing its results
(`finish_without_interrupts()`), a signal no longer interrupts it: the
remaining steps (a rename, MLMD writes) take well under a second, and
stopping between them would leave published results unrecorded.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator, Optional

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM, raised in the main thread."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _State:
    """What the handler needs between calls (one command per process)."""

    received: list[int] = []
    finishing = False


def _raise_interrupted(signum: int, frame: object) -> None:
    _State.received.append(signum)
    if _State.finishing:
        return
    # One interruption is enough: a second Ctrl-C must not cut the cleanup short.
    for other in _SIGNALS:
        signal.signal(other, signal.SIG_IGN)
    raise Interrupted(signum)


@contextlib.contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """Raises `Interrupted` on SIGINT or SIGTERM while active (main thread only)."""
    _State.received = []
    _State.finishing = False
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _raise_interrupted) for s in _SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def finish_without_interrupts() -> None:
    """From now on, signals are noted but do not interrupt: the command runs to its end."""
    _State.finishing = True


def interrupting_signal(error: BaseException) -> Optional[int]:
    """The signal that caused `error`, if one interrupted the command.

    A signal that arrives inside a Beam DoFn reaches the command wrapped in
    Beam's own exception; a signal noted before the failure is its cause.
    """
    if isinstance(error, Interrupted):
        return error.signum
    if _State.received and not _State.finishing and not isinstance(error, SystemExit):
        return _State.received[0]
    return None
