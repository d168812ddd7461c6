"""DataGate: a class-style component that stops a run before Transform when its data is bad.

It reads ExampleValidator's anomalies (against the curated schema, when the
config names one) and compares the run's training statistics with those of
the model being served (drift, with the skew check's measures and, when the
run calibrated them, its thresholds). Transform runs after it (a task
dependency), so nothing trains on data the gate stopped.
"""

from __future__ import annotations

import json
from typing import Optional, Sequence

from tfx import v1 as tfx

# ExecutorClassSpec is not exported by tfx.v1.
from tfx.dsl.components.base import executor_spec

from components.data_gate import executor, spec


class DataGate(tfx.types.BaseComponent):
    """Lets the run go on, or stops it with the anomalies and drift that caused it."""

    SPEC_CLASS = spec.DataGateSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        statistics: tfx.dsl.Channel,
        anomalies: tfx.dsl.Channel,
        schema: tfx.dsl.Channel,
        features: Sequence[str],
        allow_anomalies_json: str,
        drift_json: str,
        baseline_statistics: Optional[tfx.dsl.Channel] = None,
        calibration: Optional[tfx.dsl.Channel] = None,
        split: str = "train",
        code_version: Optional[str] = None,
    ) -> None:
        """Builds the component.

        Args:
          statistics: StatisticsGen's statistics of this run's split examples.
          anomalies: ExampleValidator's anomalies of those statistics.
          schema: The schema they were validated against (recorded as an input).
          features: The model's raw features, compared for drift.
          allow_anomalies_json: `pipeline.gate_config.GateConfig.to_json()`.
          drift_json: `pipeline.gate_config.DriftConfig.to_json()`.
          baseline_statistics: The served model's training statistics (a
            resolver's output; empty before any model is served).
          calibration: This run's SkewCalibration, for calibrated thresholds.
          split: The training split.
          code_version: A fingerprint of the code; a new one invalidates TFX's cache.
        """
        super().__init__(
            spec=spec.DataGateSpec(
                statistics=statistics,
                anomalies=anomalies,
                schema=schema,
                baseline_statistics=baseline_statistics,
                calibration=calibration,
                report=tfx.dsl.Channel(type=spec.DataGateReport),
                allow_anomalies=allow_anomalies_json,
                drift=drift_json,
                features=json.dumps(list(features)),
                split=split,
                code_version=code_version,
            )
        )
