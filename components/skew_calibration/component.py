"""SkewCalibration: a class-style Beam component that calibrates the skew check.

Reads the training split and its StatisticsGen statistics, draws seeded
Poisson resamples of the split at several sizes (`validation.calibration`), and
measures each with the skew check's own distance. Its output sits beside the
training statistics in lineage; every later scoring of a model trained on
them looks it up to choose thresholds for its sample size.
"""

from __future__ import annotations

import json
from typing import Optional, Sequence

from tfx import v1 as tfx

# ExecutorClassSpec/BeamExecutorSpec are not exported by tfx.v1.
from tfx.dsl.components.base import executor_spec

from components.skew_calibration import executor, spec
from validation.calibration import DEFAULT_RESAMPLES


class SkewCalibration(tfx.types.BaseBeamComponent):
    """Per-feature skew thresholds from resamples of the training split."""

    SPEC_CLASS = spec.SkewCalibrationSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(
        self,
        statistics: tfx.dsl.Channel,
        examples: tfx.dsl.Channel,
        features: Sequence[str],
        split: str = "train",
        seed: int = 0,
        resamples: int = DEFAULT_RESAMPLES,
        code_version: Optional[str] = None,
    ) -> None:
        """Builds the component; bad options fail here, when the pipeline is built.

        Args:
          statistics: StatisticsGen's statistics of `examples`.
          examples: The split examples the model trains on.
          features: The model's raw features to calibrate.
          split: The training split.
          seed: Chooses the resamples; same seed + same data = same calibration.
          resamples: Resamples per size (at least 2).
          code_version: A fingerprint of the code; a new one invalidates TFX's cache.

        Raises:
          ValueError: No features, or fewer than 2 resamples.
        """
        if not features:
            raise ValueError("SkewCalibration: no features to calibrate")
        if resamples < 2:
            raise ValueError(f"SkewCalibration: resamples is {resamples}; at least 2 are needed")
        super().__init__(
            spec=spec.SkewCalibrationSpec(
                statistics=statistics,
                examples=examples,
                calibration=tfx.dsl.Channel(type=spec.SkewCalibrationArtifact),
                features=json.dumps(list(features)),
                split=split,
                seed=seed,
                resamples=resamples,
                code_version=code_version,
            )
        )
