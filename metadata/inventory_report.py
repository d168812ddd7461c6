"""The data inventory of a run: declared source facts beside measured ones, from MLMD alone.

The run's ingesting artifact (CsvExampleGen's Examples) carries, per source,
what the config declared (`source_inventory`) and what ingestion measured
(`source_facts`); see `components.source_example_gen`. This module joins the
two into one row per source and adds the cost per labelled example
(`cascade inventory` prints it).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Optional

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from components.source_example_gen.properties import (
    MISSING_LABEL,
    SOURCE_FACTS_PROPERTY,
    SOURCE_INVENTORY_PROPERTY,
)
from core.errors import CascadeError
from core.labels import sort_classes
from metadata import run_results, runs


@dataclasses.dataclass(frozen=True)
class SourceRow:
    """One source: declared fields (None without an inventory) and measured facts."""

    source: str
    declared: Optional[dict[str, Any]]
    measured: dict[str, Any]

    @property
    def class_counts(self) -> dict[str, int]:
        """Labelled rows per label class, classes sorted (`core.labels.sort_classes`)."""
        counts = self.measured.get("label_counts", {})
        return {c: counts[c] for c in sort_classes(set(counts) - {MISSING_LABEL})}

    @property
    def zero_one_label(self) -> bool:
        """Whether the source's labels are all 0 or 1 (its positive rate is measured),
        or it has none."""
        return self.measured.get("positive_rate") is not None or not self.class_counts

    @property
    def cost_per_labelled_example(self) -> Optional[float]:
        """Collection cost / labelled rows, in the declared currency."""
        if not self.declared or not self.measured.get("labelled"):
            return None
        return self.declared["collection_cost"] / self.measured["labelled"]


@dataclasses.dataclass(frozen=True)
class Inventory:
    """The inventory of one run's ingested data."""

    pipeline: str
    run: str
    artifact_id: int
    artifact_uri: str
    sources: list[SourceRow]

    @property
    def zero_one_label(self) -> bool:
        """Whether every source's labels are 0 or 1: the table shows the positive
        share, else each source's share per class."""
        return all(row.zero_one_label for row in self.sources)

    @property
    def class_counts(self) -> dict[str, int]:
        """Labelled rows per label class over all sources, classes sorted."""
        totals: dict[str, int] = {}
        for row in self.sources:
            for c, n in row.class_counts.items():
                totals[c] = totals.get(c, 0) + n
        return {c: totals[c] for c in sort_classes(totals)}

    def to_json(self) -> dict[str, Any]:
        """The `--format json` shape (see README, "Data inventory")."""
        return {
            "pipeline": self.pipeline,
            "run": self.run,
            "artifact_id": self.artifact_id,
            "artifact_uri": self.artifact_uri,
            "sources": [
                {
                    "source": row.source,
                    "declared": row.declared,
                    "measured": row.measured,
                    "cost_per_labelled_example": row.cost_per_labelled_example,
                }
                for row in self.sources
            ],
        }


def _json_property(artifact: metadata_store_pb2.Artifact, name: str) -> Optional[dict]:
    value = artifact.custom_properties.get(name)
    return json.loads(value.string_value) if value is not None and value.string_value else None


def ingested_artifacts(
    store: metadata_store.MetadataStore, run_id: str
) -> list[metadata_store_pb2.Artifact]:
    """The run's outputs that carry measured source facts (the ingesting Examples)."""
    return [
        artifact
        for outputs in run_results.outputs_by_component(store, run_id).values()
        for artifact in outputs
        if SOURCE_FACTS_PROPERTY in artifact.custom_properties
    ]


def read_inventory(
    store: metadata_store.MetadataStore, pipeline: Optional[str], run_id: Optional[str]
) -> Inventory:
    """Builds the inventory of a run (default: the pipeline's latest run).

    Raises:
      CascadeError: No such pipeline or run, or the run ingested nothing with
        recorded facts (it failed before ingestion ended, or predates them).
    """
    name = runs.pipeline_name(store, pipeline)
    run = runs.run_context(store, name, run_id)
    found = ingested_artifacts(store, run.name)
    if not found:
        raise CascadeError(
            f"run {run.name} of {name} has no ingested examples with recorded source facts: "
            "it stopped before CsvExampleGen finished, or ran before Cascade recorded them; "
            "pick another run with --run (see: cascade-lineage runs)"
        )
    artifact = max(found, key=lambda a: a.id)
    measured = _json_property(artifact, SOURCE_FACTS_PROPERTY) or {}
    declared = _json_property(artifact, SOURCE_INVENTORY_PROPERTY) or {}
    rows = [SourceRow(source, declared.get(source), facts) for source, facts in measured.items()]
    return Inventory(name, run.name, artifact.id, artifact.uri, rows)
