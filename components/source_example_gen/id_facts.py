"""The ids a dataset holds, per id column: how many distinct ids, and a digest of the set.

Two versions of a spam list that hold the same ids have the same digest, however
their rows are ordered or repeated; a list with one id more or less has another.
The digest is the sum, modulo 2**256, of the sha256 of each distinct id (as
text): it is the same for any order, so Beam combines it per worker and per
column without sorting or gathering the ids in one place. Distinct ids come from
a Beam `Distinct` over (column, id) pairs, so no set of ids is held in memory.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable, Sequence

import apache_beam as beam
from tfx.v1.dsl.io import fileio

# The tagged output on which the encoding step emits (column, id) pairs.
IDS = "ids"
_MODULUS = 1 << 256


def id_term(value: str) -> int:
    """One id's term of the set digest: its UTF-8 text's sha256, as an integer."""
    return int.from_bytes(hashlib.sha256(value.encode("utf-8")).digest(), "big")


def set_facts(distinct: int, total: int) -> dict[str, Any]:
    """{"distinct": n, "digest": 64 hex digits} from the count and the sum of terms."""
    return {"distinct": distinct, "digest": f"{total % _MODULUS:064x}"}


def facts_of(ids: Iterable[str]) -> dict[str, Any]:
    """The facts of a set of ids held in memory (what the Beam steps compute at scale).

    Args:
      ids: Ids as text; repeats count once.

    Returns:
      {"distinct": number of distinct ids, "digest": the set's digest}.
    """
    distinct = set(ids)
    return set_facts(len(distinct), sum(id_term(value) for value in distinct))


class CombineIdSet(beam.CombineFn):
    """Distinct ids of one column -> their `set_facts`."""

    def create_accumulator(self) -> tuple[int, int]:
        return 0, 0

    def add_input(self, accumulator: tuple[int, int], value: str) -> tuple[int, int]:
        n, total = accumulator
        return n + 1, (total + id_term(value)) % _MODULUS

    def merge_accumulators(self, accumulators: Iterable[tuple[int, int]]) -> tuple[int, int]:
        n = total = 0
        for count, part in accumulators:
            n, total = n + count, (total + part) % _MODULUS
        return n, total

    def extract_output(self, accumulator: tuple[int, int]) -> dict[str, Any]:
        return set_facts(*accumulator)


@beam.ptransform_fn
def WriteIdFacts(  # noqa: N802 - Beam's naming of composite transforms
    pairs: beam.PCollection, path: str
) -> beam.pvalue.PDone:
    """(column, id) pairs -> {column: {"distinct", "digest"}} JSON written to `path`."""
    return (
        pairs
        | "DistinctIds" >> beam.Distinct()
        | "CombineIdSets" >> beam.CombinePerKey(CombineIdSet())
        | "ToSingleList" >> beam.combiners.ToList()
        | "EncodeJson" >> beam.Map(lambda found: json.dumps(dict(sorted(found)), sort_keys=True))
        | "WriteJson" >> beam.io.WriteToText(path, shard_name_template="", num_shards=1)
    )


def read_id_facts(path: str, columns: Sequence[str]) -> dict[str, dict[str, Any]]:
    """What `WriteIdFacts` wrote, with every asked column (one without ids: 0 distinct).

    Args:
      path: The JSON file; an absent file means no ids were seen.
      columns: The id columns asked for.
    """
    found: dict[str, Any] = {}
    if fileio.exists(path):
        with fileio.open(path, "r") as f:
            text = f.read().strip()
        found = json.loads(text) if text else {}
    return {column: found.get(column, set_facts(0, 0)) for column in columns}
