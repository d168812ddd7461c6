"""What every Cascade command does the same way: print the answer, or one error line."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from core.errors import CascadeError, CheckFailedError


def report(run: Callable[[argparse.Namespace], str], args: argparse.Namespace) -> int:
    """Runs a command and prints its report.

    Args:
      run: The command: takes the parsed arguments, returns the text to print.
      args: The parsed arguments.

    Returns:
      The exit code: 0; 1 when a strict check failed (`CheckFailedError`: its
      report is printed first); or 2 with one `error: ...` line on stderr for a
      problem the user can fix (a CascadeError names the file, field or row).
    """
    try:
        print(run(args))
    except CheckFailedError as e:
        print(e.report)
        print(f"error: {e}", file=sys.stderr)
        return CheckFailedError.exit_code
    except CascadeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
