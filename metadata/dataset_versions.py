"""Versions of an ingested dataset, each with what it fed downstream.

A dataset read from one path (a spam list, a source folder) may be ingested
many times, by runs before and after a fix. Each ingestion's Examples artifact
records the facts of what it read (`reference_facts` for a reference dataset,
`source_facts` per source): its sha256 and rows. Artifacts with the same
sha256 and rows hold one version of the dataset; this module groups them and
walks downstream from each version separately, so the answer says which
models used the bad list and which the fixed one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any, Collection, Iterable, Mapping, Optional, Sequence

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from components.source_example_gen.properties import (
    REFERENCE_FACTS_PROPERTY,
    SOURCE_FACTS_PROPERTY,
)
from metadata.lineage import Lineage, LineageError, LineageGraph


@dataclasses.dataclass(frozen=True)
class DatasetVersion:
    """One version of a dataset and everything derived from it.

    Attributes:
      sha256: The content sha256 recorded at ingestion; None when the ingesting
        artifact recorded no facts (a stock ExampleGen's output).
      rows: The rows recorded with it (None likewise).
      first_seen_ms: When the store first recorded an artifact holding this
        version (epoch milliseconds).
      graph: The downstream graph of the artifacts holding this version.
    """

    sha256: Optional[str]
    rows: Optional[int]
    first_seen_ms: int
    graph: LineageGraph

    def to_json(self) -> dict[str, Any]:
        """{sha256, rows, first_seen_ms} and the version's downstream graph."""
        return {
            "sha256": self.sha256,
            "rows": self.rows,
            "first_seen_ms": self.first_seen_ms,
            **self.graph.to_json(),
        }


def version_of(
    artifact: metadata_store_pb2.Artifact, splits: Optional[Collection[str]] = None
) -> tuple[Optional[str], Optional[int]]:
    """The (sha256, rows) of the data an ingesting artifact holds.

    Args:
      artifact: An ExampleGen's output.
      splits: For an artifact holding several sources, the ones meant (those
        a path named); None or empty for all of them.

    Returns:
      A reference dataset's recorded sha256 and rows; one source's; for
      several sources, a sha256 over their "sha256  source" lines (sorted by
      source, as `sha256sum` prints them) and the sum of their rows; or
      (None, None) when no facts were recorded.
    """
    properties = artifact.custom_properties
    if REFERENCE_FACTS_PROPERTY in properties:
        facts = json.loads(properties[REFERENCE_FACTS_PROPERTY].string_value)
        return facts["sha256"], facts["rows"]
    if SOURCE_FACTS_PROPERTY not in properties:
        return None, None
    per_source = json.loads(properties[SOURCE_FACTS_PROPERTY].string_value)
    chosen = sorted(s for s in per_source if not splits or s in splits)
    if not chosen:
        return None, None
    if len(chosen) == 1:
        [source] = chosen
        return per_source[source]["sha256"], per_source[source]["rows"]
    lines = "".join(f"{per_source[s]['sha256']}  {s}\n" for s in chosen)
    return (
        hashlib.sha256(lines.encode("utf-8")).hexdigest(),
        sum(per_source[s]["rows"] for s in chosen),
    )


def group_versions(
    artifacts: Iterable[metadata_store_pb2.Artifact],
    splits: Optional[Mapping[int, Collection[str]]] = None,
) -> list[tuple[Optional[str], Optional[int], int, list[int]]]:
    """Groups ingesting artifacts by the version of the data they hold.

    Args:
      artifacts: ExampleGen outputs (e.g. everything that read one path).
      splits: Artifact id -> the sources meant (see `version_of`).

    Returns:
      (sha256, rows, first seen in epoch ms, artifact ids ascending) per
      version, the version first seen first (ties by artifact id).
    """
    groups: dict[tuple[Optional[str], Optional[int]], list[metadata_store_pb2.Artifact]] = {}
    for artifact in artifacts:
        key = version_of(artifact, (splits or {}).get(artifact.id))
        groups.setdefault(key, []).append(artifact)
    found = []
    for (sha256, rows), members in groups.items():
        first = min(members, key=lambda a: (a.create_time_since_epoch, a.id))
        found.append(
            (sha256, rows, first.create_time_since_epoch, sorted(a.id for a in members), first.id)
        )
    found.sort(key=lambda version: (version[2], version[4]))
    return [version[:4] for version in found]


def downstream_by_version(
    store: metadata_store.MetadataStore,
    artifact_ids: Sequence[int],
    types: Iterable[str] = (),
    splits: Optional[Mapping[int, Collection[str]]] = None,
) -> list[DatasetVersion]:
    """Everything derived from each version of a dataset, version by version.

    Args:
      store: The metadata store.
      artifact_ids: The ingesting artifacts of the dataset (a path's, see
        `Lineage.ingested_splits`).
      types: Keep only downstream artifacts of these types, as `Lineage.downstream`.
      splits: Artifact id -> the sources meant (see `version_of`).

    Returns:
      The versions, first seen first.

    Raises:
      LineageError: An id names no artifact.
    """
    lineage = Lineage(store)
    types = list(types)
    artifacts = store.get_artifacts_by_id(list(artifact_ids))
    unknown = sorted(set(artifact_ids) - {a.id for a in artifacts})
    if unknown:
        raise LineageError(f"no artifact with id {unknown[0]} in the metadata store")
    return [
        DatasetVersion(sha256, rows, first_ms, lineage.downstream(ids, types))
        for sha256, rows, first_ms, ids in group_versions(artifacts, splits)
    ]
