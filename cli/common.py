"""What every Cascade command does the same way: print the answer, or one error line."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any, Callable

from core import interrupts
from core.errors import CascadeError, CheckFailedError


def _quiet_while_finalizing() -> None:
    """Drops errors raised by finalizers while the interpreter shuts down.

    An interrupted Beam job leaves TensorFlow functions behind; their
    finalizers run after TensorFlow's modules are torn down and each prints
    a TypeError after the command's error line. Nothing can act on them then.
    """
    default = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if not sys.is_finalizing():
            default(unraisable)

    sys.unraisablehook = hook


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
    try:
        with interrupts.signals_as_exceptions():
            print(run(args))
    except BaseException as e:  # noqa: B036 - re-raised below unless it is ours
        signum = interrupts.interrupting_signal(e)
        if signum is not None:
            _quiet_while_finalizing()
            print(
                f"error: interrupted by {signal.Signals(signum).name}; its staged output was "
                "removed and nothing was recorded",
                file=sys.stderr,
            )
            return 128 + signum
        if isinstance(e, CheckFailedError):
            print(e.report)
            print(f"error: {e}", file=sys.stderr)
            return CheckFailedError.exit_code
        if isinstance(e, CascadeError):
            print(f"error: {e}", file=sys.stderr)
            return 2
        raise
    return 0
