"""DataGate's parameter names, output artifact type and ComponentSpec."""

from __future__ import annotations

from tfx import v1 as tfx

# ComponentSpec and its parameter types are not exported by tfx.v1; class-style
# components (stock ones and tfx-addons alike) import them from here.
from tfx.types import component_spec, standard_artifacts

from components.skew_calibration.spec import SkewCalibrationArtifact

STATISTICS_KEY = "statistics"
ANOMALIES_KEY = "anomalies"
SCHEMA_KEY = "schema"
BASELINE_STATISTICS_KEY = "baseline_statistics"
CALIBRATION_KEY = "calibration"
REPORT_KEY = "report"

ALLOW_ANOMALIES_KEY = "allow_anomalies"  # JSON {feature: [type, ...]}
DRIFT_KEY = "drift"  # JSON, pipeline.gate_config.DriftConfig.to_json()
FEATURES_KEY = "features"  # JSON [name, ...]: the features drift compares
SPLIT_KEY = "split"
# A fingerprint of the component's code: TFX's cache key sees parameters, not
# code, so a new version would otherwise reuse outputs of the old one.
CODE_VERSION_KEY = "code_version"

REPORT_FILE = "gate.json"


class DataGateReport(tfx.dsl.Artifact):
    """A folder holding `gate.json`: the anomalies judged and the drift table."""

    TYPE_NAME = "cascade.DataGateReport"


class DataGateSpec(component_spec.ComponentSpec):
    """DataGate's inputs, outputs and parameters."""

    PARAMETERS = {
        ALLOW_ANOMALIES_KEY: component_spec.ExecutionParameter(type=str),
        DRIFT_KEY: component_spec.ExecutionParameter(type=str),
        FEATURES_KEY: component_spec.ExecutionParameter(type=str),
        SPLIT_KEY: component_spec.ExecutionParameter(type=str),
        CODE_VERSION_KEY: component_spec.ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {
        STATISTICS_KEY: component_spec.ChannelParameter(type=standard_artifacts.ExampleStatistics),
        ANOMALIES_KEY: component_spec.ChannelParameter(type=standard_artifacts.ExampleAnomalies),
        SCHEMA_KEY: component_spec.ChannelParameter(type=standard_artifacts.Schema),
        BASELINE_STATISTICS_KEY: component_spec.ChannelParameter(
            type=standard_artifacts.ExampleStatistics, optional=True
        ),
        CALIBRATION_KEY: component_spec.ChannelParameter(
            type=SkewCalibrationArtifact, optional=True
        ),
    }
    OUTPUTS = {REPORT_KEY: component_spec.ChannelParameter(type=DataGateReport)}
