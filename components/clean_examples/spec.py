"""CleanExamples' parameter names and ComponentSpec."""

from __future__ import annotations

# ComponentSpec and its parameter types are not exported by tfx.v1.
from tfx.types import component_spec, standard_artifacts

EXAMPLES_KEY = "examples"
SPAM_LIST_KEY = "spam_list"
ID_MAP_KEY = "id_map"
CLEANED_KEY = "cleaned_examples"
REJECTED_KEY = "rejected_examples"

OPTIONS_KEY = "options"  # JSON of CleanOptions
# A fingerprint of the component's code: TFX's cache key sees parameters, not
# code, so a new version would otherwise reuse outputs of the old one.
CODE_VERSION_KEY = "code_version"


class CleanExamplesSpec(component_spec.ComponentSpec):
    """CleanExamples' inputs, outputs and parameters."""

    PARAMETERS = {
        OPTIONS_KEY: component_spec.ExecutionParameter(type=str),
        CODE_VERSION_KEY: component_spec.ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {
        EXAMPLES_KEY: component_spec.ChannelParameter(type=standard_artifacts.Examples),
        SPAM_LIST_KEY: component_spec.ChannelParameter(
            type=standard_artifacts.Examples, optional=True
        ),
        ID_MAP_KEY: component_spec.ChannelParameter(
            type=standard_artifacts.Examples, optional=True
        ),
    }
    OUTPUTS = {
        CLEANED_KEY: component_spec.ChannelParameter(type=standard_artifacts.Examples),
        REJECTED_KEY: component_spec.ChannelParameter(type=standard_artifacts.Examples),
    }
