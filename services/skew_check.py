"""The skew check every scoring makes: find the reference, compare, write, record.

Used by `services.scoring` (after scoring) and on its own (`check_csv`). The
reference is the training split's statistics of the model being used, found
through lineage (`metadata.training_statistics`); thresholds come from the
config's `serving.skew`. The serving statistics and the anomalies are written
in TFX's artifact layout beside the predictions and recorded in MLMD with the
scoring, so lineage links them to the model and the predictions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from typing import Any, Optional, Sequence

from ml_metadata import metadata_store

from core import interrupts, output_paths
from metadata import scoring_records
from metadata.scoring_records import SkewCheckRecord
from metadata.training_statistics import TrainingStatistics, training_statistics
from models.raw_features import RawColumn
from pipeline.config import SKEW_CALIBRATED, PipelineConfig, ServingConfig
from services.store import StoreOptions
from validation import skew, statistics
from validation.calibration import read_calibration


@dataclasses.dataclass(frozen=True)
class SkewOutcome:
    """A finished check: the comparison and what to record of it."""

    report: skew.SkewReport
    record: SkewCheckRecord

    @property
    def reference_name(self) -> str:
        """What the serving data was compared with, for a report's heading."""
        return f"training statistics, artifact {self.record.training_statistics_id}"


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
    record = SkewCheckRecord(
        training_statistics_id=training.artifact_id,
        statistics_uri=statistics_uri,
        anomalies_uri=anomalies_uri,
        skewed=tuple(f.feature for f in report.skewed),
        max_distance=max((f.distance for f in report.features), default=0.0),
        split=statistics.SERVING_SPLIT,
    )
    return SkewOutcome(report, record)


@dataclasses.dataclass(frozen=True)
class SkewCheckRequest:
    """A skew check of one CSV file, without scoring.

    Attributes:
      input: The raw CSV (with a header).
      config: The pipeline config (names the pipeline, the default model and
        the thresholds).
      store: The metadata store holding the model's lineage.
      model: The serving model folder (None: the latest pushed one in MLMD).
      output: Folder for the statistics and anomalies (None: a new one under
        `<output.root>/skew_checks/`).
      record: Record the check in MLMD as a `cascade.SkewCheck` execution.
      force: Write into an `output` folder that holds files already
        (replacing its statistics and anomalies; other files are kept).
    """

    input: str
    config: PipelineConfig
    store: StoreOptions
    model: Optional[str] = None
    output: Optional[str] = None
    record: bool = True
    force: bool = False


@dataclasses.dataclass(frozen=True)
class SkewCheckResult:
    """A finished check of a CSV file.

    Attributes:
      data: The pass over the CSV (rows, columns it lacks, its statistics).
      output: The folder holding the statistics and anomalies.
      outcome: The comparison, or None when the file has no rows.
      recorded: The MLMD ids written, or None without recording.
      lineage_warning: Why the check's OpenLineage events were not delivered
        to the config's endpoint (one line), or None.
    """

    data: Any
    output: str
    outcome: Optional[SkewOutcome]
    recorded: Optional[scoring_records.RecordedScoring]
    lineage_warning: Optional[str] = None


def check_csv(request: SkewCheckRequest) -> SkewCheckResult:
    """Computes the CSV's statistics, compares them with the model's training data,
    writes them and records the check.

    Raises:
      CascadeError: Config, store, model or input problems, in one sentence;
        an `output` that is a file, or a folder holding files without `force`.
    """
    from serving import scoring
    from serving.csv_statistics import csv_statistics
    from serving.model import read_columns, resolve_model_dir

    if request.output:
        output_paths.check_output_folder(request.output, "--output", request.force)
    config = request.config
    store = request.store.open(read_only=not request.record)
    model_dir = resolve_model_dir(
        request.model or scoring_records.latest_pushed_model(store, config.name)
    )
    columns = read_columns(model_dir)
    reference = find_reference(store, model_dir, columns, config)
    output = request.output or scoring.default_output(
        config.output.root, request.input, folder="skew_checks", suffix=""
    )
    if not request.output:  # a new name under the output root: a file in its way, or read-only
        output_paths.check_output_folder(output, "--output", request.force)
    data = csv_statistics(request.input, columns)
    if not data.rows:
        return SkewCheckResult(data, output, None, None)
    # A SQLite store takes one writer at a time: its lock is taken while a
    # signal can still stop the wait; then writing and recording run to their
    # end (see core.interrupts).
    with contextlib.ExitStack() as held:
        if request.record:
            held.enter_context(request.store.writing(f"skew, pipeline {config.name!r}"))
        interrupts.finish_without_interrupts()
        outcome = check(reference, data.statistics, columns, output, data.absent_columns)
        recorded = lineage_warning = None
        if request.record:
            recorded = scoring_records.record_skew_check(
                store, config.name, model_dir, request.input, data, outcome.record
            )
            from services import openlineage_export

            lineage_warning = openlineage_export.emit_after_execution(
                store, config, recorded.execution_id
            )
    return SkewCheckResult(data, output, outcome, recorded, lineage_warning)
