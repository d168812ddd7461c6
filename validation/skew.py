"""Training/serving skew: serving statistics against the training split's, per feature.

The comparison is TFDV's own (`tfdv.validate_statistics` with
`serving_statistics`): L-infinity distance between the value distributions of a
categorical (string) feature, Jensen-Shannon divergence between the histograms
of a numeric one. Each feature's threshold comes from the config's
`serving.skew`: calibrated on the training data for the serving sample's size
(`CalibratedThresholds`, see `validation.calibration`), or fixed
(`SkewThresholds`: a default and per-feature overrides). A calibrated check
gives no verdict on a feature with fewer serving values than its minimum: at
that size the check has little power.

A model feature the serving data does not have at all, or has no value for in
any row, cannot be compared: it is reported as skew (distance 1, the maximum of
both measures), since the model would see only its training default.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Mapping, Optional, Protocol, Sequence

from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

from core.environment import stderr_to_file
from core.errors import CascadeError
from models.raw_features import STRING, RawColumn
from validation.calibration import Calibration
from validation.statistics import feature_name, raw_schema

L_INFINITY = "L-infinity"
JENSEN_SHANNON = "Jensen-Shannon"
MAX_DISTANCE = 1.0
DEFAULT_THRESHOLD = 0.1

OK = "ok"
SKEW = "SKEW"
LOW_POWER = "too few rows"
ANOMALIES_FILE = "SchemaDiff.pb"


@dataclasses.dataclass(frozen=True)
class SkewThresholds:
    """The largest distance each feature may show before it counts as skew.

    Attributes:
      default: For every feature without its own threshold.
      per_feature: Feature name -> threshold.
      note: Why fixed thresholds are used where calibrated ones were asked for.
    """

    default: float = DEFAULT_THRESHOLD
    per_feature: Mapping[str, float] = dataclasses.field(default_factory=dict)
    note: str = ""

    def for_feature(self, name: str, serving_values: int = 0) -> float:
        """The feature's threshold; a fixed one does not depend on the sample."""
        return self.per_feature.get(name, self.default)

    def too_few(self, serving_values: int) -> bool:
        """Fixed thresholds judge every sample, however small."""
        return False

    def describe(self) -> str:
        return f"fixed thresholds ({self.note})" if self.note else "fixed thresholds"


@dataclasses.dataclass(frozen=True)
class CalibratedThresholds:
    """Thresholds from the training data's own resampled distances.

    Attributes:
      calibration: The model's calibration (`validation.calibration`).
      false_alarm_rate: The per-feature rate the thresholds aim at.
      min_values: Fewer serving values than this get no verdict.
      per_feature: Feature name -> a fixed threshold that overrides calibration.
      fallback: The threshold of a feature too sparse in training to calibrate.
    """

    calibration: Calibration
    false_alarm_rate: float
    min_values: int
    per_feature: Mapping[str, float] = dataclasses.field(default_factory=dict)
    fallback: float = DEFAULT_THRESHOLD

    def check_covers(self, names: Sequence[str], where: str) -> None:
        """Fails before any work when the calibration was made for other features.

        Raises:
          CascadeError: Naming the features `where` (the calibration) lacks.
        """
        missing = [
            n for n in names if n not in self.per_feature and n not in self.calibration.covered
        ]
        if missing:
            raise CascadeError(
                f"the skew calibration {where} has no feature "
                f"{', '.join(repr(m) for m in missing)} (it covers "
                f"{', '.join(sorted(self.calibration.covered)) or 'none'}): it was not made for "
                "this model's features"
            )

    def for_feature(self, name: str, serving_values: int = 0) -> float:
        """The feature's threshold for a sample with `serving_values` values.

        Raises:
          CascadeError: The calibration does not cover the feature.
        """
        if name in self.per_feature:
            return self.per_feature[name]
        feature = self.calibration.features.get(name)
        if feature is not None:
            return feature.threshold(max(serving_values, 1), self.false_alarm_rate)
        self.check_covers([name], "of this model")
        return self.fallback

    def too_few(self, serving_values: int) -> bool:
        return serving_values < self.min_values

    def describe(self) -> str:
        text = (
            f"thresholds calibrated on {self.calibration.resamples} resamples per size of "
            f"{self.calibration.training_rows:,} training rows, aiming at "
            f"{self.false_alarm_rate:.2%} false alarms per feature"
        )
        sparse = [n for n in self.calibration.uncalibrated if n not in self.per_feature]
        if sparse:
            text += (
                f"; {', '.join(sparse)}: too sparse in training to calibrate, "
                f"fixed {self.fallback:g}"
            )
        return text


class Thresholds(Protocol):
    """What `compare` asks of thresholds, fixed or calibrated."""

    def for_feature(self, name: str, serving_values: int = 0) -> float: ...

    def too_few(self, serving_values: int) -> bool: ...

    def describe(self) -> str: ...


@dataclasses.dataclass(frozen=True)
class FeatureSkew:
    """One feature's comparison.

    Attributes:
      feature: The raw feature name.
      measure: `L_INFINITY` (categorical) or `JENSEN_SHANNON` (numeric).
      distance: The measured distance (MAX_DISTANCE when not comparable).
      threshold: The feature's threshold.
      note: Why it could not be compared ("" when it was).
      values: The feature's values in the serving data (rows where present).
      low_power: Too few values for a verdict (calibrated thresholds only).
    """

    feature: str
    measure: str
    distance: float
    threshold: float
    note: str = ""
    values: int = 0
    low_power: bool = False

    @property
    def skewed(self) -> bool:
        """Over its threshold, or not comparable (which is always a breach)."""
        if self.note:
            return True
        return not self.low_power and self.distance > self.threshold

    @property
    def verdict(self) -> str:
        if self.skewed:
            return SKEW
        return LOW_POWER if self.low_power else OK


@dataclasses.dataclass(frozen=True)
class SkewReport:
    """Every feature's comparison, the worst first, and TFDV's anomalies proto."""

    features: tuple[FeatureSkew, ...]
    anomalies: anomalies_pb2.Anomalies
    serving_rows: int
    training_rows: int
    thresholds: str = "fixed thresholds"

    @property
    def skewed(self) -> tuple[FeatureSkew, ...]:
        return tuple(f for f in self.features if f.skewed)


def measure_for(column: RawColumn) -> str:
    """The distance used for a column: L-infinity for strings, Jensen-Shannon for numbers."""
    return L_INFINITY if column.dtype == STRING else JENSEN_SHANNON


def _only_dataset(
    stats: statistics_pb2.DatasetFeatureStatisticsList, what: str
) -> statistics_pb2.DatasetFeatureStatistics:
    if len(stats.datasets) != 1:
        raise CascadeError(f"the {what} statistics hold {len(stats.datasets)} datasets, not one")
    return stats.datasets[0]


def _restricted(
    dataset: statistics_pb2.DatasetFeatureStatistics, names: set[str]
) -> statistics_pb2.DatasetFeatureStatisticsList:
    """A one-dataset list with only the named features (training data has more columns)."""
    kept = statistics_pb2.DatasetFeatureStatistics()
    kept.CopyFrom(dataset)
    del kept.features[:]
    kept.features.extend(f for f in dataset.features if feature_name(f) in names)
    result = statistics_pb2.DatasetFeatureStatisticsList()
    result.datasets.append(kept)
    return result


def _non_missing(feature: statistics_pb2.FeatureNameStatistics) -> int:
    stats = feature.num_stats if feature.HasField("num_stats") else feature.string_stats
    return int(stats.common_stats.num_non_missing)


def values_per_feature(
    stats: statistics_pb2.DatasetFeatureStatisticsList,
) -> dict[str, int]:
    """Feature name -> rows holding a value, from a one-dataset statistics list.

    Raises:
      CascadeError: The list does not hold exactly one dataset.
    """
    dataset = _only_dataset(stats, "given")
    return {feature_name(f): _non_missing(f) for f in dataset.features}


def _comparison_schema(
    columns: Sequence[RawColumn], limits: Mapping[str, float]
) -> schema_pb2.Schema:
    schema = raw_schema(columns)
    for feature, column in zip(schema.feature, columns):
        comparator = feature.skew_comparator
        threshold = limits[column.name]
        if measure_for(column) == L_INFINITY:
            comparator.infinity_norm.threshold = threshold
        else:
            comparator.jensen_shannon_divergence.threshold = threshold
            # Equi-depth (quantile) buckets, not TFDV's default equal-width
            # ones: with a heavy tail, equal-width buckets put nearly every
            # row in the first one, and where the sample's maximum falls
            # decides the divergence (0.0 to 0.8 between undrifted samples).
            comparator.jensen_shannon_divergence.source.type = (
                schema_pb2.HistogramSelection.QUANTILES
            )
    return schema


def _add_uncompared(anomalies: anomalies_pb2.Anomalies, features: Sequence[FeatureSkew]) -> None:
    """Records features TFDV could not compare as anomalies too, so the stored
    ExampleAnomalies artifact says everything the report says."""
    for feature in features:
        info = anomalies.anomaly_info[feature.feature]
        info.path.step[:] = [feature.feature]
        info.severity = anomalies_pb2.AnomalyInfo.ERROR
        info.short_description = f"Serving data: {feature.note}"
        info.description = (
            f"The feature is {feature.note}; the model sees only its training default for it."
        )
        reason = info.reason.add(type=anomalies_pb2.AnomalyInfo.SCHEMA_MISSING_COLUMN)
        reason.short_description = info.short_description
        reason.description = info.description


def compare(
    training: statistics_pb2.DatasetFeatureStatisticsList,
    serving: statistics_pb2.DatasetFeatureStatisticsList,
    columns: Sequence[RawColumn],
    thresholds: Optional[Thresholds] = None,
    absent: Sequence[str] = (),
) -> SkewReport:
    """Compares serving statistics with training statistics, feature by feature.

    Args:
      training: The statistics of the split the model was trained on.
      serving: The serving data's statistics (`validation.statistics`).
      columns: The model's raw columns: the features compared.
      thresholds: Fixed or calibrated thresholds (default: 0.1 for every feature).
      absent: Columns the serving data does not have at all (its header lacks
        them); reported as absent rather than as holding no value.

    Returns:
      The report: every column, skewed ones first, then by distance/threshold.

    Raises:
      CascadeError: The training statistics lack a model feature, a
        statistics list does not hold exactly one dataset, or the calibration
        does not cover a feature.
    """
    import tensorflow_data_validation as tfdv

    thresholds = thresholds or SkewThresholds()
    names = {c.name for c in columns}
    train_set = _only_dataset(training, "training")
    serve_set = _only_dataset(serving, "serving")
    train_features = {feature_name(f): f for f in train_set.features}
    missing = sorted(names - set(train_features))
    if missing:
        raise CascadeError(
            f"the training statistics have no feature {', '.join(repr(m) for m in missing)}: "
            "they are not the statistics of this model's training data"
        )
    serve_features = {feature_name(f): f for f in serve_set.features}
    comparable = {n for n in names if n in serve_features and _non_missing(serve_features[n])}
    values = {n: _non_missing(serve_features[n]) for n in comparable}
    limits = {c.name: thresholds.for_feature(c.name, values.get(c.name, 0)) for c in columns}
    # TFDV's C++ validator logs a warning to stderr for each feature it looks
    # up in only one of the two lists; the report below says it in words.
    with stderr_to_file(os.devnull):
        anomalies = tfdv.validate_statistics(
            statistics=_restricted(train_set, names),
            schema=_comparison_schema(columns, limits),
            serving_statistics=_restricted(serve_set, comparable),
        )
    measured = {
        ".".join(info.path.step): info.skew_measurements[0].value
        for info in anomalies.drift_skew_info
        if info.skew_measurements
    }
    results = []
    for column in columns:
        if column.name in absent or column.name not in serve_features:
            note = "absent from the serving data"
        elif column.name not in comparable:
            note = "no value in any serving row"
        elif column.name not in measured:
            note = "not measured by TFDV"
        else:
            note = ""
        distance = measured[column.name] if not note else MAX_DISTANCE
        count = values.get(column.name, 0)
        results.append(
            FeatureSkew(
                feature=column.name,
                measure=measure_for(column),
                distance=distance,
                threshold=limits[column.name],
                note=note,
                values=count,
                low_power=not note and thresholds.too_few(count),
            )
        )
    # A threshold of 0 (fixed mode allows it) ranks by distance alone.
    results.sort(
        key=lambda f: (not f.skewed, f.low_power, -f.distance / max(f.threshold, 1e-12), f.feature)
    )
    _add_uncompared(anomalies, [f for f in results if f.note])
    return SkewReport(
        features=tuple(results),
        anomalies=anomalies,
        serving_rows=int(serve_set.num_examples),
        training_rows=int(train_set.num_examples),
        thresholds=thresholds.describe(),
    )


def write_anomalies(anomalies: anomalies_pb2.Anomalies, anomalies_uri: str, split: str) -> str:
    """Writes anomalies as an ExampleAnomalies folder (`Split-<split>/SchemaDiff.pb`,
    ExampleValidator's layout); returns the file written."""
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    path = os.path.join(anomalies_uri, f"Split-{split}", ANOMALIES_FILE)
    fileio.makedirs(os.path.dirname(path))
    with fileio.open(path, "wb") as f:
        f.write(anomalies.SerializeToString())
    return path
