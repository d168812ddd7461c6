"""What a command may do to the paths it writes, by one rule for every command.

A command writes only what it was asked to write, and removes only what it
created:

- **An output file that exists** is refused, unless the command is given
  `--force` (then it is replaced whole, by a rename of a finished file where
  the filesystem allows).
- **An output folder that holds anything** is refused, unless `--force`
  (then the command writes its own files into it, replacing earlier ones of
  the same names; other files there are kept).
- **Work in progress** goes to a staging folder of its own: a new folder
  beside the target with a name no other file has (`<target>.staging-<random>`),
  created by the command and removed whole when it ends, never a fixed name
  such as `tmp` that a user's file may hold.

- **An output that cannot be written** is named before any work: a file where
  a folder goes (the path, or a folder above it), a folder where a file goes,
  a missing folder, a read-only folder. TensorFlow's and Beam's file
  functions would meet these only when they write, after the work, in a
  traceback (`FailedPreconditionError: ... is not a directory`). Writing is
  tried with a temporary file, at once removed; nothing else is created.

Local paths are checked with `os`; `gs://` paths through `fileio` (whether
one can be written is found when it is written).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from typing import Iterator, Optional

from core.errors import CascadeError

FORCE_FLAG = "--force"
STAGING_MARK = ".staging-"
# Entries named in a refusal of a non-empty folder.
_NAMES_SHOWN = 3


def _fileio():
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a
    # command, and a local path needs neither.
    from tfx.dsl.io import fileio

    return fileio


def exists(path: str) -> bool:
    """Whether anything (a file, a folder, a dangling link) is at `path`."""
    if "://" not in path:
        return os.path.lexists(path)
    return _fileio().exists(path)


def is_folder(path: str) -> bool:
    """Whether `path` is a folder."""
    if "://" not in path:
        return os.path.isdir(path)
    return _fileio().isdir(path)


def folder_entries(path: str) -> list[str]:
    """The names in folder `path`, sorted; a subfolder's ends in "/"."""
    if "://" not in path:
        return sorted(
            n + "/" if os.path.isdir(os.path.join(path, n)) else n for n in os.listdir(path)
        )
    fileio = _fileio()
    found = []
    for entry in fileio.listdir(path):
        name = (entry.decode() if isinstance(entry, bytes) else entry).rstrip("/")
        found.append(name + "/" if fileio.isdir(os.path.join(path, name)) else name)
    return sorted(found)


def nearest_existing(path: str) -> str:
    """Local `path` made absolute, or its nearest ancestor that exists."""
    path = os.path.abspath(path)
    while not os.path.lexists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _write_problem(folder: str) -> Optional[str]:
    """Why no file can be made in local `folder` (the operating system's reason), or None."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        return e.strerror or str(e)
    return None


def check_output_file(path: str, flag: str, force: bool = False, make_folder: bool = False) -> None:
    """Fails before any work if `path` cannot be written as a new file.

    Nothing is written: an existing file (with `force`) is opened for
    appending and closed, and a temporary file is made in the folder (or the
    nearest existing folder above it, with `make_folder`), at once removed.

    Args:
      path: The file the command will write.
      flag: The flag that named it (or a phrase, for a default path), for messages.
      force: The user asked to replace an existing file (`--force`).
      make_folder: The command makes the file's folder when it is missing.

    Raises:
      CascadeError: `path` is a folder, exists without `force`, its folder
        does not exist and is not made, a file is in the way of its folder,
        or it cannot be written (the operating system's reason; local paths,
        a `gs://` path is checked when written).
    """
    if is_folder(path):
        raise CascadeError(f"{flag} {path} is a folder; name a file")
    if exists(path) and not force:
        raise CascadeError(
            f"{flag} {path} exists; pass {FORCE_FLAG} to overwrite it, or name another file"
        )
    if "://" in path:
        return
    folder = os.path.dirname(os.path.abspath(path))
    existing = nearest_existing(folder)
    if not os.path.isdir(existing):
        raise CascadeError(f"{flag} {path}: {existing} is a file, not a folder")
    if existing != folder and not make_folder:
        raise CascadeError(f"{flag} {path}: folder {folder} does not exist; create it first")
    if os.path.isfile(path):  # replaced (--force): it is written, or renamed over
        try:
            open(path, "ab").close()
        except OSError as e:
            raise CascadeError(f"{flag} {path}: cannot write it: {e.strerror or e}") from None
    problem = _write_problem(existing)
    if problem and existing == folder:
        raise CascadeError(f"{flag} {path}: cannot write it: {problem}")
    if problem:
        raise CascadeError(f"{flag} {path}: cannot write in {existing}: {problem}")


def check_output_folder(path: str, flag: str, force: bool = False) -> None:
    """Fails before any work if `path` cannot take the command's files as a folder.

    Nothing is created: a folder that does not exist yet is checked where it
    would be made, in its nearest existing ancestor.

    Args:
      path: The folder the command will write into (made if missing).
      flag: The flag that named it, for messages.
      force: The user asked to write into a folder that holds files (`--force`).

    Raises:
      CascadeError: `path` is a file, or a folder holding anything without
        `force` (naming the first entries); a folder above it is a file; or
        the folder (or the ancestor it would be made in) cannot be written in,
        with the operating system's reason (local paths; a `gs://` path is
        checked when written).
    """
    if exists(path):
        if not is_folder(path):
            raise CascadeError(f"{flag} {path} is a file; name a folder")
        entries = folder_entries(path)
        if entries and not force:
            shown = ", ".join(entries[:_NAMES_SHOWN]) + (
                ", ..." if len(entries) > _NAMES_SHOWN else ""
            )
            raise CascadeError(
                f"{flag} {path} is a folder that holds files already ({shown}); name a new or "
                f"empty folder, or pass {FORCE_FLAG} to write into it (files of other names "
                "there are kept)"
            )
    if "://" in path:
        return
    existing = nearest_existing(path)
    if not os.path.isdir(existing):
        raise CascadeError(f"{flag} {path}: {existing} is a file, not a folder")
    problem = _write_problem(existing)
    if problem:
        raise CascadeError(f"{flag} {path}: cannot write in {existing}: {problem}")


def new_staging_name(target: str) -> str:
    """A name beside `target` that nothing has: `<target>.staging-<random hex>`."""
    while True:
        candidate = f"{target.rstrip('/')}{STAGING_MARK}{uuid.uuid4().hex[:12]}"
        if not exists(candidate):
            return candidate


@contextlib.contextmanager
def staging_folder(target: str) -> Iterator[str]:
    """A new folder beside `target` for work in progress, removed whole at the end.

    The folder is made here, under a name nothing had (`new_staging_name`), so
    removing it removes only what the command wrote.

    Args:
      target: The file or folder the work will be published to.

    Yields:
      The staging folder's path.
    """
    path = new_staging_name(target)
    if "://" not in path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        os.mkdir(path)  # fails if the name was taken since: never someone else's folder
    else:
        _fileio().makedirs(path)
    try:
        yield path
    finally:
        if "://" not in path:
            import shutil

            shutil.rmtree(path, ignore_errors=True)
        elif _fileio().exists(path):
            _fileio().rmtree(path)
