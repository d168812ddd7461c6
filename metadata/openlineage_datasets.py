"""MLMD artifacts and raw inputs as OpenLineage datasets, with the facets Cascade records.

A dataset is named by where its files are, per OpenLineage's naming spec: a
local path is (`file`, `/abs/path`), a bucket object (`gs://bucket`,
`path/in/bucket`). The `version` facet tells apart artifacts at one URI and
versions of one raw folder: `artifact-<id>` (with the content sha256 when
Cascade recorded one), and `sha256-<hex>` for a raw input.

Facets come from what MLMD already holds (counts and manifests as custom
properties) and from the statistics and anomalies files TFDV wrote, read
through TFX's `fileio` (local folders and buckets alike).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Callable, Mapping, Optional

from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.facet_v2 import data_quality_metrics_dataset, dataset_version_dataset
from openlineage.client.naming.dataset import GCS, S3, LocalFileSystem

from components.source_example_gen.properties import (
    REFERENCE_FACTS_PROPERTY,
    SOURCE_FACTS_PROPERTY,
    SOURCE_INVENTORY_PROPERTY,
)
from metadata import openlineage_facets as facets

# TFX's layout of statistics and anomalies artifacts: `<uri>/Split-<split>/<file>`.
STATS_FILE = "FeatureStats.pb"
ANOMALIES_FILE = "SchemaDiff.pb"


def dataset_id(uri: str) -> tuple[str, str]:
    """(namespace, name) of the data at a URI, as OpenLineage's naming spec gives them.

    Args:
      uri: A local path (made absolute) or `scheme://bucket/path`.
    """
    if "://" not in uri:
        naming = LocalFileSystem(path=os.path.abspath(uri))
        return naming.get_namespace(), naming.get_name()
    scheme, rest = uri.split("://", 1)
    bucket, _, key = rest.partition("/")
    key = key.rstrip("/") or "/"
    if scheme == "gs":
        naming = GCS(bucket_name=bucket, object_key=key)
    elif scheme == "s3":
        naming = S3(bucket_name=bucket, object_key=key)
    else:
        return f"{scheme}://{bucket}", key
    return naming.get_namespace(), naming.get_name()


@dataclasses.dataclass(frozen=True)
class Artifact:
    """What the dataset of one MLMD artifact is built from.

    Attributes:
      id: The artifact id.
      type: Its type name.
      uri: Its URI.
      properties: Its properties, decoded.
      custom: Its custom properties, decoded (JSON text left as text).
    """

    id: int
    type: str
    uri: str
    properties: Mapping[str, Any]
    custom: Mapping[str, Any]

    def split_names(self) -> list[str]:
        try:
            return list(json.loads(self.properties.get("split_names") or "[]"))
        except ValueError:
            return []

    def json(self, key: str) -> Any:
        """A custom property holding JSON, decoded (None when absent or unreadable)."""
        try:
            return json.loads(self.custom[key]) if key in self.custom else None
        except (TypeError, ValueError):
            return None


def read_protos(
    uri: str, splits: list[str], file_name: str, parse: Callable[[bytes], Any]
) -> dict[str, Any]:
    """Split -> the proto in `<uri>/Split-<split>/<file_name>`, for the files that exist.

    Read through TFX's fileio, so a bucket's artifacts are read as a local
    folder's; an artifact whose files are gone gives {}.
    """
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    found = {}
    for split in splits:
        path = f"{uri.rstrip('/')}/Split-{split}/{file_name}"
        try:
            if not fileio.exists(path):
                continue
            with fileio.open(path, "rb") as f:
                found[split] = parse(f.read())
        except Exception:  # noqa: BLE001 - an unreadable file is a missing facet, not an error
            continue
    return found


def read_statistics(artifact: Artifact) -> dict[str, Any]:
    """Split -> TFDV statistics of an ExampleStatistics artifact."""
    from tensorflow_metadata.proto.v0 import statistics_pb2

    return read_protos(
        artifact.uri,
        artifact.split_names(),
        STATS_FILE,
        statistics_pb2.DatasetFeatureStatisticsList.FromString,
    )


def read_anomalies(artifact: Artifact) -> dict[str, Any]:
    """Split -> TFDV anomalies of an ExampleAnomalies artifact."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    return read_protos(
        artifact.uri, artifact.split_names(), ANOMALIES_FILE, anomalies_pb2.Anomalies.FromString
    )


def _sha256(artifact: Artifact) -> Optional[str]:
    """The content sha256 Cascade recorded for an artifact's data, if one."""
    reference = artifact.json(REFERENCE_FACTS_PROPERTY)
    if isinstance(reference, dict) and reference.get("sha256"):
        return str(reference["sha256"])
    value = artifact.custom.get("sha256")
    return str(value) if value else None


def version(artifact: Artifact) -> dataset_version_dataset.DatasetVersionDatasetFacet:
    """`artifact-<id>`, with `-sha256-<hex>` when the content's sha256 is recorded."""
    sha = _sha256(artifact)
    text = f"artifact-{artifact.id}" + (f"-sha256-{sha}" if sha else "")
    return dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=text)


def rows_written(artifact: Artifact) -> Optional[int]:
    """The rows Cascade counted into an artifact when it was written, if it did."""
    sources = artifact.json(SOURCE_FACTS_PROPERTY)
    if isinstance(sources, dict):
        return sum(int(f.get("rows", 0)) for f in sources.values())
    reference = artifact.json(REFERENCE_FACTS_PROPERTY)
    if isinstance(reference, dict) and "rows" in reference:
        return int(reference["rows"])
    split_names = artifact.split_names()
    if split_names == ["rejected"] and "rejected" in artifact.custom:
        return int(artifact.custom["rejected"])
    for key in ("kept", "input_examples", "rows"):
        if key in artifact.custom:
            return int(artifact.custom[key])
    return None


def dataset_facets(artifact: Artifact, statistics: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    """The facets that describe an artifact's data wherever it is read or written.

    Args:
      artifact: The artifact.
      statistics: Split -> TFDV statistics of its data (from the step that
        computed them), or None.

    Returns:
      Facet key -> facet: `version` always; `schema` and
      `dataQualityMetrics` with statistics; Cascade's split manifest and
      source inventory where recorded.
    """
    found: dict[str, Any] = {"version": version(artifact)}
    if statistics:
        schema = facets.schema(statistics)
        if schema is not None:
            found["schema"] = schema
        metrics = facets.quality_metrics(statistics)
        if metrics is not None:
            found["dataQualityMetrics"] = metrics
    manifest = facets.split_manifest(artifact.custom)
    if manifest is not None:
        found[facets.SPLIT_MANIFEST] = manifest
    inventory = artifact.json(SOURCE_INVENTORY_PROPERTY)
    if isinstance(inventory, dict):
        facet = facets.source_inventory(inventory)
        if facet is not None:
            found[facets.SOURCE_INVENTORY] = facet
    return found


def input_dataset(
    artifact: Artifact,
    statistics: Optional[Mapping[str, Any]],
    assertions: Optional[Any] = None,
) -> InputDataset:
    """An artifact as a run's input, with the checks that run made of it (if any)."""
    namespace, name = dataset_id(artifact.uri)
    return InputDataset(
        namespace=namespace,
        name=name,
        facets=dataset_facets(artifact, statistics),
        inputFacets={"dataQualityAssertions": assertions} if assertions is not None else {},
    )


def output_dataset(artifact: Artifact, statistics: Optional[Mapping[str, Any]]) -> OutputDataset:
    """An artifact as a run's output, with the rows written when Cascade counted them."""
    namespace, name = dataset_id(artifact.uri)
    rows = rows_written(artifact)
    return OutputDataset(
        namespace=namespace,
        name=name,
        facets=dataset_facets(artifact, statistics),
        outputFacets={"outputStatistics": facets.output_statistics(rows)}
        if rows is not None
        else {},
    )


def raw_inputs(execution_props: Mapping[str, Any], outputs: list[Artifact]) -> list[InputDataset]:
    """The folders an ExampleGen read, one dataset per input split.

    A split's folder is its pattern's folder under `input_base` (the demo's
    `web/*.csv` -> `<base>/web`), or `input_base` itself; its version is the
    sha256 the ingestion recorded of its files, its row count and inventory
    those recorded with it.

    Args:
      execution_props: The ExampleGen execution's properties, decoded
        (`input_base`, `input_config`).
      outputs: Its output artifacts (their facts describe what was read).

    Returns:
      The input datasets, or [] for an execution that read no folder.
    """
    base = execution_props.get("input_base")
    if not base:
        return []
    try:
        splits = json.loads(execution_props.get("input_config") or "{}").get("splits", [])
    except ValueError:
        splits = []
    sources: dict[str, Any] = {}
    reference: Optional[dict[str, Any]] = None
    inventory: dict[str, Any] = {}
    for artifact in outputs:
        sources.update(artifact.json(SOURCE_FACTS_PROPERTY) or {})
        reference = artifact.json(REFERENCE_FACTS_PROPERTY) or reference
        inventory.update(artifact.json(SOURCE_INVENTORY_PROPERTY) or {})
    found = []
    for split in splits or [{"name": "", "pattern": ""}]:
        name, pattern = split.get("name", ""), split.get("pattern", "")
        folder = os.path.dirname(pattern)
        path = (
            base.rstrip("/") + "/" + folder
            if folder and not any(c in folder for c in "{*?[")
            else base
        )
        facts = sources.get(name) or (reference if len(splits) <= 1 else None) or {}
        dataset_facets: dict[str, Any] = {}
        if facts.get("sha256"):
            dataset_facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=f"sha256-{facts['sha256']}"
            )
        if "rows" in facts:
            dataset_facets["dataQualityMetrics"] = (
                data_quality_metrics_dataset.DataQualityMetricsDatasetFacet(
                    rowCount=int(facts["rows"]),
                    bytes=int(facts["bytes"]) if "bytes" in facts else None,
                    fileCount=int(facts["files"]) if "files" in facts else None,
                    columnMetrics={},
                )
            )
        facet = facets.source_inventory(inventory, [name])
        if facet is not None:
            dataset_facets[facets.SOURCE_INVENTORY] = facet
        namespace, dataset_name = dataset_id(path)
        if all((d.namespace, d.name) != (namespace, dataset_name) for d in found):
            found.append(
                InputDataset(namespace=namespace, name=dataset_name, facets=dataset_facets)
            )
    return found
