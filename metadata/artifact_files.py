"""Whether the files an artifact's URI names are still there.

MLMD keeps an artifact's record after its files are deleted (a cleaned-up
output root, an expired bucket). Lineage answers name such artifacts as
missing rather than pointing at a path that is gone; a rerun of the
pipeline does not depend on this (TFX's cache checks outputs before reusing
them and runs the step again).

Local paths are checked with the standard library, so a lineage query never
imports TensorFlow for them; a URI with a scheme (`gs://`, `s3://`, ...) goes
through TFX's `fileio`, imported only then.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from typing import Iterator

PRESENT = "present"
MISSING = "missing"
NO_URI = "none"
UNKNOWN = "unknown"


def files_state(uri: str) -> str:
    """PRESENT, MISSING, NO_URI (an artifact that names no files) or UNKNOWN
    (the filesystem could not be asked: no credentials for a bucket, say).

    A URI with a wildcard (a scoring's input pattern) is present while it
    matches at least one file. A store on another machine's disk (a shared
    MySQL store, paths local to the machine that ran) reads as MISSING here.
    """
    if not uri:
        return NO_URI
    wildcard = glob.has_magic(uri)
    try:
        if "://" in uri:
            # Only a remote filesystem needs TFX's fileio (and with it
            # TensorFlow's gfile, seconds of imports): import it only here.
            from tfx.dsl.io import fileio

            if wildcard:
                return PRESENT if fileio.glob(uri) else MISSING
            return PRESENT if fileio.exists(uri) else MISSING
        if wildcard:
            return PRESENT if any(_local_matches(uri)) else MISSING
        return PRESENT if os.path.exists(uri) else MISSING
    except Exception:  # noqa: BLE001 - each filesystem raises its own errors
        return UNKNOWN


def _local_matches(pattern: str) -> Iterator[str]:
    """Local paths matching a `*`/`?`/`[...]` pattern, as TensorFlow's gfile
    globs them: a wildcard matches within one path part, hidden names included
    (the standard library's `glob` skips those).
    """
    if not glob.has_magic(pattern):
        if os.path.lexists(pattern):
            yield pattern
        return
    parent_pattern, name_pattern = os.path.split(pattern)
    if not name_pattern:  # "out/part-*/": folders only
        yield from (p for p in _local_matches(parent_pattern) if os.path.isdir(p))
        return
    parents = _local_matches(parent_pattern) if parent_pattern else iter([""])
    for parent in parents:
        if not glob.has_magic(name_pattern):
            path = os.path.join(parent, name_pattern)
            if os.path.lexists(path):
                yield path
            continue
        try:
            names = os.listdir(parent or os.curdir)
        except OSError:  # a file, or a folder that cannot be listed
            continue
        for name in names:
            if fnmatch.fnmatchcase(name, name_pattern):
                yield os.path.join(parent, name)
