"""An output folder checked before a command works: no file in its way, and writable.

TensorFlow's file functions, which write statistics, anomalies and Beam's
outputs, meet a file where a folder should be, or a folder they may not write
in, only when they write, after the work, and say so in a traceback
(`FailedPreconditionError: ... is not a directory`). Checked first, the
problem is one sentence naming the path, before any work is done.
"""

from __future__ import annotations

import os
import tempfile

from core.errors import CascadeError


def nearest_existing(path: str) -> str:
    """`path` made absolute, or its nearest ancestor that exists."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def check_output_folder(path: str, what: str) -> None:
    """Fails if `path` cannot be a folder the command writes in (local paths only).

    Nothing is created: a folder that does not exist yet is checked where it
    would be made, in its nearest existing ancestor. A `gs://` path is checked
    when written.

    Args:
      path: The folder the command will write in.
      what: How messages name it, e.g. "--output".

    Raises:
      CascadeError: `path`, or an ancestor of it, is a file; or the folder
        (or the ancestor it would be made in) cannot be written in, with the
        operating system's reason.
    """
    if "://" in path:
        return
    existing = nearest_existing(path)
    if not os.path.isdir(existing):
        if existing == os.path.abspath(path):
            raise CascadeError(f"{what} {path} is a file, not a folder")
        raise CascadeError(f"{what} {path}: {existing} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as e:
        raise CascadeError(
            f"{what} {path}: cannot write in {existing}: {e.strerror or e}"
        ) from None
