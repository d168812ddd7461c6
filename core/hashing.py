"""Hashing a file while it is read, so a digest never costs a second pass."""

from __future__ import annotations

import hashlib
import io
from typing import Any, BinaryIO, Iterator, Sequence


class HashingReader(io.RawIOBase):
    """A read-only binary stream that feeds every byte it returns to a digest.

    Wrap any file object with `read(n)` (a `fileio` file, so `gs://` works):
    once the reader has reached the end, `digest` holds the hash of the whole
    file. Wrap it in `io.BufferedReader` / `io.TextIOWrapper` for lines.

    Args:
      raw: The underlying binary file object.
      digest: A `hashlib` object, updated in place.
    """

    def __init__(self, raw: BinaryIO, digest: Any) -> None:
        super().__init__()
        self._raw = raw
        self.digest = digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        count = len(data)
        buffer[:count] = data
        self.digest.update(data)
        return count


def text_lines(raw: BinaryIO, digest: Any) -> Iterator[str]:
    """The UTF-8 lines of `raw`, line endings kept (as `csv.reader` wants them),
    hashed into `digest` as they are read.

    Each line is decoded on its own, so a byte that is not UTF-8 fails on its
    line (the caller can name it), not somewhere in a megabyte-sized chunk.

    Raises:
      UnicodeDecodeError: A line is not UTF-8.
    """
    for line in io.BufferedReader(HashingReader(raw, digest), 1 << 20):
        yield line.decode("utf-8")


def combined_sha256(digests: Sequence[tuple[str, str]]) -> str:
    """One file's sha256, or for several the sha256 of their `sha256sum` lines in path order.

    Args:
      digests: (path, sha256 hex) of each file read.

    Returns:
      The hex digest that stands for all of them.
    """
    if len(digests) == 1:
        return digests[0][1]
    lines = "".join(f"{sha}  {path}\n" for path, sha in sorted(digests))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()
