"""SkewCalibration's parameter names, output artifact type and ComponentSpec."""

from __future__ import annotations

from tfx import v1 as tfx

# ComponentSpec and its parameter types are not exported by tfx.v1; class-style
# components (stock ones and tfx-addons alike) import them from here.
from tfx.types import component_spec, standard_artifacts


STATISTICS_KEY = "statistics"
EXAMPLES_KEY = "examples"
CALIBRATION_KEY = "calibration"

FEATURES_KEY = "features"  # JSON [name, ...]
SPLIT_KEY = "split"
SEED_KEY = "seed"
RESAMPLES_KEY = "resamples"
# A fingerprint of the component's code: TFX's cache key sees parameters, not
# code, so a new version would otherwise reuse outputs of the old one.
CODE_VERSION_KEY = "code_version"


class SkewCalibrationArtifact(tfx.dsl.Artifact):
    """A folder holding `calibration.json` (see `validation.calibration`)."""

    TYPE_NAME = "cascade.SkewCalibration"


class SkewCalibrationSpec(component_spec.ComponentSpec):
    """SkewCalibration's inputs, outputs and parameters."""

    PARAMETERS = {
        FEATURES_KEY: component_spec.ExecutionParameter(type=str),
        SPLIT_KEY: component_spec.ExecutionParameter(type=str),
        SEED_KEY: component_spec.ExecutionParameter(type=int),
        RESAMPLES_KEY: component_spec.ExecutionParameter(type=int),
        CODE_VERSION_KEY: component_spec.ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {
        STATISTICS_KEY: component_spec.ChannelParameter(type=standard_artifacts.ExampleStatistics),
        EXAMPLES_KEY: component_spec.ChannelParameter(type=standard_artifacts.Examples),
    }
    OUTPUTS = {CALIBRATION_KEY: component_spec.ChannelParameter(type=SkewCalibrationArtifact)}
