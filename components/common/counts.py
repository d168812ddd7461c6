"""Counting in Beam and bringing the (small) counts back to the executor.

Executors record counts as MLMD custom properties after their Beam pipeline
finishes. Counts are computed by Beam combiners and written as one small JSON
file in the output artifact, then read back with fileio, so nothing but the
counts ever reaches the launching process, and it works on Dataflow and `gs://`.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterator, Mapping

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindows
from tfx.v1.dsl.io import fileio

# The tagged output on which DoFns using BundleCounter emit their counts.
COUNTS = "counts"


@beam.ptransform_fn
def WriteCounts(keys: beam.PCollection, path: str) -> beam.pvalue.PDone:  # noqa: N802
    """Counts each distinct key (a tuple of strings) and writes {"a/b": n} JSON to `path`."""
    return keys | "CountPerKey" >> beam.combiners.Count.PerElement() | "Write" >> WriteCounted(path)


@beam.ptransform_fn
def WriteCounted(  # noqa: N802
    counted: beam.PCollection, path: str
) -> beam.pvalue.PDone:
    """Sums (key, n) pairs per key and writes {"a/b": n} JSON to `path`.

    Counting each branch of a pipeline with `Count.PerElement` and joining only
    the (small) results here keeps branches from waiting on each other.
    """
    return (
        counted
        | "SumPerKey" >> beam.CombinePerKey(sum)
        | "ToSingleList" >> beam.combiners.ToList()
        | "EncodeJson"
        >> beam.Map(
            lambda pairs: json.dumps(
                {"/".join(key): count for key, count in sorted(pairs)}, sort_keys=True
            )
        )
        | "WriteJson" >> beam.io.WriteToText(path, shard_name_template="", num_shards=1)
    )


class BundleCounter:
    """Counts keys inside a DoFn and emits one (key, n) per key when the bundle ends.

    Counting where the rows already are costs a dict update per row, instead of
    a Map and a combiner per row in a counting branch. The totals leave in
    `finish_bundle`, so a retried bundle's counts are dropped with its output:
    the counts stay exact on every runner. Use:

        def start_bundle(self):
            self._counter = BundleCounter()

        def finish_bundle(self):
            yield from self._counter.emit()

    and sum the COUNTS output with `WriteCounted`.
    """

    def __init__(self) -> None:
        self._counts: dict[tuple[str, ...], int] = {}

    def add(self, key: tuple[str, ...], n: int = 1) -> None:
        """Adds `n` to `key`'s count."""
        self._counts[key] = self._counts.get(key, 0) + n

    def emit(self) -> Iterator[beam.pvalue.TaggedOutput]:
        """The bundle's counts on the COUNTS output, then starts again from zero."""
        counts, self._counts = self._counts, {}
        for key, n in counts.items():
            yield beam.pvalue.TaggedOutput(COUNTS, GlobalWindows.windowed_value((key, n)))


def read_counts(path: str) -> dict[str, int]:
    """Reads what `WriteCounts` wrote; an absent file means nothing was counted."""
    if not fileio.exists(path):
        return {}
    with fileio.open(path, "r") as f:
        text = f.read().strip()
    return json.loads(text) if text else {}


def counts_path(uri: str, name: str) -> str:
    """Returns where a component keeps a counts file inside its output artifact."""
    return os.path.join(uri, f"{name}.json")


def nest(counts: Mapping[str, int]) -> dict[str, Any]:
    """Turns {"train/web": 3} into {"train": {"web": 3}} for readable properties."""
    nested: dict[str, Any] = {}
    for key, value in counts.items():
        first, _, rest = key.partition("/")
        if rest:
            nested.setdefault(first, {})[rest] = value
        else:
            nested[first] = value
    return nested
