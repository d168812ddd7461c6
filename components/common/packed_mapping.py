"""Dict side inputs that Beam's worker cache sizes in one step.

Beam's SDK worker weighs every side input it caches by walking it object by
object (`objsize.get_deep_size` in `apache_beam.runners.worker.statecache`).
For a `beam.pvalue.AsDict` of tens of thousands of entries, or of plans
holding a dict per bucket (StratifiedSplit's), that walk costs more than the
lookups it serves. A `PackedMapping` carries the whole mapping as one
pickled `bytes` value, which the walk sizes at once, and unpickles it on
first use in each worker.

Each step that reads a side input caches its own copy, so a mapping read by
several steps would be unpickled once per step in one worker.
PackedMappings of the same bytes share one dict per process instead, held
while any of them is alive.

    plans = beam.pvalue.AsSingleton(pairs | "PackPlans" >> PackMapping())
"""

from __future__ import annotations

import hashlib
import pickle
import threading
import weakref
from typing import Any, Hashable, Iterator, Mapping, Optional

import apache_beam as beam


class _SharedDict(dict):
    """A dict the PackedMappings of one blob share (a plain dict cannot be held weakly)."""

    __slots__ = ("__weakref__",)


# Unpacked mappings by their blob's digest, while some PackedMapping uses them.
_UNPACKED: "weakref.WeakValueDictionary[bytes, _SharedDict]" = weakref.WeakValueDictionary()
_UNPACKING = threading.Lock()


class PackedMapping(Mapping):
    """A read-only mapping held as one pickled blob, unpickled when first read.

    Once read it keeps the dict and lets the blob go; every PackedMapping of
    the same bytes in a process reads the same dict, so a worker holds one
    copy however many steps read it. Pickling it (as Beam does to move it
    between workers) carries a blob, never the dict's objects one by one.
    """

    __slots__ = ("_blob", "_mapping")

    def __init__(self, blob: bytes) -> None:
        self._blob = blob
        self._mapping: Optional[dict] = None

    @classmethod
    def of(cls, mapping: Mapping) -> "PackedMapping":
        """Packs `mapping` (its keys and values must pickle)."""
        return cls(pickle.dumps(dict(mapping), protocol=pickle.HIGHEST_PROTOCOL))

    def _unpacked(self) -> dict:
        if self._mapping is None:
            digest = hashlib.blake2b(self._blob, digest_size=16).digest()
            with _UNPACKING:
                mapping = _UNPACKED.get(digest)
                if mapping is None:
                    mapping = _SharedDict(pickle.loads(self._blob))
                    _UNPACKED[digest] = mapping
            self._mapping = mapping
            self._blob = b""
        return self._mapping

    def __getitem__(self, key: Hashable) -> Any:
        return self._unpacked()[key]

    def get(self, key: Hashable, default: Any = None) -> Any:
        return self._unpacked().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._unpacked()

    def __iter__(self) -> Iterator:
        return iter(self._unpacked())

    def __len__(self) -> int:
        return len(self._unpacked())

    def __reduce__(self) -> tuple:
        if self._mapping is None:
            return (PackedMapping, (self._blob,))
        return (PackedMapping, (pickle.dumps(self._mapping, protocol=pickle.HIGHEST_PROTOCOL),))


@beam.ptransform_fn
def PackMapping(pairs: beam.PCollection) -> beam.PCollection:  # noqa: N802 - Beam's PTransform naming
    """(key, value) pairs -> one PackedMapping of them (empty for no pairs).

    Meant for `beam.pvalue.AsSingleton`, in place of `beam.pvalue.AsDict`: a
    key given twice keeps one of its values (which one is not defined, as
    with `AsDict` over a PCollection in no order).

    Args:
      pairs: A PCollection of (key, value) tuples that pickle.

    Returns:
      A PCollection of exactly one PackedMapping.
    """
    return pairs | "ToDict" >> beam.combiners.ToDict() | "Pack" >> beam.Map(PackedMapping.of)
