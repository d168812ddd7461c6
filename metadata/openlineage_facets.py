"""OpenLineage facets of what Cascade records: schemas, metrics, counts and checks.

Each builder takes what MLMD or an artifact's file holds and returns one of
the `openlineage-python` client's facet classes, or one of Cascade's two
facets, defined here on the client's base class: the split manifest (ratios,
seed, rows per split and stratum) and the source inventory (owner, labelling
method, cost). Their JSON Schemas ship in `docs/openlineage/`, and each
facet's `_schemaURL` names its schema under `SCHEMA_BASE_URL`.

Nothing here imports TensorFlow: statistics and anomalies arrive as parsed
`tensorflow_metadata` protos.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import attr
from openlineage.client.facet_v2 import (
    DatasetFacet,
    data_quality_assertions_dataset,
    data_quality_metrics_dataset,
    output_statistics_output_dataset,
    schema_dataset,
)

# Where Cascade's facet schemas are published (the files are docs/openlineage/*.json).
SCHEMA_BASE_URL = "https://cascade.dev/spec/facets/1-0-0"
SPLIT_MANIFEST_SCHEMA_URL = f"{SCHEMA_BASE_URL}/SplitManifestDatasetFacet.json"
SOURCE_INVENTORY_SCHEMA_URL = f"{SCHEMA_BASE_URL}/SourceInventoryDatasetFacet.json"
# The keys the facets have in an event's `facets` mapping.
SPLIT_MANIFEST = "cascade_splitManifest"
SOURCE_INVENTORY = "cascade_sourceInventory"

# TFDV's feature types (statistics_pb2.FeatureNameStatistics.Type) as schema types.
_TYPES = {0: "INT", 1: "FLOAT", 2: "STRING", 3: "STRING", 4: "STRUCT"}
# The severity of an assertion about the data a step removed or compared.
INFO, WARNING, ERROR = "info", "warning", "error"


@attr.define
class SplitManifestDatasetFacet(DatasetFacet):
    """How StratifiedSplit cut a dataset: ratios, seed and the rows of each stratum per split.

    Attributes:
      ratios: Split name -> its share of the rows.
      seed: The seed the assignment was derived from.
      stratifyBy: The columns (with the label) that form the strata.
      splitCounts: Split -> stratum (`label=1|source=web`) -> rows.
      maxRatioDeviation: The largest gap between a stratum's share in a split
        and the split's ratio.
    """

    ratios: dict[str, float]
    seed: int
    stratifyBy: list[str]  # noqa: N815 - the facet's JSON field name
    splitCounts: dict[str, dict[str, int]]  # noqa: N815
    maxRatioDeviation: Optional[float] = attr.field(default=None)  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return SPLIT_MANIFEST_SCHEMA_URL


@attr.define
class SourceInventoryDatasetFacet(DatasetFacet):
    """What the config declares about each source in a dataset: owner, labelling, cost.

    Attributes:
      sources: Source name -> its inventory entry (owner, description,
        labelling_method, labeller_qualification, collection_cost, currency,
        collection_days, collected_on), as the config gives it.
    """

    sources: dict[str, dict[str, Any]]

    @staticmethod
    def _get_schema() -> str:
        return SOURCE_INVENTORY_SCHEMA_URL


def split_manifest(props: Mapping[str, Any]) -> Optional[SplitManifestDatasetFacet]:
    """The split manifest of a StratifiedSplit output, from its custom properties.

    Args:
      props: The artifact's custom properties, decoded (`ratios` and
        `split_counts` are JSON text).

    Returns:
      The facet, or None when the artifact is not a split's output.
    """
    import json

    if "split_counts" not in props or "ratios" not in props:
        return None
    deviation = props.get("max_ratio_deviation")
    return SplitManifestDatasetFacet(
        ratios={k: float(v) for k, v in json.loads(props["ratios"]).items()},
        seed=int(props.get("seed", 0)),
        stratifyBy=list(json.loads(props.get("stratify_by") or "[]")),
        splitCounts={
            split: {stratum: int(n) for stratum, n in counts.items()}
            for split, counts in json.loads(props["split_counts"]).items()
        },
        maxRatioDeviation=float(deviation) if deviation not in (None, "") else None,
    )


def source_inventory(
    inventory: Mapping[str, Mapping[str, Any]], sources: Optional[Sequence[str]] = None
) -> Optional[SourceInventoryDatasetFacet]:
    """The inventory of some (or all) sources of an ingestion.

    Args:
      inventory: Source -> its entry, as an ExampleGen recorded it.
      sources: The sources to keep (all when None).

    Returns:
      The facet, or None when no kept source has an entry.
    """
    kept = {
        name: dict(sorted(entry.items()))
        for name, entry in sorted(inventory.items())
        if sources is None or name in sources
    }
    return SourceInventoryDatasetFacet(sources=kept) if kept else None


def _datasets(stats: Any) -> list[Any]:
    return list(stats.datasets) if stats is not None else []


def _name(feature: Any) -> str:
    return ".".join(feature.path.step) if feature.path.step else feature.name


def schema(stats_per_split: Mapping[str, Any]) -> Optional[schema_dataset.SchemaDatasetFacet]:
    """The columns and their types, as TFDV's statistics of a dataset record them.

    Args:
      stats_per_split: Split name -> `DatasetFeatureStatisticsList`.

    Returns:
      The facet (columns in first-seen order), or None without statistics.
    """
    types: dict[str, str] = {}
    for stats in stats_per_split.values():
        for dataset in _datasets(stats):
            for feature in dataset.features:
                types.setdefault(_name(feature), _TYPES.get(feature.type, "STRING"))
    if not types:
        return None
    return schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(name=name, type=kind, ordinal_position=i + 1)
            for i, (name, kind) in enumerate(types.items())
        ]
    )


def _common(feature: Any) -> Any:
    kind = feature.WhichOneof("stats")
    return getattr(feature, kind).common_stats if kind in ("num_stats", "string_stats") else None


def _distinct(per_split: Sequence[Any]) -> Optional[int]:
    """Distinct values of a string column over splits, when every split lists them all."""
    if len(per_split) == 1:
        return int(per_split[0].string_stats.unique)
    values: set[str] = set()
    for feature in per_split:
        buckets = feature.string_stats.rank_histogram.buckets
        if len(buckets) < feature.string_stats.unique:
            return None
        values.update(b.label for b in buckets)
    return len(values)


def quality_metrics(
    stats_per_split: Mapping[str, Any],
) -> Optional[data_quality_metrics_dataset.DataQualityMetricsDatasetFacet]:
    """Rows, and per column the missing, distinct, min and max, from TFDV statistics.

    Over several splits: rows and missing values add up; min and max are the
    extremes; distinct counts are exact when each split's rank histogram holds
    every value (else left out).

    Args:
      stats_per_split: Split name -> `DatasetFeatureStatisticsList`.

    Returns:
      The facet, or None without statistics.
    """
    rows = 0
    features: dict[str, list[Any]] = {}
    for stats in stats_per_split.values():
        for dataset in _datasets(stats):
            rows += int(dataset.num_examples)
            for feature in dataset.features:
                features.setdefault(_name(feature), []).append(feature)
    if not features:
        return None
    metrics = {}
    for name, per_split in features.items():
        commons = [c for c in map(_common, per_split) if c is not None]
        numeric = [f.num_stats for f in per_split if f.WhichOneof("stats") == "num_stats"]
        strings = [f for f in per_split if f.WhichOneof("stats") == "string_stats"]
        metrics[name] = data_quality_metrics_dataset.ColumnMetrics(
            nullCount=sum(int(c.num_missing) for c in commons),
            count=float(sum(int(c.num_non_missing) for c in commons)),
            distinctCount=_distinct(strings)
            if strings and len(strings) == len(per_split)
            else None,
            min=min(n.min for n in numeric) if numeric else None,
            max=max(n.max for n in numeric) if numeric else None,
        )
    return data_quality_metrics_dataset.DataQualityMetricsDatasetFacet(
        rowCount=rows, columnMetrics=metrics
    )


def output_statistics(
    rows: int,
) -> output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet:
    """Rows a step wrote to one output."""
    return output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=int(rows))


def _assertions(
    found: list[data_quality_assertions_dataset.Assertion],
) -> Optional[data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet]:
    if not found:
        return None
    return data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(assertions=found)


def quarantine_assertions(
    accounting: Mapping[str, Any],
) -> Optional[data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet]:
    """CleanExamples' removals, one assertion per reason: how many rows it quarantined.

    Args:
      accounting: CleanExamples' `accounting` record (`removed_per_reason`, `rows_in`).

    Returns:
      The facet (an assertion fails when rows were removed for its reason), or
      None when nothing was counted.
    """
    removed = accounting.get("removed_per_reason") or {}
    rows_in = accounting.get("rows_in")
    return _assertions(
        [
            data_quality_assertions_dataset.Assertion(
                assertion=f"quarantine:{reason}",
                success=int(count) == 0,
                severity=INFO,
                name=f"rows removed as {reason.replace('_', ' ')}",
                expected="0",
                actual=str(int(count)),
                params={"rows_in": rows_in} if rows_in is not None else {},
            )
            for reason, count in sorted(removed.items())
        ]
    )


def skew_assertions(
    anomalies: Any,
) -> Optional[data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet]:
    """The training/serving skew check, one assertion per feature compared.

    Args:
      anomalies: The check's `anomalies_pb2.Anomalies` (`drift_skew_info`
        holds each feature's distance and threshold; `anomaly_info` the
        features over it or not compared).

    Returns:
      The facet, or None when the check compared nothing.
    """
    if anomalies is None:
        return None
    failed = set(anomalies.anomaly_info)
    found = []
    for info in anomalies.drift_skew_info:
        feature = ".".join(info.path.step)
        for measurement in info.skew_measurements:
            found.append(
                data_quality_assertions_dataset.Assertion(
                    assertion="training_serving_skew",
                    success=feature not in failed,
                    column=feature,
                    severity=ERROR if feature in failed else INFO,
                    name=_measure_name(measurement.type),
                    expected=f"<= {measurement.threshold:.6g}",
                    actual=f"{measurement.value:.6g}",
                )
            )
    compared = {a.column for a in found}
    for feature in sorted(failed - compared):
        info = anomalies.anomaly_info[feature]
        found.append(
            data_quality_assertions_dataset.Assertion(
                assertion="training_serving_skew",
                success=False,
                column=feature,
                severity=WARNING,
                name=info.short_description or "not compared",
                description=info.description or None,
            )
        )
    return _assertions(found)


def _measure_name(kind: int) -> str:
    # anomalies_pb2.DriftSkewInfo.Measurement.Type: 1 L_INFTY, 2 JENSEN_SHANNON_DIVERGENCE,
    # 3 NORMALIZED_ABSOLUTE_DIFFERENCE.
    return {1: "L-infinity distance", 2: "Jensen-Shannon divergence"}.get(kind, "distance")


def schema_anomaly_assertions(
    anomalies_per_split: Mapping[str, Any],
) -> Optional[data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet]:
    """ExampleValidator's check of each split against the schema: one assertion per split.

    Args:
      anomalies_per_split: Split -> `anomalies_pb2.Anomalies`.
    """
    found = []
    for split, anomalies in sorted(anomalies_per_split.items()):
        features = sorted(anomalies.anomaly_info)
        found.append(
            data_quality_assertions_dataset.Assertion(
                assertion="schema_anomalies",
                success=not features,
                severity=ERROR if features else INFO,
                name=f"split {split} matches the schema",
                expected="0",
                actual=str(len(features)),
                description=", ".join(features) or None,
            )
        )
    return _assertions(found)


def gate_assertions(
    props: Mapping[str, Any],
) -> Optional[data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet]:
    """DataGate's verdict on the training data (anomalies and drift it tolerates or not).

    Args:
      props: The DataGate report's custom properties (`verdict`,
        `anomalies`, `drifted`).
    """
    if "verdict" not in props:
        return None
    import json

    drifted = json.loads(props.get("drifted") or "[]")
    return _assertions(
        [
            data_quality_assertions_dataset.Assertion(
                assertion="data_gate",
                success=props["verdict"] == "PASSED",
                severity=INFO if props["verdict"] == "PASSED" else ERROR,
                name=f"data gate: {props['verdict']}",
                expected="PASSED",
                actual=str(props["verdict"]),
                params={"anomalies": int(props.get("anomalies") or 0), "drifted": drifted},
            )
        ]
    )
