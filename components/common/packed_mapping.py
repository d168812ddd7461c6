"""Dict side inputs that Beam's worker cache sizes in one step.

Beam's SDK worker weighs every side input it caches by walking it object by
object (`objsize.get_deep_size` in `apache_beam.runners.worker.statecache`).
For a `beam.pvalue.AsDict` of tens of thousands of entries (CleanExamples' id
map and removals) or of plans holding a dict per bucket (StratifiedSplit),
that walk costs more than the lookups it serves. A `PackedMapping` carries the
whole mapping as one pickled `bytes` value, which the walk sizes at once, and
unpickles it on first use in each worker.

    aliases = beam.pvalue.AsSingleton(pairs | "PackAliases" >> PackMapping())
"""

from __future__ import annotations

import pickle
from typing import Any, Hashable, Iterator, Mapping, Optional

import apache_beam as beam


class PackedMapping(Mapping):
    """A read-only mapping held as one pickled blob, unpickled when first read.

    Pickling it (as Beam does to move it between workers) carries the blob
    only, never the unpickled dict.
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
            self._mapping = pickle.loads(self._blob)
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
        return (PackedMapping, (self._blob,))


@beam.ptransform_fn
def PackMapping(pairs: beam.PCollection) -> beam.PCollection:  # noqa: N802 - Beam's PTransform naming
    """(key, value) pairs -> one PackedMapping of them (empty for no pairs).

    Meant for `beam.pvalue.AsSingleton`, in place of `beam.pvalue.AsDict`: a
    key given twice keeps one of its values, as a dict built from the pairs
    would.
    """
    return pairs | "ToDict" >> beam.combiners.ToDict() | "Pack" >> beam.Map(PackedMapping.of)
