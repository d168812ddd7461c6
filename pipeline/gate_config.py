"""The data gate's config: which anomalies a run tolerates, and drift between runs.

Two optional sections:

    gate:
      allow_anomalies:               # per feature: TFDV anomaly types the run tolerates
        country: [ENUM_TYPE_UNEXPECTED_STRING_VALUES]
        signup_ts: ["*"]             # any anomaly of this feature
    drift:
      on_breach: warn                # warn (default) | fail | off
      false_alarm_rate: 0.001        # calibrated thresholds (with a SkewCalibration)
      default: 0.1                   # fixed threshold without a calibration
      per_feature: {country: 0.05}   # fixed thresholds that override

Every run stops before Transform when ExampleValidator finds an anomaly the
list does not allow (with a curated `schema:` it can find them; an inferred
schema describes the very data it checks). Drift compares the run's training
statistics with those of the model being served, with the skew check's
measures; `fail` stops the run on a breach, `warn` reports it.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Mapping, Sequence

from components.data_gate.verdict import ANY_ANOMALY
from pipeline.inventory import FieldReader
from validation.calibration import DEFAULT_FALSE_ALARM_RATE

DRIFT_WARN = "warn"
DRIFT_FAIL = "fail"
DRIFT_OFF = "off"
DRIFT_MODES = (DRIFT_WARN, DRIFT_FAIL, DRIFT_OFF)
DEFAULT_DRIFT_THRESHOLD = 0.1


def anomaly_types() -> frozenset[str]:
    """The anomaly type names TFDV reports (`AnomalyInfo.Type`)."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    return frozenset(anomalies_pb2.AnomalyInfo.Type.keys())


@dataclasses.dataclass(frozen=True)
class GateConfig:
    """Anomalies the run tolerates: feature -> allowed TFDV anomaly type names."""

    allow_anomalies: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def to_json(self) -> str:
        """The allow-list as the DataGate component's parameter."""
        return json.dumps({name: list(types) for name, types in self.allow_anomalies})


@dataclasses.dataclass(frozen=True)
class DriftConfig:
    """Drift between this run's training data and the served model's.

    Attributes:
      on_breach: `warn` reports a feature over its threshold, `fail` stops the
        run before Transform, `off` does not compare.
      false_alarm_rate: The per-feature false alarm rate of calibrated thresholds.
      default: The fixed threshold where no calibration covers a feature.
      per_feature: Fixed thresholds that override, per feature.
    """

    on_breach: str = DRIFT_WARN
    false_alarm_rate: float = DEFAULT_FALSE_ALARM_RATE
    default: float = DEFAULT_DRIFT_THRESHOLD
    per_feature: tuple[tuple[str, float], ...] = ()

    def to_json(self) -> str:
        """The settings as the DataGate component's parameter."""
        return json.dumps(
            {
                "on_breach": self.on_breach,
                "false_alarm_rate": self.false_alarm_rate,
                "default": self.default,
                "per_feature": dict(self.per_feature),
            }
        )


def read_gate(r: FieldReader, raw: Any, features: Sequence[str]) -> GateConfig:
    """Reads the `gate` section.

    Raises:
      ConfigError: An unknown key, a feature the config does not have, or an
        anomaly type TFDV does not know (naming the field).
    """
    if raw is None:
        return GateConfig()
    raw = r.mapping(raw, "gate")
    r.only_keys(raw, "gate", {"allow_anomalies"})
    allowed = r.mapping(raw.get("allow_anomalies", {}), "gate.allow_anomalies")
    known = anomaly_types()
    entries = []
    for name, types in allowed.items():
        field = f"gate.allow_anomalies.{name}"
        if name not in features:
            raise r.error(field, f"not a feature (features: {', '.join(features)})")
        if not isinstance(types, list) or not types:
            raise r.error(
                field, "expected a list of TFDV anomaly types, e.g. [FEATURE_TYPE_NOT_PRESENT]"
            )
        checked = []
        for i, value in enumerate(types):
            text = r.string(value, f"{field}[{i}]")
            if text != ANY_ANOMALY and text not in known:
                raise r.error(
                    f"{field}[{i}]",
                    f"{text!r} is not a TFDV anomaly type (e.g. ENUM_TYPE_UNEXPECTED_STRING_VALUES, "
                    f"FEATURE_TYPE_NOT_PRESENT, or {ANY_ANOMALY!r} for any)",
                )
            checked.append(text)
        entries.append((str(name), tuple(checked)))
    return GateConfig(allow_anomalies=tuple(entries))


def read_drift(r: FieldReader, raw: Any, features: Sequence[str]) -> DriftConfig:
    """Reads the `drift` section.

    Raises:
      ConfigError: An unknown key or mode, a number out of range, or a
        threshold for a feature the config does not have (naming the field).
    """
    if raw is None:
        return DriftConfig()
    raw = r.mapping(raw, "drift")
    r.only_keys(raw, "drift", {"on_breach", "false_alarm_rate", "default", "per_feature"})
    on_breach = raw.get("on_breach", DriftConfig.on_breach)
    if on_breach not in DRIFT_MODES:
        raise r.error(
            "drift.on_breach", f"expected one of {', '.join(DRIFT_MODES)}, got {on_breach!r}"
        )
    per_feature: Mapping[str, Any] = r.mapping(raw.get("per_feature", {}), "drift.per_feature")
    thresholds = []
    for name, value in per_feature.items():
        field = f"drift.per_feature.{name}"
        if name not in features:
            raise r.error(field, f"not a feature (features: {', '.join(features)})")
        thresholds.append((str(name), r.number(value, field, 0.0, 1.0)))
    return DriftConfig(
        on_breach=on_breach,
        false_alarm_rate=r.number(
            raw.get("false_alarm_rate", DriftConfig.false_alarm_rate),
            "drift.false_alarm_rate",
            1e-6,
            0.5,
        ),
        default=r.number(raw.get("default", DriftConfig.default), "drift.default", 0.0, 1.0),
        per_feature=tuple(thresholds),
    )
