"""Whether the files an artifact's URI names are still there.

MLMD keeps an artifact's record after its files are deleted (a cleaned-up
output root, an expired bucket). Lineage answers name such artifacts as
missing rather than pointing at a path that is gone; a rerun of the
pipeline does not depend on this (TFX's cache checks outputs before reusing
them and runs the step again).
"""

from __future__ import annotations

from tfx.dsl.io import fileio

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
    try:
        if any(c in uri for c in "*?["):
            return PRESENT if fileio.glob(uri) else MISSING
        return PRESENT if fileio.exists(uri) else MISSING
    except Exception:  # noqa: BLE001 - each filesystem raises its own errors
        return UNKNOWN
