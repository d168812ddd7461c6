"""Process-wide settings every entry point applies before TensorFlow is imported.

TF 2.16 defaults to Keras 3, but tf.Transform's layer is a tf-keras layer;
mixing the two fails ("A KerasTensor cannot be used as input to a TensorFlow
function"), so `TF_USE_LEGACY_KERAS=1` must be set before the first TF import.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import warnings
from typing import Iterator, Sequence


_CHATTY_LOGGERS = ("tensorflow", "absl", "apache_beam", "tfx", "ml_metadata")


def prepare_tensorflow() -> None:
    """Selects tf-keras and silences TensorFlow's C++ start-up chatter."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # google-api-core warns at import that Python 3.10 is old; TFX 1.16 needs it.
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\..*")
    if "tensorflow" in sys.modules and os.environ["TF_USE_LEGACY_KERAS"] != "1":
        raise RuntimeError("TF_USE_LEGACY_KERAS must be 1 before TensorFlow is imported")


class RedactSecrets(logging.Filter):
    """Removes secrets from log records before any handler writes them.

    TFX logs its deployment config, metadata connection included, so a MySQL
    password would reach the log without this. Known secrets and any
    `password: "..."` field of a printed proto are replaced by `***`.
    """

    _PROTO_FIELD = re.compile(r'(password:\s*)"(?:[^"\\]|\\.)*"')

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        """`text` with every known secret and proto password field replaced by `***`."""
        redacted = self._PROTO_FIELD.sub(r'\1"***"', text)
        for secret in self._secrets:
            redacted = redacted.replace(secret, "***")
        return redacted

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        # A logged exception's text (a traceback whose message may quote a
        # connection config) is written after the message: redact it too. The
        # formatter uses `exc_text` when it is set.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def send_logs_to_file(path: str, verbose: bool, secrets: Sequence[str] = ()) -> None:
    """Routes Python, absl, TF and Beam logging to `path`; the console keeps warnings
    only when `verbose` is False, so the run summary is not drowned.

    Args:
      path: Log file (its folder is created).
      verbose: Also echo INFO logs to stderr.
      secrets: Strings that must never be written (e.g. a database password).
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    from absl import logging as absl_logging

    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    file_handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    file_handler.setLevel(logging.INFO)
    redact = RedactSecrets(secrets)
    file_handler.addFilter(redact)
    root.addHandler(file_handler)
    if verbose:
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(logging.INFO)
        console.addFilter(redact)
        root.addHandler(console)
    root.setLevel(logging.INFO)
    absl_logging.use_python_logging(quiet=True)
    absl_logging.set_verbosity(absl_logging.INFO)
    # TensorFlow gives its logger a console handler when it is imported before
    # the root logger has one; route it (and its peers) through the root instead.
    for name in _CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True
    if not verbose:
        warnings.filterwarnings("ignore")
        logging.captureWarnings(True)


@contextlib.contextmanager
def stderr_to_file(path: str) -> Iterator[None]:
    """Sends everything written to file descriptor 2 to `path` while active.

    TensorFlow's C++ logging and subprocesses that Beam starts (e.g. packaging
    the project for its workers) write straight to the process's stderr, below
    Python's logging; redirecting the descriptor is the only way to keep them
    out of the console. Python's `sys.stderr` follows, as it writes to fd 2.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
