"""Pass 1's row facts grouped per shard of people through files, not a shuffle.

Beam's local runner (the FnApiRunner) holds a whole GroupByKey in memory until
the next stage reads it, so shuffling every valid row's facts would make
CleanExamples' memory grow with its input. Instead, `FactWriter` buffers
facts per shard of people and, every `FLUSH_FACTS` facts, writes one file
holding one segment per shard; only `FactSegment` references (file, offset,
length) go through the shuffle, a few per shard. Deciding a shard reads its
segments back (`read_segment`), so a worker holds one shard's facts at a time.

A retried bundle writes files under new names and only the references that
reach the shuffle are read, so a failed attempt's files are never counted;
the executor removes the whole folder after the job.
"""

from __future__ import annotations

import os
import pickle
import uuid
from typing import NamedTuple, Optional

from tfx.v1.dsl.io import fileio

# Facts buffered before they are written: about 50 MB of Python objects
# (some 250 bytes a fact), so a worker's buffer stays bounded whatever the
# input's size, and a file holds thousands of facts per shard.
FLUSH_FACTS = 200_000

Fact = tuple[str, tuple]


class FactSegment(NamedTuple):
    """Where one shard's facts from one flush are stored.

    Attributes:
      path: The file.
      offset: The segment's first byte in it.
      length: The segment's size in bytes.
    """

    path: str
    offset: int
    length: int


def read_segment(segment: FactSegment) -> list[Fact]:
    """Reads one segment back.

    Args:
      segment: A reference `write_segments` returned.

    Returns:
      The (canonical id, facts) pairs it holds, in the order written.
    """
    with fileio.open(segment.path, "rb") as f:
        f.seek(segment.offset)
        return pickle.loads(f.read(segment.length))


def write_segments(folder: str, packets: dict[int, list[Fact]]) -> list[tuple[int, FactSegment]]:
    """Writes one file of per-shard segments under `folder`, under a fresh name.

    Args:
      folder: Where the file goes (created if absent).
      packets: Facts per shard; every shard present gets one segment.

    Returns:
      (shard, segment) for each shard of `packets`.
    """
    if not fileio.exists(folder):
        fileio.makedirs(folder)
    path = os.path.join(folder, f"facts-{uuid.uuid4().hex}.pickle")
    segments = []
    offset = 0
    with fileio.open(path, "wb") as f:
        for shard, facts in packets.items():
            blob = pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL)
            f.write(blob)
            segments.append((shard, FactSegment(path, offset, len(blob))))
            offset += len(blob)
    return segments


class FactWriter:
    """Buffers facts per shard and writes them out every `flush_facts` facts.

    Args:
      folder: Where the fact files go.
      flush_facts: Facts buffered before a file is written (FLUSH_FACTS when None).
    """

    def __init__(self, folder: str, flush_facts: Optional[int] = None) -> None:
        self._folder = folder
        self._flush_facts = flush_facts or FLUSH_FACTS
        self._packets: dict[int, list[Fact]] = {}
        self._buffered = 0

    def add(self, shard: int, facts: list[Fact]) -> list[tuple[int, FactSegment]]:
        """Buffers one batch's facts of a shard, writing the buffer out when full.

        Args:
          shard: The shard of people the facts belong to.
          facts: (canonical id, facts) pairs.

        Returns:
          (shard, segment) references when the buffer was written out, else [].
        """
        self._packets.setdefault(shard, []).extend(facts)
        self._buffered += len(facts)
        if self._buffered >= self._flush_facts:
            return self.flush()
        return []

    def flush(self) -> list[tuple[int, FactSegment]]:
        """Writes what is buffered (nothing when empty); returns the references."""
        if not self._packets:
            return []
        packets, self._packets, self._buffered = self._packets, {}, 0
        return write_segments(self._folder, packets)
