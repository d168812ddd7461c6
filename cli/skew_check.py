"""The skew check every scoring makes: find the reference, compare, store, record.

Shared by `cli.predict` (after scoring) and `cli.skew` (on its own). The
reference is the training split's statistics of the model being used, found
through lineage (`metadata.training_statistics`); thresholds come from the
config's `serving.skew`. The serving statistics and the anomalies are written
in TFX's artifact layout beside the predictions and recorded in MLMD with the
scoring, so lineage links them to the model and the predictions.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Optional, Sequence

from ml_metadata import metadata_store

from cli.skew_table import skew_table
from core.errors import CheckFailedError
from metadata import scoring_records
from metadata.scoring_records import SkewCheckRecord
from metadata.training_statistics import TrainingStatistics, training_statistics
from models.raw_features import RawColumn
from pipeline.config import SKEW_CALIBRATED, ServingConfig
from validation import skew, statistics
from validation.calibration import read_calibration


@dataclasses.dataclass(frozen=True)
class SkewOutcome:
    """A finished check: the report, its table and what to record."""

    report: skew.SkewReport
    table: str
    record: SkewCheckRecord


@dataclasses.dataclass(frozen=True)
class Reference:
    """What a model's serving data is checked against, found before any scoring.

    Attributes:
      statistics: The model's training statistics (and its calibration, if any).
      thresholds: The thresholds the config asks for, ready for every column.
    """

    statistics: TrainingStatistics
    thresholds: skew.Thresholds


def thresholds(
    config: Any, reference: TrainingStatistics, columns: Sequence[RawColumn]
) -> skew.Thresholds:
    """The thresholds the config's `serving.skew` asks for, for this model.

    Calibrated mode (the default, also without a config) uses the calibration
    made beside the model's training statistics; a model without one (its
    pipeline ran in fixed mode) is checked with the fixed thresholds, and the
    table's heading says so.

    Raises:
      CascadeError: The calibration file is missing, unreadable or made for
        other features than the model's columns.
    """
    serving = config.serving if config is not None else ServingConfig()
    fixed = skew.SkewThresholds(
        default=serving.skew_default, per_feature=dict(serving.skew_per_feature)
    )
    if serving.skew_mode != SKEW_CALIBRATED:
        return fixed
    if reference.calibration_uri is None:
        return dataclasses.replace(
            fixed,
            note=f"no calibration of training statistics {reference.artifact_id} covers "
            "this model's features",
        )
    calibrated = skew.CalibratedThresholds(
        calibration=read_calibration(reference.calibration_uri),
        false_alarm_rate=serving.skew_false_alarm_rate,
        min_values=serving.skew_min_rows,
        per_feature=dict(serving.skew_per_feature),
        fallback=serving.skew_default,
    )
    calibrated.check_covers([c.name for c in columns], reference.calibration_uri)
    return calibrated


def find_reference(
    store: metadata_store.MetadataStore,
    model_dir: str,
    columns: Sequence[RawColumn],
    config: Any,
) -> Reference:
    """The training statistics and thresholds for the model in `model_dir`.

    Looked up before any scoring, so a model without statistics, or a broken
    calibration, fails before predictions are written.

    Raises:
      CascadeError: The model or its statistics are not in the store, or the
        calibration cannot be used (naming its file).
    """
    found = training_statistics(
        store,
        scoring_records.model_artifact_ids(store, model_dir),
        model_dir,
        [c.name for c in columns],
    )
    return Reference(found, thresholds(config, found, columns))


def check(
    reference: Reference,
    serving_stats: Any,
    columns: Sequence[RawColumn],
    checks_dir: str,
    absent: Sequence[str] = (),
) -> SkewOutcome:
    """Compares, then writes the serving statistics and anomalies under `checks_dir`.

    Args:
      reference: The model's training statistics and thresholds (`find_reference`).
      serving_stats: The serving data's DatasetFeatureStatisticsList.
      columns: The model's raw columns.
      checks_dir: Folder for `statistics/` and `anomalies/` (TFX layouts).
      absent: Model columns the serving data does not have.

    Raises:
      CascadeError: The statistics cannot be compared (naming why).
    """
    training = reference.statistics
    report = skew.compare(
        statistics.read_statistics(training.path),
        serving_stats,
        columns,
        reference.thresholds,
        absent,
    )
    statistics_uri = os.path.join(checks_dir, "statistics")
    anomalies_uri = os.path.join(checks_dir, "anomalies")
    statistics.write_statistics(serving_stats, statistics_uri)
    skew.write_anomalies(report.anomalies, anomalies_uri, statistics.SERVING_SPLIT)
    table = skew_table(report, f"training statistics, artifact {training.artifact_id}")
    record = SkewCheckRecord(
        training_statistics_id=training.artifact_id,
        statistics_uri=statistics_uri,
        anomalies_uri=anomalies_uri,
        skewed=tuple(f.feature for f in report.skewed),
        max_distance=max((f.distance for f in report.features), default=0.0),
        split=statistics.SERVING_SPLIT,
    )
    return SkewOutcome(report, table, record)


def fail_if_skewed(outcome: Optional[SkewOutcome], report_text: str, what_was_kept: str) -> None:
    """`--fail-on-skew`: raises CheckFailedError when a feature is over its threshold.

    Args:
      outcome: The check (None: no check was made).
      report_text: The command's whole report, printed before the error.
      what_was_kept: What the command still wrote, for the error line.

    Raises:
      CheckFailedError: Naming the skewed features (exit code 1).
    """
    if outcome is None or not outcome.report.skewed:
        return
    names = ", ".join(f.feature for f in outcome.report.skewed)
    raise CheckFailedError(
        f"training/serving skew over the threshold in {names} (--fail-on-skew); {what_was_kept}",
        report_text,
    )
