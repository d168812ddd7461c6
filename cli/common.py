"""What every Cascade command does the same way: print the answer, or one error line."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from typing import Callable, Iterator

from core.errors import CascadeError, CheckFailedError


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM: raised in the main thread so every `finally` runs.

    Python ends a process on SIGTERM without unwinding it, which would leave
    a command's staged output behind; as an exception, cleanup happens.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# Signals received while a command runs. A signal that arrives inside a Beam
# DoFn reaches the command wrapped in Beam's own RuntimeError; this says the
# failure was the interruption.
_received: list[int] = []


def _raise_interrupted(signum: int, frame: object) -> None:
    _received.append(signum)
    raise Interrupted(signum)


@contextlib.contextmanager
def _signals_as_exceptions() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _raise_interrupted) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def report(run: Callable[[argparse.Namespace], str], args: argparse.Namespace) -> int:
    """Runs a command and prints its report.

    Args:
      run: The command: takes the parsed arguments, returns the text to print.
      args: The parsed arguments.

    Returns:
      The exit code: 0; 1 when a strict check failed (`CheckFailedError`: its
      report is printed first); 2 with one `error: ...` line on stderr for a
      problem the user can fix (a CascadeError names the file, field or row);
      or 128 + the signal's number when interrupted (SIGINT, SIGTERM), after
      the command's own cleanup has run.
    """
    _received.clear()
    try:
        with _signals_as_exceptions():
            print(run(args))
    except BaseException as e:  # noqa: B036 - re-raised below unless it is ours
        if isinstance(e, Interrupted) or (_received and not isinstance(e, SystemExit)):
            name = signal.Signals(_received[0]).name
            print(f"error: interrupted by {name}; nothing partial was left behind", file=sys.stderr)
            return 128 + _received[0]
        if isinstance(e, CheckFailedError):
            print(e.report)
            print(f"error: {e}", file=sys.stderr)
            return CheckFailedError.exit_code
        if isinstance(e, CascadeError):
            print(f"error: {e}", file=sys.stderr)
            return 2
        raise
    return 0
