"""Feature kinds and transformed-feature names: the one place both sides agree on.

`pipeline.config` builds `FeatureColumn`s from YAML; the preprocessing_fn and the
model receive them as a plain JSON-able dict (`custom_config`), because TFX passes
component parameters through MLMD and cannot carry Python objects.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from typing import Any, Mapping, Optional, Sequence

from core.labels import LabelSpec

TRANSFORMED_SUFFIX = "_xf"
MISSING_SUFFIX = "_missing"
# Categorical values absent from the data are replaced by this token before the
# vocabulary is computed, so "missing" is a category the model can learn from.
MISSING_CATEGORY = "__MISSING__"
# Day-of-week ids: 0 = Monday ... 6 = Sunday, 7 = timestamp missing.
MISSING_DAY_OF_WEEK = 7
DAY_OF_WEEK_BUCKETS = 8


class FeatureKind(str, enum.Enum):
    """How a raw column is turned into model inputs."""

    NUMERIC = "numeric"
    SKEWED_NUMERIC = "skewed_numeric"
    CATEGORICAL = "categorical"
    TIMESTAMP = "timestamp"


@dataclasses.dataclass(frozen=True)
class FeatureColumn:
    """One raw input column and how to transform it.

    Attributes:
      name: The column name in the raw data.
      kind: The transformation family.
      oov_buckets: Categorical only: hash buckets for values outside the vocabulary.
      min_frequency: Categorical only: values seen fewer times in the analysis data
        are left out of the vocabulary and land in an OOV bucket.
    """

    name: str
    kind: FeatureKind
    oov_buckets: int = 1
    min_frequency: int = 1


def transformed_name(name: str) -> str:
    """Returns the name of the transformed feature made from raw column `name`."""
    return name + TRANSFORMED_SUFFIX


def missing_indicator_name(name: str) -> str:
    """Returns the name of the 0/1 feature that says `name` was missing."""
    return transformed_name(name + MISSING_SUFFIX)


def timestamp_output_names(name: str) -> tuple[str, str, str]:
    """Returns the (hour sine, hour cosine, day-of-week) outputs of a timestamp."""
    return (
        transformed_name(name + "_hour_sin"),
        transformed_name(name + "_hour_cos"),
        transformed_name(name + "_day_of_week"),
    )


def vocabulary_filename(name: str) -> str:
    """Returns the tf.Transform vocabulary file name for categorical `name`."""
    return name + "_vocab"


def vocabulary_file_written(name: str) -> str:
    """The file name tf.Transform gives categorical `name`'s vocabulary.

    tf.Transform rewrites the name it is given (`vocabulary_filename`): every
    character but a word character, a space or '-' becomes '_', and runs of
    spaces and '-' become one '-' (`tft.analyzers.sanitized_vocab_filename`,
    pinned by tests/transforms/test_feature_names.py). So two columns can
    share a file ('a.b' and 'a_b').
    """
    written = re.sub(r"[^\w\s-]", "_", vocabulary_filename(name)).strip()
    return re.sub(r"[-\s]+", "-", written)


# TensorFlow's rule for a root name scope. Keras names layers after a
# feature's transformed names (`<name>_xf_column`, `<name>_xf_embedding`), and
# each layer opens a root scope of its name: a feature's name must start one.
TF_ROOT_SCOPE = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_.\\/>-]*")


def name_problem(name: str) -> Optional[str]:
    """Why TensorFlow would refuse the names the model makes from feature `name`, or None.

    Returns:
      E.g. "it holds a space", "it holds 'é', which is not ASCII", "it starts
      with '_'"; None for a name TF_ROOT_SCOPE takes.
    """
    if TF_ROOT_SCOPE.fullmatch(name):
        return None
    if not name:
        return "it is empty"
    if not TF_ROOT_SCOPE.fullmatch(name[0]):
        return f"it starts with {name[0]!r}"
    bad = next(c for c in name if not TF_ROOT_SCOPE.fullmatch("a" + c))
    if bad == " ":
        return "it holds a space"
    if not bad.isascii():
        return f"it holds {bad!r}, which is not ASCII"
    return f"it holds {bad!r}"


def generated_names(column: FeatureColumn) -> dict[str, str]:
    """The names the Transform and the model make from `column`, each with what it is.

    Returns:
      Transformed feature names (which also name the model's inputs and
      layers) and, for a categorical, its vocabulary file as tf.Transform
      writes it -> e.g. "its missing-value indicator".
    """
    names = {transformed_name(column.name): "its transformed value"}
    if column.kind == FeatureKind.CATEGORICAL:
        names[vocabulary_file_written(column.name)] = "its vocabulary file"
    if column.kind == FeatureKind.TIMESTAMP:
        hour_sin, hour_cos, day_of_week = timestamp_output_names(column.name)
        names = {hour_sin: "its hour sine", hour_cos: "its hour cosine"}
        names[day_of_week] = "its day of week"
    if column.kind != FeatureKind.CATEGORICAL:
        names[missing_indicator_name(column.name)] = "its missing-value indicator"
    return names


def float_outputs(column: FeatureColumn) -> list[str]:
    """Returns the dense float32 transformed features that `column` produces."""
    if column.kind in (FeatureKind.NUMERIC, FeatureKind.SKEWED_NUMERIC):
        return [transformed_name(column.name), missing_indicator_name(column.name)]
    if column.kind == FeatureKind.TIMESTAMP:
        hour_sin, hour_cos, _ = timestamp_output_names(column.name)
        return [hour_sin, hour_cos, missing_indicator_name(column.name)]
    return []


def integer_outputs(column: FeatureColumn) -> list[str]:
    """Returns the dense int64 id features (with a known bucket count) of `column`."""
    if column.kind == FeatureKind.CATEGORICAL:
        return [transformed_name(column.name)]
    if column.kind == FeatureKind.TIMESTAMP:
        return [timestamp_output_names(column.name)[2]]
    return []


def to_custom_config(columns: Sequence[FeatureColumn], label: LabelSpec) -> dict[str, Any]:
    """Serializes the feature columns and label for a TFX component's custom_config.

    Args:
      columns: The model's input columns.
      label: The label column with its classes (known: listed or found).

    Returns:
      A JSON-serializable dict that `from_custom_config` and
      `label_from_custom_config` read back.
    """
    label.check()
    return {
        "label": label.name,
        "label_spec": label.to_dict(),
        "features": [
            {
                "name": c.name,
                "kind": c.kind.value,
                "oov_buckets": c.oov_buckets,
                "min_frequency": c.min_frequency,
            }
            for c in columns
        ],
    }


def from_custom_config(
    custom_config: Mapping[str, Any],
) -> tuple[list[FeatureColumn], str]:
    """Reads what `to_custom_config` wrote.

    Args:
      custom_config: The dict a TFX component passed to the user function.

    Returns:
      (feature columns, label column name).

    Raises:
      KeyError: `custom_config` was not written by `to_custom_config`.
    """
    columns = [
        FeatureColumn(
            name=f["name"],
            kind=FeatureKind(f["kind"]),
            oov_buckets=int(f["oov_buckets"]),
            min_frequency=int(f["min_frequency"]),
        )
        for f in custom_config["features"]
    ]
    return columns, custom_config["label"]


def label_from_custom_config(custom_config: Mapping[str, Any]) -> LabelSpec:
    """The label with its classes, as `to_custom_config` wrote it.

    A custom_config that names the column alone is read as a 0/1 label.
    """
    if "label_spec" in custom_config:
        return LabelSpec.from_dict(custom_config["label_spec"])
    return LabelSpec(custom_config["label"], ("0", "1"))


def label_output_name(label: str) -> str:
    """Returns the transformed label's feature name: int64, the class index, or
    for two classes 1 for the positive class and 0 for the other."""
    return transformed_name(label)
