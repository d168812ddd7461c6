"""Which files of a data folder a run reads, by one rule for every reader.

A source folder (or a span's folder, a spam list's, an id map's) is read
whole: every file directly in it whose name ends in `.csv` or `.csv.gz`, in
any case (`users.csv`, `EXTRA.CSV`, `more.csv.gz`). A `.gz` file is gzip,
decompressed as it is streamed (see `core.csv_contract.open_csv`). Anything
else there, another file or a subfolder, is not read; preflight names it in
one warning line per folder and ingestion records it beside the source's
facts, so nothing is left out without a word.

ExampleGen finds files with one glob per split, and a glob has no "or":
`EXAMPLE_GEN_GLOB` matches every name the rule reads (and a few it does not,
such as `old.csv.bak`); the ExampleGen executor keeps the rule's files of
what it matches. Span folders are found with the same glob, so preflight and
TFX's driver agree on which folders are spans.
"""

from __future__ import annotations

import dataclasses
import os

READ_SUFFIXES = (".csv", ".csv.gz")
# Every name ending in .csv, or .csv and more, in any case.
EXAMPLE_GEN_GLOB = "*.[cC][sS][vV]*"
NOT_CSV = "not .csv or .csv.gz"
A_FOLDER = "a folder"


def is_csv_name(name: str) -> bool:
    """Whether a name is a CSV file's, read by every reader: it ends in `.csv` or
    `.csv.gz`, in any case."""
    return name.lower().endswith(READ_SUFFIXES)


@dataclasses.dataclass(frozen=True)
class FolderFiles:
    """One folder's entries, split by the rule.

    Attributes:
      folder: The folder (as given, without a trailing slash).
      read: The paths of the files read, sorted.
      not_read: The names of the other entries, sorted; a subfolder's name
        ends in "/".
    """

    folder: str
    read: list[str]
    not_read: list[str]

    def describe_not_read(self) -> str:
        """The entries not read, each with why: "2025/ (a folder), notes.txt (not .csv or .csv.gz)"."""
        return describe(self.not_read)

    def warning(self) -> str:
        """The warning line's text (without "warning: "); "" when every entry is read."""
        if not self.not_read:
            return ""
        return f"{self.folder}: not read: {self.describe_not_read()}"


def describe(names: list[str]) -> str:
    """Entries not read, each with why (see `FolderFiles.describe_not_read`)."""
    return ", ".join(f"{name} ({A_FOLDER if name.endswith('/') else NOT_CSV})" for name in names)


def list_folder(folder: str) -> FolderFiles:
    """Lists a folder and splits its entries by the rule.

    Args:
      folder: A local folder or a URI (`gs://...`).

    Returns:
      The files read and the other entries.

    Raises:
      Whatever the filesystem raises for a folder it cannot list (the caller
      names the field); a missing folder too.
    """
    # The module tfx.v1.dsl.io.fileio re-exports (tfx.v1 adds seconds to a command).
    from tfx.dsl.io import fileio

    folder = folder.rstrip("/") or "/"
    read, not_read = [], []
    for entry in fileio.listdir(folder):
        name = (entry.decode() if isinstance(entry, bytes) else entry).rstrip("/")
        path = os.path.join(folder, name)
        if fileio.isdir(path):
            not_read.append(name + "/")
        elif is_csv_name(name):
            read.append(path)
        else:
            not_read.append(name)
    return FolderFiles(folder, sorted(read), sorted(not_read))
