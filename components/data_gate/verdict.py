"""The data gate's verdict: which anomalies block the run, which features drifted.

Pure functions over TFDV protos and plain records, so the rules are tested
without a pipeline. The verdict travels as `gate.json` (a passed gate's
report) or as the failed execution's message in MLMD (a gated run), and both
print the same table (`describe`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional, Sequence

from tensorflow_metadata.proto.v0 import anomalies_pb2

ANY_ANOMALY = "*"
GATED = "GATED"
PASSED = "PASSED"
# The first words of a gated run's message (and of its one-line reason).
GATED_PREFIX = "stopped before Transform"


@dataclasses.dataclass(frozen=True)
class AnomalyRow:
    """One anomaly ExampleValidator found in one split."""

    split: str
    feature: str
    type: str
    description: str
    allowed: bool


@dataclasses.dataclass(frozen=True)
class DriftRow:
    """One feature's drift from the served model's training data."""

    feature: str
    measure: str
    values: int
    distance: float
    threshold: float
    verdict: str

    @property
    def drifted(self) -> bool:
        return self.verdict == "SKEW"


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What the gate decided, and why.

    Attributes:
      anomalies: Every anomaly found, allowed or not.
      drift: Per feature, worst first; empty when not compared.
      drift_note: Why drift was not compared (no served model, `off`), or how
        the thresholds were chosen.
      on_breach: `warn`, `fail` or `off` (the config's `drift.on_breach`).
    """

    anomalies: tuple[AnomalyRow, ...]
    drift: tuple[DriftRow, ...]
    drift_note: str
    on_breach: str

    @property
    def blocking(self) -> list[AnomalyRow]:
        return [a for a in self.anomalies if not a.allowed]

    @property
    def drifted(self) -> list[DriftRow]:
        return [d for d in self.drift if d.drifted]

    @property
    def gated(self) -> bool:
        return bool(self.blocking) or (self.on_breach == "fail" and bool(self.drifted))

    def reasons(self) -> list[str]:
        """Why the run is gated, one short phrase per cause (empty when it passes)."""
        reasons = []
        if self.blocking:
            features = sorted({a.feature for a in self.blocking})
            reasons.append(
                f"{len(self.blocking)} anomal{'y' if len(self.blocking) == 1 else 'ies'} "
                f"the config does not allow ({', '.join(features)})"
            )
        if self.on_breach == "fail" and self.drifted:
            reasons.append(
                "drift over the threshold in " + ", ".join(d.feature for d in self.drifted)
            )
        return reasons

    def describe(self) -> list[str]:
        """The verdict as text: a heading, the anomalies table, the drift table."""
        lines = []
        if self.gated:
            lines.append(f"  {GATED_PREFIX}: " + "; ".join(self.reasons()))
        if self.anomalies:
            lines.append("  anomalies (ExampleValidator, against the schema):")
            width = max(len("feature"), *(len(a.feature) for a in self.anomalies)) + 2
            lines.append(f"    {'feature':<{width}}{'split':<7}{'anomaly':<42}verdict")
            for a in self.anomalies:
                lines.append(
                    f"    {a.feature:<{width}}{a.split:<7}{a.type:<42}"
                    f"{'allowed' if a.allowed else 'BLOCKS'}  {a.description}"
                )
        else:
            lines.append("  anomalies: none against the schema")
        if self.drift:
            lines.append(f"  drift from the served model's training data ({self.drift_note}):")
            lines.append(
                f"    {'feature':<22} {'measure':<15} {'values':>8} {'distance':>9} "
                f"{'threshold':>10}  verdict"
            )
            for d in self.drift:
                lines.append(
                    f"    {d.feature:<22} {d.measure:<15} {d.values:>8,} {d.distance:>9.4f} "
                    f"{d.threshold:>10.4f}  {d.verdict}"
                )
        else:
            lines.append(f"  drift: {self.drift_note}")
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": GATED if self.gated else PASSED,
            "reasons": self.reasons(),
            "on_breach": self.on_breach,
            "drift_note": self.drift_note,
            "anomalies": [dataclasses.asdict(a) for a in self.anomalies],
            "drift": [dataclasses.asdict(d) for d in self.drift],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Verdict":
        """Reads `to_json`'s form back.

        Raises:
          KeyError, TypeError, ValueError: The data is not a gate report.
        """
        return cls(
            anomalies=tuple(AnomalyRow(**a) for a in data["anomalies"]),
            drift=tuple(DriftRow(**d) for d in data["drift"]),
            drift_note=str(data["drift_note"]),
            on_breach=str(data["on_breach"]),
        )


def anomaly_rows(
    anomalies_by_split: Mapping[str, anomalies_pb2.Anomalies],
    allowed: Mapping[str, Sequence[str]],
) -> list[AnomalyRow]:
    """Every anomaly reason in every split, each marked allowed or not.

    Args:
      anomalies_by_split: ExampleValidator's anomalies per split.
      allowed: Feature -> the anomaly types the config tolerates (`*`: any).

    Returns:
      One row per (split, feature, reason), by feature then split.
    """
    rows = []
    for split, anomalies in anomalies_by_split.items():
        for feature, info in anomalies.anomaly_info.items():
            reasons = list(info.reason) or [None]
            for reason in reasons:
                type_name = (
                    anomalies_pb2.AnomalyInfo.Type.Name(reason.type)
                    if reason is not None
                    else anomalies_pb2.AnomalyInfo.Type.Name(info.type)
                )
                description = (
                    reason.short_description if reason is not None else info.short_description
                )
                tolerated = allowed.get(feature, ())
                rows.append(
                    AnomalyRow(
                        split=split,
                        feature=feature,
                        type=type_name,
                        description=description,
                        allowed=ANY_ANOMALY in tolerated or type_name in tolerated,
                    )
                )
        if anomalies.HasField("dataset_anomaly_info"):
            info = anomalies.dataset_anomaly_info
            for reason in info.reason:
                rows.append(
                    AnomalyRow(
                        split=split,
                        feature="(dataset)",
                        type=anomalies_pb2.AnomalyInfo.Type.Name(reason.type),
                        description=reason.short_description,
                        allowed=False,
                    )
                )
    return sorted(rows, key=lambda r: (r.feature, r.split, r.type))


def drift_rows(report: Any) -> list[DriftRow]:
    """The skew comparison's features (`validation.skew.SkewReport`) as drift rows."""
    return [
        DriftRow(
            feature=f.feature,
            measure=f.measure,
            values=int(f.values),
            distance=float(f.distance),
            threshold=float(f.threshold),
            verdict=f.verdict,
        )
        for f in report.features
    ]


def gated_message(verdict: Verdict) -> str:
    """The failed execution's message: what MLMD keeps and the run prints."""
    return "\n".join(verdict.describe())


def first_line(message: Optional[str]) -> str:
    """A gated run's reason in one line: the message's first line (`runs` shows it)."""
    return next((line.strip() for line in (message or "").splitlines() if line.strip()), "")
