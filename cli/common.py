"""What every Cascade command does the same way: print the answer, or one error line."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any, Callable

from core import interrupts
from core.errors import CascadeError, ReportedFailureError


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


# What an interrupted command has left, unless its parser sets `on_interrupt`.
STAGED_OUTPUT_REMOVED = "its staged output was removed and nothing was recorded"


def report(run: Callable[[argparse.Namespace], str], args: argparse.Namespace) -> int:
    """Runs a command and prints its report.

    Args:
      run: The command: takes the parsed arguments, returns the text to print.
      args: The parsed arguments; `args.on_interrupt`, if set, says what an
        interruption leaves behind.

    Returns:
      The exit code: 0; 1 when the work failed or a strict check did
      (`ReportedFailureError`: its report is printed first); 2 with one
      `error: ...` line on stderr for a problem the user can fix (a
      CascadeError names the file, field or row); or 128 + the signal's
      number when interrupted (SIGINT: 130, SIGTERM), after the command's
      own cleanup has run, or when the reader of its output went away
      (SIGPIPE: 141, as `head` leaves a Unix tool).
    """
    try:
        with interrupts.signals_as_exceptions():
            print(run(args), flush=True)
    except BrokenPipeError:
        # The reader stopped early (`| head`): end as a Unix tool killed by
        # SIGPIPE would, without Python's traceback at the flush on exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except BaseException as e:  # noqa: B036 - re-raised below unless it is ours
        signum = interrupts.interrupting_signal(e)
        if signum is None and isinstance(e, KeyboardInterrupt):
            # Python's own SIGINT handler, if something put it back (Ctrl-C all the same).
            signum = signal.SIGINT
        if signum is not None:
            _quiet_while_finalizing()
            print(
                f"error: interrupted by {signal.Signals(signum).name}; "
                + getattr(args, "on_interrupt", STAGED_OUTPUT_REMOVED),
                file=sys.stderr,
            )
            return 128 + signum
        if isinstance(e, ReportedFailureError):
            print(e.report)
            print(f"error: {e}", file=sys.stderr)
            return e.exit_code
        if isinstance(e, CascadeError):
            print(f"error: {e}", file=sys.stderr)
            return 2
        raise
    return 0
