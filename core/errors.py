"""Errors a user can cause and fix; the entry points print them as one line."""


class CascadeError(Exception):
    """A problem in the user's config, data or arguments, with a message naming it."""


class ConfigError(CascadeError):
    """The YAML config is malformed or names something that does not exist."""


class InputDataError(CascadeError):
    """An input dataset is missing, empty, or holds values the config forbids."""


class ReportedFailureError(CascadeError):
    """The command did its work, and the work failed: its report is printed, then the error.

    The exit code is 1, not 2, so a scheduler can tell "the data drifted" or
    "a step failed" from "the command was wrong".

    Attributes:
      report: The text the command would have printed.
    """

    exit_code = 1

    def __init__(self, message: str, report: str) -> None:
        super().__init__(message)
        self.report = report


class CheckFailedError(ReportedFailureError):
    """A check the user asked to be strict about found a problem (e.g. `--fail-on-skew`)."""


class RunFailedError(ReportedFailureError):
    """A pipeline step failed; the summary of what ran is the report."""
