"""Feature names the Transform and the model can carry, checked with the config.

The Transform names its outputs after each feature (`age` -> `age_xf` and
`age_missing_xf`; a categorical's vocabulary file), and the model names its
inputs and layers after those (`age_xf_column`, `country_xf_embedding`). A
name TensorFlow refuses, or two features making one name, would otherwise
fail the run in the Trainer, tens of seconds in, in TensorFlow's words
("'job title_xf_column/' is not a valid root scope name"; "Graph
disconnected" when `age` and `age_missing` both make `age_missing_xf`).
"""

from __future__ import annotations

from typing import Sequence

from pipeline.inventory import FieldReader
from transforms import features
from transforms.features import FeatureColumn

# The longest file name most filesystems take (ext4, xfs, tmpfs; GCS takes more).
MAX_FILE_NAME_BYTES = 255
_ALLOWED = (
    "a feature's name starts with a letter (A-Z, a-z), a digit or '.', and holds only those, "
    "'_', '-', '/', '>' and '\\'"
)


def check_feature_names(r: FieldReader, columns: Sequence[FeatureColumn], label: str) -> None:
    """Fails on a feature name TensorFlow refuses, or two names that make one.

    Args:
      r: The config reader (its errors name the file and field).
      columns: The config's features, in order.
      label: The label column (its class index is a transformed feature too).

    Raises:
      ConfigError: Naming the feature's field (`features[i].name`), why, and,
        for a clash, the name both make and the other field.
    """
    for i, column in enumerate(columns):
        problem = features.name_problem(column.name)
        if problem:
            layer = features.transformed_name(column.name) + "_column"
            raise r.error(
                f"features[{i}].name",
                f"{column.name!r} cannot name a feature: {problem}, and TensorFlow refuses "
                f"such names for the model's layers ({layer!r}); {_ALLOWED}. Rename the column",
            )
        if column.kind == features.FeatureKind.CATEGORICAL:
            vocabulary = features.vocabulary_file_written(column.name)
            if len(vocabulary.encode("utf-8")) > MAX_FILE_NAME_BYTES:
                raise r.error(
                    f"features[{i}].name",
                    f"{column.name[:40]!r}... is {len(column.name):,} characters long: its "
                    f"vocabulary file's name would be longer than the {MAX_FILE_NAME_BYTES} "
                    "bytes a file name may have; rename the column",
                )
    made = {features.label_output_name(label): f"the label {label!r} (its class index)"}
    for i, column in enumerate(columns):
        for name, what in features.generated_names(column).items():
            if name in made:
                raise r.error(
                    f"features[{i}].name",
                    f"{column.name!r} makes {name!r} ({what}), and so does {made[name]}; "
                    "rename one of the columns",
                )
            made[name] = f"features[{i}] {column.name!r} ({what})"
