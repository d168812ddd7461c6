"""A SQLite metadata store file checked before ML Metadata opens it.

MLMD opens whatever file it is given: an empty file or another program's
SQLite database gets MLMD's tables created in it (or, read-only, fails with
"attempt to write a readonly database"), and a damaged file fails with an
SQL statement in the message. Python's own `sqlite3` can tell these cases
apart first, read-only, so each gets one sentence naming the file.
"""

from __future__ import annotations

import pathlib
import sqlite3
from typing import Optional

from core.errors import CascadeError

_SQLITE_MAGIC = b"SQLite format 3\x00"
# Every MLMD schema version has this table (it holds the schema version).
_MLMD_TABLE = "MLMDEnv"


def _tables(path: str) -> list[str]:
    # A file URI escapes '#', '?' and '%' in the path, which would cut it short.
    uri = pathlib.Path(path).resolve().as_uri() + "?mode=ro"
    connection = sqlite3.connect(uri, uri=True, timeout=1.0)
    try:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return sorted(name for (name,) in rows)
    finally:
        connection.close()


def problem(path: str, read_only: bool) -> Optional[str]:
    """Why `path` cannot be used as the metadata store, or None if it can.

    A missing file is not a problem here (the caller decides whether it may
    be created).

    Args:
      path: The SQLite file.
      read_only: Whether the caller only reads (then the file must already
        hold an MLMD store; otherwise an empty file may become one).
    """
    try:
        with open(path, "rb") as f:
            head = f.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return None
    except OSError as e:
        return f"metadata store {path} cannot be read ({e.strerror})"
    if not head:
        if read_only:
            return f"metadata store {path} is an empty file (no pipeline has run into it)"
        return None
    if head != _SQLITE_MAGIC:
        return f"metadata store {path} is not a SQLite file (wrong --metadata or output root?)"
    try:
        tables = _tables(path)
    except sqlite3.OperationalError:
        # Locked by a writer, or a journal left by a killed one that only a
        # writable connection may roll back: not damage. MLMD handles both.
        return None
    except sqlite3.DatabaseError as e:
        return f"metadata store {path} is damaged ({e}); restore it from a copy or use a new one"
    if _MLMD_TABLE in tables:
        return None
    if not tables and not read_only:
        return None
    if not tables:
        return f"metadata store {path} is an empty SQLite database (no pipeline has run into it)"
    shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
    return (
        f"metadata store {path} is a SQLite database but not an ML Metadata store "
        f"(its tables: {shown}); name another file"
    )


def check(path: str, read_only: bool) -> None:
    """Raises if `path` cannot be used as the metadata store (see `problem`).

    Raises:
      CascadeError: Naming the file and what is wrong with it.
    """
    found = problem(path, read_only)
    if found:
        raise CascadeError(found)
