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

Local paths are checked with `os`; `gs://` paths through `fileio`.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from typing import Iterator

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


def check_output_file(path: str, flag: str, force: bool = False, make_folder: bool = False) -> None:
    """Fails before any work if `path` cannot be written as a new file.

    Args:
      path: The file the command will write.
      flag: The flag that named it (or a phrase, for a default path), for messages.
      force: The user asked to replace an existing file (`--force`).
      make_folder: The command makes the file's folder when it is missing.

    Raises:
      CascadeError: `path` is a folder, exists without `force`, or its folder
        does not exist and is not made (local paths; a `gs://` folder is made
        when written).
    """
    if is_folder(path):
        raise CascadeError(f"{flag} {path} is a folder; name a file")
    if exists(path) and not force:
        raise CascadeError(
            f"{flag} {path} exists; pass {FORCE_FLAG} to overwrite it, or name another file"
        )
    if "://" in path or make_folder:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CascadeError(f"{flag} {path}: folder {folder} does not exist; create it first")


def check_output_folder(path: str, flag: str, force: bool = False) -> None:
    """Fails before any work if `path` cannot take the command's files as a folder.

    Args:
      path: The folder the command will write into (made if missing).
      flag: The flag that named it, for messages.
      force: The user asked to write into a folder that holds files (`--force`).

    Raises:
      CascadeError: `path` is a file, or a folder holding anything without
        `force` (naming the first entries).
    """
    if not exists(path):
        return
    if not is_folder(path):
        raise CascadeError(f"{flag} {path} is a file; name a folder")
    entries = folder_entries(path)
    if entries and not force:
        shown = ", ".join(entries[:_NAMES_SHOWN]) + (", ..." if len(entries) > _NAMES_SHOWN else "")
        raise CascadeError(
            f"{flag} {path} is a folder that holds files already ({shown}); name a new or "
            f"empty folder, or pass {FORCE_FLAG} to write into it (files of other names "
            "there are kept)"
        )


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
