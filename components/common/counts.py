"""Counting in Beam and bringing the (small) counts back to the executor.

Executors record counts as MLMD custom properties after their Beam pipeline
finishes. Counts are computed by Beam combiners and written as one small JSON
file in the output artifact, then read back with fileio, so nothing but the
counts ever reaches the launching process, and it works on Dataflow and `gs://`.
"""

from __future__ import annotations

import json
import os
from typing import Any, Mapping

import apache_beam as beam
from tfx.dsl.io import fileio


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
