"""CleanExamples' parameter names and ComponentSpec."""

from __future__ import annotations

# ComponentSpec and its parameter types are not exported by tfx.v1.
from tfx.types import component_spec, standard_artifacts

EXAMPLES_KEY = "examples"
SPAM_LIST_KEY = "spam_list"
ID_MAP_KEY = "id_map"
CLEANED_KEY = "cleaned_examples"
REJECTED_KEY = "rejected_examples"

# One execution parameter per CleanOptions field, named like the config's
# options (`cleaning.keep_latest_by` -> keep_latest_by); lists and mappings as JSON.
ID_KEY = "id_key"
REQUIRED_COLUMNS_KEY = "required_columns"  # JSON [name, ...]
KEEP_LATEST_BY_KEY = "keep_latest_by"
SOURCE_PRIORITY_KEY = "source_priority"  # JSON [source, ...]
LABEL_KEY = "label"
LABEL_CLASSES_KEY = "label_classes"  # JSON [class, ...]
SPAM_ID_COLUMN_KEY = "spam_id_column"
ALIAS_COLUMN_KEY = "alias_column"
CANONICAL_COLUMN_KEY = "canonical_column"
SOURCE_TAGS_KEY = "source_tags"  # JSON {source: {feature: value}}
# A fingerprint of the component's code: TFX's cache key sees parameters, not
# code, so a new version would otherwise reuse outputs of the old one.
CODE_VERSION_KEY = "code_version"


class CleanExamplesSpec(component_spec.ComponentSpec):
    """CleanExamples' inputs, outputs and parameters."""

    PARAMETERS = {
        ID_KEY: component_spec.ExecutionParameter(type=str, optional=True),
        REQUIRED_COLUMNS_KEY: component_spec.ExecutionParameter(type=str),
        KEEP_LATEST_BY_KEY: component_spec.ExecutionParameter(type=str, optional=True),
        SOURCE_PRIORITY_KEY: component_spec.ExecutionParameter(type=str),
        LABEL_KEY: component_spec.ExecutionParameter(type=str, optional=True),
        LABEL_CLASSES_KEY: component_spec.ExecutionParameter(type=str, optional=True),
        SPAM_ID_COLUMN_KEY: component_spec.ExecutionParameter(type=str, optional=True),
        ALIAS_COLUMN_KEY: component_spec.ExecutionParameter(type=str, optional=True),
        CANONICAL_COLUMN_KEY: component_spec.ExecutionParameter(type=str, optional=True),
        SOURCE_TAGS_KEY: component_spec.ExecutionParameter(type=str),
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
