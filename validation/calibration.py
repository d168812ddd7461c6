"""Skew thresholds calibrated on the training data itself, per feature and sample size.

Two samples of one distribution are never at distance 0, and the distance
between them grows as the smaller sample shrinks: a fixed threshold that suits
10,000 serving rows cries wolf at 500. The calibration measures, for each
feature, the distance the skew check would report between the training
statistics and resamples of the training data drawn at several sizes (the
`SkewCalibration` component does it once per model, in Beam). Under "serving
data is like training data", a serving sample is another draw of that kind, so
a distance beyond nearly all resampled ones is evidence of skew.

Per feature and resample size the calibration keeps the mean and standard
deviation of the resampled distances, their maximum and the mean number of
values compared. The threshold at one size is the larger of

* the 1 - `false_alarm_rate` quantile of a gamma distribution with the
  resampled distances' mean and variance. Both distances are skewed to the
  right: a Jensen-Shannon divergence between samples of one distribution is
  close to a scaled chi-square (a gamma), and an L-infinity distance is the
  largest of a few absolute normal deviations, whose far tail a gamma fit
  matches within a few percent. Mean + z * sd (NannyML's rule, z = 3) falls
  well short of such tails: on an absolute normal it is the 99.2% point,
  not the 99.9% one.
* the largest resampled distance, which covers the lumpy distance
  distributions of features with few distinct values, where any smooth fit
  falls short.

Between sizes the threshold is interpolated linearly in log(size) and
log(threshold); below the smallest size it grows with the first segment's
slope, and above the largest it stays at the largest size's threshold (the
conservative side: fewer alarms, less power).

Sample size: a serving sample of n values compared with N training values
varies like a resample of n_eff = n * N / (n + N) values drawn from the
training data itself (the variance of a difference of two independent
proportions is p(1 - p)(1/n + 1/N)), so thresholds are looked up at n_eff.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from typing import Any, Iterable, Mapping

from core.errors import CascadeError

DEFAULT_FALSE_ALARM_RATE = 0.001
DEFAULT_RESAMPLES = 100
# Serving samples with fewer values than this get no verdict: the check has
# little power there (the resampled distances at 100 rows reach 0.1-0.2).
DEFAULT_MIN_ROWS = 100
# The resample sizes (rows), each kept while smaller than the training split;
# the training split's own size (capped at the last) is added as the top one.
# Above the last, thresholds stay at its value (the conservative side), and
# each resample costs its size in statistics work.
RESAMPLE_SIZES = (100, 300, 1_000, 3_000, 10_000)
CALIBRATION_FILE = "calibration.json"
FORMAT_VERSION = 1
# log(0) is undefined; a distance this small is as good as 0 for a threshold.
_SMALLEST_DISTANCE = 1e-9
# Both distances lie in [0, 1]; a threshold above 1 could never be crossed.
_LARGEST_DISTANCE = 1.0


def resample_sizes(training_rows: int) -> tuple[int, ...]:
    """The resample sizes for a training split of `training_rows` rows.

    Args:
      training_rows: Rows in the training split (> 0).

    Returns:
      Increasing sizes: every `RESAMPLE_SIZES` entry under the split's size,
      then the split's size itself (at most the last entry).
    """
    top = min(training_rows, RESAMPLE_SIZES[-1])
    return tuple(s for s in RESAMPLE_SIZES if s < top) + (top,)


def effective_size(serving_values: int, training_values: int) -> float:
    """n * N / (n + N): the resample size whose spread a serving sample shows."""
    if serving_values <= 0 or training_values <= 0:
        return 0.0
    return serving_values * training_values / (serving_values + training_values)


@dataclasses.dataclass(frozen=True)
class SizePoint:
    """The resampled distances of one feature at one resample size.

    Attributes:
      rows: The resample size (rows drawn on average).
      values: Mean number of the feature's values per resample (rows where
        it is present); thresholds are looked up by values, not rows.
      mean: Mean resampled distance.
      sd: Their standard deviation.
      largest: The largest resampled distance.
      resamples: How many resamples were measured.
    """

    rows: int
    values: float
    mean: float
    sd: float
    largest: float
    resamples: int

    def threshold(self, false_alarm_rate: float) -> float:
        """max(gamma quantile, largest), at most 1: see the module docstring."""
        fitted = gamma_quantile(self.mean, self.sd, 1.0 - false_alarm_rate)
        return min(max(fitted, self.largest), _LARGEST_DISTANCE)


def gamma_quantile(mean: float, sd: float, q: float) -> float:
    """The q quantile of the gamma distribution with this mean and standard deviation.

    A distribution without spread (sd 0) is its mean; a mean of 0 gives the
    smallest distance the calibration tells apart from 0.
    """
    from scipy import stats

    if mean <= 0.0:
        return _SMALLEST_DISTANCE
    if sd <= 0.0:
        return mean
    shape = (mean / sd) ** 2
    scale = sd * sd / mean
    return max(float(stats.gamma.ppf(q, shape, scale=scale)), _SMALLEST_DISTANCE)


@dataclasses.dataclass(frozen=True)
class FeatureCalibration:
    """One feature's resampled distances, smallest resample size first.

    Attributes:
      feature: The raw feature name.
      measure: The distance (`validation.skew.L_INFINITY` or `JENSEN_SHANNON`).
      training_values: Values of the feature in the training split.
      points: One `SizePoint` per resample size, by increasing values.
    """

    feature: str
    measure: str
    training_values: int
    points: tuple[SizePoint, ...]

    def threshold(self, serving_values: int, false_alarm_rate: float) -> float:
        """The calibrated threshold for a serving sample with `serving_values` values.

        Args:
          serving_values: The feature's values in the serving sample (> 0).
          false_alarm_rate: The rate the gamma quantile aims at.

        Returns:
          The threshold at the effective size (see the module docstring).
        """
        at = [
            (math.log(max(p.values, 1.0)), math.log(p.threshold(false_alarm_rate)))
            for p in self.points
        ]
        size = effective_size(serving_values, self.training_values)
        x = math.log(max(size, 1.0))
        if len(at) == 1 or x >= at[-1][0]:
            return math.exp(at[-1][1])
        if x <= at[0][0]:
            (x0, y0), (x1, y1) = at[0], at[1]
            slope = min((y1 - y0) / (x1 - x0), 0.0) if x1 > x0 else 0.0
            return min(math.exp(y0 + slope * (x - x0)), _LARGEST_DISTANCE)
        for (x0, y0), (x1, y1) in zip(at, at[1:]):
            if x0 <= x <= x1:
                if x1 == x0:
                    return math.exp(max(y0, y1))
                return math.exp(y0 + (y1 - y0) * (x - x0) / (x1 - x0))
        return math.exp(at[-1][1])  # pragma: no cover - the points are sorted


@dataclasses.dataclass(frozen=True)
class Calibration:
    """Every feature's calibration, and how it was drawn.

    Attributes:
      seed: The resampling seed.
      resamples: Resamples drawn per size.
      training_rows: Rows in the training split.
      features: Feature name -> its calibration.
      uncalibrated: Features asked for but too sparse in the training split to
        calibrate (at no size did at least half the resamples hold a value).
    """

    seed: int
    resamples: int
    training_rows: int
    features: Mapping[str, FeatureCalibration]
    uncalibrated: tuple[str, ...] = ()

    @property
    def covered(self) -> frozenset[str]:
        """Every feature the calibration was made for, calibrated or not."""
        return frozenset(self.features) | frozenset(self.uncalibrated)

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "seed": self.seed,
            "resamples": self.resamples,
            "training_rows": self.training_rows,
            "features": {
                name: {
                    "measure": f.measure,
                    "training_values": f.training_values,
                    "points": [dataclasses.asdict(p) for p in f.points],
                }
                for name, f in sorted(self.features.items())
            },
            "uncalibrated": sorted(self.uncalibrated),
        }

    @classmethod
    def from_json(cls, data: Any, where: str) -> "Calibration":
        """Reads `to_json` output back, checking every field.

        Raises:
          CascadeError: The data is not a calibration of this format, naming
            `where` and the first field that is wrong.
        """
        fields = _Fields(where)
        data = fields.mapping(data, "the file")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise fields.error("format_version", f"is {version!r}, expected {FORMAT_VERSION}")
        features = {}
        for name, raw in fields.mapping(data.get("features"), "features").items():
            at = f"features.{name}"
            raw = fields.mapping(raw, at)
            points = raw.get("points")
            if not isinstance(points, list) or not points:
                raise fields.error(f"{at}.points", "expected a non-empty list")
            features[name] = FeatureCalibration(
                feature=name,
                measure=fields.text(raw.get("measure"), f"{at}.measure"),
                training_values=fields.count(raw.get("training_values"), f"{at}.training_values"),
                points=tuple(fields.point(p, f"{at}.points[{i}]") for i, p in enumerate(points)),
            )
        uncalibrated = data.get("uncalibrated", [])
        if not isinstance(uncalibrated, list) or not all(isinstance(u, str) for u in uncalibrated):
            raise fields.error("uncalibrated", "expected a list of feature names")
        return cls(
            seed=fields.count(data.get("seed"), "seed"),
            resamples=fields.count(data.get("resamples"), "resamples"),
            training_rows=fields.count(data.get("training_rows"), "training_rows"),
            features=features,
            uncalibrated=tuple(uncalibrated),
        )


class _Fields:
    """Typed reads of a calibration file's fields, naming the file and field on error."""

    def __init__(self, where: str) -> None:
        self.where = where

    def error(self, field: str, message: str) -> CascadeError:
        return CascadeError(f"{self.where}: not a skew calibration: {field} {message}")

    def mapping(self, value: Any, field: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.error(field, f"is {type(value).__name__}, expected a mapping")
        return value

    def text(self, value: Any, field: str) -> str:
        if not isinstance(value, str) or not value:
            raise self.error(field, f"is {value!r}, expected a name")
        return value

    def count(self, value: Any, field: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.error(field, f"is {value!r}, expected a whole number >= 0")
        return value

    def number(self, value: Any, field: str) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            raise self.error(field, f"is {value!r}, expected a finite number >= 0")
        return float(value)

    def point(self, value: Any, field: str) -> SizePoint:
        raw = self.mapping(value, field)
        return SizePoint(
            rows=self.count(raw.get("rows"), f"{field}.rows"),
            values=self.number(raw.get("values"), f"{field}.values"),
            mean=self.number(raw.get("mean"), f"{field}.mean"),
            sd=self.number(raw.get("sd"), f"{field}.sd"),
            largest=self.number(raw.get("largest"), f"{field}.largest"),
            resamples=self.count(raw.get("resamples"), f"{field}.resamples"),
        )


@dataclasses.dataclass(frozen=True)
class ResampledDistance:
    """One resample's distance for one feature.

    Attributes:
      feature: The raw feature name.
      rows: The resample size it was drawn at.
      values: The feature's values in the resample.
      distance: Its distance from the training statistics.
    """

    feature: str
    rows: int
    values: int
    distance: float


def summarize(
    measured: Iterable[ResampledDistance],
    measures: Mapping[str, str],
    training_values: Mapping[str, int],
    seed: int,
    resamples: int,
    training_rows: int,
) -> Calibration:
    """Turns resampled distances into a `Calibration`.

    Args:
      measured: Every resample's distance per feature.
      measures: Feature -> the distance measured.
      training_values: Feature -> its values in the training split.
      seed: The resampling seed.
      resamples: Resamples drawn per size.
      training_rows: Rows in the training split.

    Returns:
      The calibration. A size where fewer than half the resamples (at least
      2) held a value of a feature gives that feature no point: its spread
      would rest on a handful of draws. A feature left with no point is
      listed as uncalibrated.
    """
    least = max(2, math.ceil(resamples / 2))
    grouped: dict[str, dict[int, list[ResampledDistance]]] = {n: {} for n in measures}
    for m in measured:
        grouped.setdefault(m.feature, {}).setdefault(m.rows, []).append(m)
    features = {}
    for name, by_size in grouped.items():
        points = []
        for rows, ms in sorted(by_size.items()):
            if len(ms) < least:
                continue
            distances = [m.distance for m in ms]
            points.append(
                SizePoint(
                    rows=rows,
                    values=sum(m.values for m in ms) / len(ms),
                    mean=statistics.fmean(distances),
                    sd=statistics.stdev(distances) if len(distances) > 1 else 0.0,
                    largest=max(distances),
                    resamples=len(ms),
                )
            )
        if not points:
            continue
        points.sort(key=lambda p: (p.values, p.rows))
        features[name] = FeatureCalibration(
            feature=name,
            measure=measures[name],
            training_values=int(training_values.get(name, 0)),
            points=tuple(points),
        )
    uncalibrated = tuple(sorted(n for n in grouped if n not in features))
    return Calibration(seed, resamples, training_rows, features, uncalibrated)


def write_calibration(calibration: Calibration, uri: str) -> str:
    """Writes `<uri>/calibration.json`; returns its path."""
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    path = f"{uri.rstrip('/')}/{CALIBRATION_FILE}"
    fileio.makedirs(uri)
    with fileio.open(path, "w") as f:
        f.write(json.dumps(calibration.to_json(), indent=1, sort_keys=True))
    return path


def read_calibration(uri: str) -> Calibration:
    """Reads `<uri>/calibration.json`.

    Raises:
      CascadeError: The file is missing or not a calibration.
    """
    from tfx.dsl.io import fileio

    path = f"{uri.rstrip('/')}/{CALIBRATION_FILE}"
    if not fileio.exists(path):
        raise CascadeError(f"the skew calibration {path} does not exist")
    with fileio.open(path, "r") as f:
        try:
            data = json.loads(f.read())
        except ValueError as e:
            raise CascadeError(f"{path}: not a skew calibration: not JSON ({e})") from e
    return Calibration.from_json(data, path)
