"""HashSplit component: spec and class-style Beam component.

An interim step until CleanExamples (source tagging) and StratifiedSplit (exact
stratified splitting) replace it: it reads every input split of an Examples
artifact (one per source, as ExampleGen writes them), adds a `source` feature
naming the split each example came from, and assigns every example to one of the
named output splits by a seeded fingerprint of its bytes. Split sizes are right
on average, as with ExampleGen's hash buckets, but not per class.
"""

from __future__ import annotations

from typing import Optional, Sequence

from tfx import v1 as tfx

# ComponentSpec, its parameter types and ExecutorClassSpec are not exported by
# tfx.v1; every class-style component (stock and tfx-addons) imports them so.
from tfx.dsl.components.base import executor_spec
from tfx.types import component_spec, standard_artifacts

from components.hash_split import executor

EXAMPLES_KEY = "examples"
SPLIT_EXAMPLES_KEY = "split_examples"
SPLITS_KEY = "splits"
RATIOS_KEY = "ratios"
SEED_KEY = "seed"
SOURCE_FEATURE_KEY = "source_feature"


class HashSplitSpec(component_spec.ComponentSpec):
    """HashSplit's inputs, outputs and parameters."""

    PARAMETERS = {
        SPLITS_KEY: component_spec.ExecutionParameter(type=str),
        RATIOS_KEY: component_spec.ExecutionParameter(type=str),
        SEED_KEY: component_spec.ExecutionParameter(type=int),
        SOURCE_FEATURE_KEY: component_spec.ExecutionParameter(type=str),
    }
    INPUTS = {EXAMPLES_KEY: component_spec.ChannelParameter(type=standard_artifacts.Examples)}
    OUTPUTS = {
        SPLIT_EXAMPLES_KEY: component_spec.ChannelParameter(type=standard_artifacts.Examples)
    }


class HashSplit(tfx.types.BaseBeamComponent):
    """Tags examples with their source split and hash-splits them into named splits."""

    SPEC_CLASS = HashSplitSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(
        self,
        examples: tfx.dsl.Channel,
        splits: Sequence[tuple[str, float]],
        seed: int,
        source_feature: Optional[str] = "source",
    ) -> None:
        """Builds the component.

        Args:
          examples: Examples with one split per source.
          splits: Ordered (name, ratio) pairs; ratios > 0 summing to 1.
          seed: Chooses the (deterministic) assignment.
          source_feature: Feature that receives the input split's name.
        """
        spec = HashSplitSpec(
            examples=examples,
            splits=",".join(name for name, _ in splits),
            ratios=",".join(repr(float(ratio)) for _, ratio in splits),
            seed=seed,
            source_feature=source_feature,
            split_examples=tfx.dsl.Channel(type=standard_artifacts.Examples),
        )
        super().__init__(spec=spec)
