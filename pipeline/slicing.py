"""Which slices the Evaluator computes, and which it names after a computed one.

The Evaluator reports metrics overall, per `evaluation.slice_by` feature and,
with an inventory, per labelling method. A labelling method is declared per
source, so when every source has its own method (as in the demo) the
labelling-method slices hold exactly the rows of the source slices. Computing
both would run every metric twice over the same partition; TFMA's per-slice
combiners are most of the Evaluator's time after the model itself. In that
case the plan computes the source slices only and names each labelling-method
slice after its source's (`same_as`), which the Evaluator's output carries as
the custom property `SAME_SLICES_PROPERTY` for the readers of its metrics
(`metadata.run_results`, `metadata.run_verdict`).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Mapping, Optional

from core.provenance import SOURCE_FEATURE
from pipeline.config import PipelineConfig
from pipeline.inventory import LABELLING_METHOD_FEATURE

# The ModelEvaluation artifact's custom property: JSON {slice name: the name
# of the computed slice holding the same rows}.
SAME_SLICES_PROPERTY = "same_slices"


def slice_name(column: str, value: Any) -> str:
    """One feature's slice as reports name it: ("source", b"web") -> "source=web"."""
    text = value.decode("utf-8") if isinstance(value, bytes) else str(value)
    return f"{column}={text}"


@dataclasses.dataclass(frozen=True)
class SlicePlan:
    """The Evaluator's slicing.

    Attributes:
      feature_keys: The features TFMA slices by, one slicing each (besides
        the whole test split).
      same_as: Slice name -> the computed slice with the same rows, for the
        slices not computed ({"labelling_method=crowd": "source=partner"}).
    """

    feature_keys: tuple[str, ...]
    same_as: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def same_as_json(self) -> Optional[str]:
        """`same_as` as the artifact property's JSON; None when every slice is computed."""
        return json.dumps(dict(sorted(self.same_as.items()))) if self.same_as else None


def slice_plan(config: PipelineConfig) -> SlicePlan:
    """The slicings the Evaluator computes for `config`, and the slices named after them.

    Args:
      config: The validated pipeline config.

    Returns:
      The config's `evaluation.slice_by` features, plus the labelling method
      when the config has an inventory. The labelling method is computed only
      when it is not already one-to-one with sliced sources: two sources
      sharing a method make a slice no source slice holds.
    """
    keys = list(config.evaluation.slice_by)
    if not config.inventory or LABELLING_METHOD_FEATURE in keys:
        return SlicePlan(tuple(keys))
    method_of = {name: entry.labelling_method for name, entry in config.inventory.items()}
    one_to_one = len(set(method_of.values())) == len(method_of)
    if SOURCE_FEATURE in keys and one_to_one:
        return SlicePlan(
            tuple(keys),
            {
                slice_name(LABELLING_METHOD_FEATURE, method): slice_name(SOURCE_FEATURE, source)
                for source, method in method_of.items()
            },
        )
    return SlicePlan(tuple(keys + [LABELLING_METHOD_FEATURE]))
