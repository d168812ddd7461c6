"""StratifiedSplit's parameter names and ComponentSpec."""

from __future__ import annotations

# ComponentSpec and its parameter types are not exported by tfx.v1; class-style
# components (stock ones and tfx-addons alike) import them from here.
from tfx.types import component_spec, standard_artifacts

EXAMPLES_KEY = "examples"
SPLIT_EXAMPLES_KEY = "split_examples"

RATIOS_KEY = "ratios"  # JSON [[name, ratio], ...]
LABEL_KEY = "label"
STRATIFY_BY_KEY = "stratify_by"  # JSON [name, ...]
GROUP_BY_KEY = "group_by"
SEED_KEY = "seed"
# A fingerprint of the component's code: TFX's cache key sees parameters, not
# code, so a new version would otherwise reuse outputs of the old one.
CODE_VERSION_KEY = "code_version"


class StratifiedSplitSpec(component_spec.ComponentSpec):
    """StratifiedSplit's inputs, outputs and parameters."""

    PARAMETERS = {
        RATIOS_KEY: component_spec.ExecutionParameter(type=str),
        LABEL_KEY: component_spec.ExecutionParameter(type=str),
        STRATIFY_BY_KEY: component_spec.ExecutionParameter(type=str),
        GROUP_BY_KEY: component_spec.ExecutionParameter(type=str, optional=True),
        SEED_KEY: component_spec.ExecutionParameter(type=int),
        CODE_VERSION_KEY: component_spec.ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {EXAMPLES_KEY: component_spec.ChannelParameter(type=standard_artifacts.Examples)}
    OUTPUTS = {
        SPLIT_EXAMPLES_KEY: component_spec.ChannelParameter(type=standard_artifacts.Examples)
    }
