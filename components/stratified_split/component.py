"""StratifiedSplit: a class-style Beam component for exact stratified splits.

Reads every split of an Examples artifact and writes an Examples
artifact whose named splits hold exactly round(n * ratio) examples of every
stratum (label value, optionally jointly with other features), by largest
remainder. Membership depends only on the seed and each example's content (or
group key), so reruns, runners and worker counts agree byte for byte.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence, Union

from tfx import v1 as tfx

# ExecutorClassSpec/BeamExecutorSpec are not exported by tfx.v1.
from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts

from components.stratified_split import executor, spec
from components.stratified_split.options import SplitOptions, splits_from_pairs

DEFAULT_SPLITS = (("train", 0.6), ("dev", 0.2), ("test", 0.2))


class StratifiedSplit(tfx.types.BaseBeamComponent):
    """Splits examples into named splits, exactly per stratum and deterministically."""

    SPEC_CLASS = spec.StratifiedSplitSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(
        self,
        examples: tfx.dsl.Channel,
        label: str,
        ratios: Union[Sequence[tuple[str, float]], Mapping[str, float]] = DEFAULT_SPLITS,
        stratify_by: Sequence[str] = (),
        group_by: Optional[str] = None,
        seed: int = 0,
        code_version: Optional[str] = None,
    ) -> None:
        """Builds the component; bad options fail here, when the pipeline is built.

        Args:
          examples: The Examples to split.
          label: The label feature.
          ratios: Ordered (name, ratio) pairs or an ordered mapping; >= 2 splits,
            ratios > 0 summing to 1.
          stratify_by: Features stratified jointly with the label (e.g. `source`).
          group_by: Keep all examples with the same value in one split.
          seed: Chooses the membership; same seed + same input = same splits.
          code_version: A fingerprint of the code; a new one invalidates TFX's cache.

        Raises:
          ValueError: Invalid split names or ratios, or overlapping keys.
        """
        pairs = ratios.items() if isinstance(ratios, Mapping) else ratios
        options = SplitOptions(
            ratios=splits_from_pairs(pairs),
            label=label,
            stratify_by=tuple(stratify_by),
            group_by=group_by,
            seed=seed,
        )
        super().__init__(
            spec=spec.StratifiedSplitSpec(
                examples=examples,
                split_examples=tfx.dsl.Channel(type=standard_artifacts.Examples),
                code_version=code_version,
                **options.to_exec_properties(),
            )
        )
