"""DataGate's executor: judges the anomalies and the drift, then lets the run go on or stops it.

A passed gate writes `gate.json`. A gated run ends here: the
executor reports a failed execution through TFX's executor output, so TFX
records the message (the gate's tables) on the execution in MLMD, publishes
nothing, and runs nothing downstream; ExampleValidator's anomalies stay
recorded.
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional

from absl import logging

# BaseExecutor is not exported by tfx.v1.
from tfx.dsl.components.base import base_executor
from tfx.types import artifact, artifact_utils
from tfx.v1.dsl.io import fileio

# ExecutorOutput is TFX's executor-to-launcher protocol; tfx.v1 does not export
# it. Writing it is how a Python executor fails with a message TFX records.
from tfx.proto.orchestration import execution_result_pb2
from tensorflow_metadata.proto.v0 import anomalies_pb2

from components.data_gate import spec, verdict
from validation import calibration, skew, statistics

ANOMALIES_FILE = "SchemaDiff.pb"
# The executor output's code for a gated run (non-zero: the execution failed).
GATED_CODE = 1


def _read_anomalies(anomalies: artifact.Artifact) -> dict[str, anomalies_pb2.Anomalies]:
    """ExampleValidator's anomalies per split (`Split-<name>/SchemaDiff.pb`)."""
    found = {}
    for split in artifact_utils.decode_split_names(anomalies.split_names):
        path = os.path.join(anomalies.uri, f"Split-{split}", ANOMALIES_FILE)
        with fileio.open(path, "rb") as f:
            found[split] = anomalies_pb2.Anomalies.FromString(f.read())
    return found


def _thresholds(
    settings: dict[str, Any], calibration_artifact: Optional[artifact.Artifact]
) -> skew.Thresholds:
    """Calibrated thresholds when the run calibrated its training split, else fixed ones."""
    per_feature = {str(k): float(v) for k, v in settings["per_feature"].items()}
    if calibration_artifact is None:
        return skew.SkewThresholds(default=float(settings["default"]), per_feature=per_feature)
    return skew.CalibratedThresholds(
        calibration=calibration.read_calibration(calibration_artifact.uri),
        false_alarm_rate=float(settings["false_alarm_rate"]),
        min_values=calibration.DEFAULT_MIN_ROWS,
        per_feature=per_feature,
        fallback=float(settings["default"]),
    )


def judge_drift(
    settings: dict[str, Any],
    features: list[str],
    split: str,
    current_uri: str,
    baseline: Optional[artifact.Artifact],
    calibration_artifact: Optional[artifact.Artifact],
) -> tuple[list[verdict.DriftRow], str]:
    """Compares this run's training split with the served model's, feature by feature.

    Returns:
      (rows worst first, a note: how the thresholds were chosen, or why
      nothing was compared).
    """
    if settings["on_breach"] == "off":
        return [], "not compared (drift.on_breach: off)"
    if baseline is None:
        return [], "no model is served yet, so there is nothing to compare with"
    current = statistics.read_statistics(statistics.split_stats_path(current_uri, split))
    served = statistics.read_statistics(statistics.split_stats_path(baseline.uri, split))
    columns, missing = statistics.typed_columns(current, features)
    if missing:
        raise ValueError(
            f"DataGate: feature {', '.join(missing)} is not in the training statistics {current_uri}"
        )
    thresholds = _thresholds(settings, calibration_artifact)
    # The served model's data plays the sample: calibrated thresholds are
    # looked up at the two sizes' effective size, as for a serving sample.
    report = skew.compare(current, served, columns, thresholds)
    return verdict.drift_rows(report), report.thresholds


class Executor(base_executor.BaseExecutor):
    """Lets the run go on when its data may be trained on; otherwise stops it."""

    def Do(  # noqa: N802 - TFX's executor interface
        self,
        input_dict: dict[str, list[artifact.Artifact]],
        output_dict: dict[str, list[artifact.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        """Judges the anomalies and the drift.

        Args:
          input_dict: `statistics`, `anomalies`, `schema`; optionally
            `baseline_statistics` (the served model's training statistics)
            and `calibration` (this run's SkewCalibration).
          output_dict: `report`: one artifact to fill.
          exec_properties: See `spec.DataGateSpec`.

        Raises:
          ValueError: A drift feature is missing from the training statistics.
        """
        current = artifact_utils.get_single_instance(input_dict[spec.STATISTICS_KEY])
        anomalies = artifact_utils.get_single_instance(input_dict[spec.ANOMALIES_KEY])
        baseline = _optional(input_dict, spec.BASELINE_STATISTICS_KEY)
        calibrated = _optional(input_dict, spec.CALIBRATION_KEY)
        settings = json.loads(exec_properties[spec.DRIFT_KEY])
        allowed = json.loads(exec_properties[spec.ALLOW_ANOMALIES_KEY])
        features = list(json.loads(exec_properties[spec.FEATURES_KEY]))
        split = exec_properties[spec.SPLIT_KEY]

        rows = verdict.anomaly_rows(_read_anomalies(anomalies), allowed)
        drift, note = judge_drift(settings, features, split, current.uri, baseline, calibrated)
        judged = verdict.Verdict(tuple(rows), tuple(drift), note, settings["on_breach"])
        if judged.gated:
            self._fail(verdict.gated_message(judged))
            return

        report = artifact_utils.get_single_instance(output_dict[spec.REPORT_KEY])
        with fileio.open(os.path.join(report.uri, spec.REPORT_FILE), "w") as f:
            f.write(json.dumps(judged.to_json(), indent=2))
        report.set_string_custom_property("verdict", verdict.PASSED)
        report.set_string_custom_property(
            "drifted", json.dumps([d.feature for d in judged.drifted])
        )
        report.set_int_custom_property("anomalies", len(rows))
        for line in judged.describe():
            logging.info("DataGate: %s", line)

    def _fail(self, message: str) -> None:
        """Ends the execution as failed, with `message` recorded on it in MLMD.

        Raises:
          RuntimeError: TFX gave the executor nowhere to write its output.
        """
        # BaseExecutor keeps its context (with the executor output's location)
        # in a protected attribute; the launcher reads the file after Do.
        output_uri = self._context.executor_output_uri if self._context else None
        if not output_uri:
            raise RuntimeError(message)
        result = execution_result_pb2.ExecutorOutput(
            execution_result=execution_result_pb2.ExecutionResult(
                code=GATED_CODE, result_message=message
            )
        )
        fileio.makedirs(os.path.dirname(output_uri))
        with fileio.open(output_uri, "wb") as f:
            f.write(result.SerializeToString())
        logging.error("DataGate: %s", message)


def _optional(
    input_dict: dict[str, list[artifact.Artifact]], key: str
) -> Optional[artifact.Artifact]:
    """The one artifact of an optional input, or None when it resolved to nothing."""
    found = input_dict.get(key) or []
    return found[-1] if found else None
