"""A pipeline's history: training data size against test metric, run by run.

Grow the data gradually, no more than 10x at a time, and check the model at
each step: this module lists, per run of a pipeline, the training rows per
source (and the spans read, when the sources arrive as spans), the growth over the previous run and the test metric, and warns when
a run grew the training data more than `MAX_GROWTH` times. All of it comes
from the run contexts in MLMD (see `run_results`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

from ml_metadata import metadata_store

from metadata import run_results, runs

MAX_GROWTH = 10.0
# The metric shown unless one is asked for: a two-class label's AUC, and for
# three or more classes the macro AUC (both the metric the blessing judges).
DEFAULT_METRIC = "auc"
MULTI_CLASS_DEFAULT_METRIC = "macro_auc"


@dataclasses.dataclass(frozen=True)
class RunPoint:
    """One run: its training data and its test metric (None when not recorded)."""

    run: str
    started_ms: int
    training_rows_per_source: dict[str, int]
    metric: Optional[float]
    growth: Optional[float]  # total training rows / the previous measured run's
    # Source -> the spans the run read ({} when the sources are not spanned).
    spans_per_source: dict[str, list[int]] = dataclasses.field(default_factory=dict)

    @property
    def training_rows(self) -> Optional[int]:
        """All training rows of the run, or None if it recorded none."""
        return (
            sum(self.training_rows_per_source.values()) if self.training_rows_per_source else None
        )


def runs_history(
    store: metadata_store.MetadataStore, pipeline: Optional[str], metric: str = DEFAULT_METRIC
) -> tuple[str, list[RunPoint]]:
    """The pipeline's runs, oldest first, with data size, growth and metric.

    Args:
      store: The metadata store.
      pipeline: The pipeline's name (None: the store's only pipeline).
      metric: The overall test metric to show (e.g. auc, binary_accuracy,
        macro_auc, recall:Adelie; see `run_results.is_metric`).

    Returns:
      (pipeline name, one RunPoint per run).

    Raises:
      CascadeError: No such pipeline, or several and none chosen.
    """
    name = runs.pipeline_name(store, pipeline)
    points: list[RunPoint] = []
    previous: Optional[int] = None
    for context in runs.run_contexts(store, name):
        results = run_results.recorded(context)
        rows = results.training_rows
        growth = rows / previous if rows is not None and previous else None
        metric_value = results.evaluation.get(run_results.OVERALL, {}).get(metric)
        points.append(
            RunPoint(
                context.name,
                context.create_time_since_epoch,
                results.training_rows_per_source,
                metric_value,
                growth,
                results.spans_per_source,
            )
        )
        if rows:
            previous = rows
    return name, points


def default_metric(store: metadata_store.MetadataStore, pipeline: Optional[str]) -> str:
    """The metric `history` shows unless asked: `auc` when a run of the pipeline
    recorded it, else `macro_auc` when one recorded that, else `auc`.

    Raises:
      CascadeError: No such pipeline, or several and none chosen.
    """
    name = runs.pipeline_name(store, pipeline)
    recorded = set()
    for context in runs.run_contexts(store, name):
        recorded |= set(run_results.recorded(context).evaluation.get(run_results.OVERALL, {}))
    if DEFAULT_METRIC not in recorded and MULTI_CLASS_DEFAULT_METRIC in recorded:
        return MULTI_CLASS_DEFAULT_METRIC
    return DEFAULT_METRIC


def growth_warnings(points: list[RunPoint], limit: float = MAX_GROWTH) -> list[str]:
    """One warning per run whose training data grew more than `limit` times."""
    warnings = []
    earlier: Optional[RunPoint] = None
    for point in points:
        if point.growth is not None and point.growth > limit and earlier is not None:
            warnings.append(
                f"warning: run {point.run} grew the training data {point.growth:.1f}x over run "
                f"{earlier.run} ({earlier.training_rows:,} -> {point.training_rows:,} rows); "
                f"grow it at most {limit:g}x at a time and check the metric at each step"
            )
        if point.training_rows:
            earlier = point
    return warnings


def to_json(pipeline: str, points: list[RunPoint], metric: str) -> dict[str, Any]:
    """The `--format json` shape (see README, "Data inventory")."""
    return {
        "pipeline": pipeline,
        "metric": metric,
        "runs": [{**dataclasses.asdict(p), "training_rows": p.training_rows} for p in points],
        "warnings": growth_warnings(points),
    }
