"""SkewCalibration's executor: reads the training statistics, runs the Beam job, summarizes."""

from __future__ import annotations

import json
import os
from typing import Any

import apache_beam as beam
from absl import logging

# BaseBeamExecutor is not exported by tfx.v1; it gives executors
# `_make_beam_pipeline()`, which applies the pipeline's beam_pipeline_args
# (Dataflow's included).
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact, artifact_utils
from tfx.v1.dsl.io import fileio

from components.common import examples_io
from components.skew_calibration import beam_calibration, spec
from validation import calibration, skew, statistics

DISTANCES_FILE = "resampled_distances.jsonl"


class CalibrationInputError(ValueError):
    """The inputs cannot be calibrated (a feature missing from the training statistics)."""


def read_distances(path: str) -> list[calibration.ResampledDistance]:
    """Reads the job's JSON-lines output."""
    with fileio.open(path, "r") as f:
        return [beam_calibration.from_json_line(line) for line in f.read().splitlines() if line]


class Executor(base_beam_executor.BaseBeamExecutor):
    """Resamples the training split and writes `calibration.json`."""

    def Do(  # noqa: N802 - TFX's executor interface
        self,
        input_dict: dict[str, list[artifact.Artifact]],
        output_dict: dict[str, list[artifact.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        """Calibrates the skew check on the training split.

        Args:
          input_dict: `statistics` and `examples`, one artifact each.
          output_dict: `calibration`: one artifact to fill.
          exec_properties: See `spec.SkewCalibrationSpec`.

        Raises:
          ValueError: The split is not in the inputs.
          CalibrationInputError: A feature is not in the training statistics,
            or the training split is empty.
        """
        stats_artifact = artifact_utils.get_single_instance(input_dict[spec.STATISTICS_KEY])
        examples = artifact_utils.get_single_instance(input_dict[spec.EXAMPLES_KEY])
        output = artifact_utils.get_single_instance(output_dict[spec.CALIBRATION_KEY])
        split = exec_properties[spec.SPLIT_KEY]
        seed = int(exec_properties[spec.SEED_KEY])
        resamples = int(exec_properties[spec.RESAMPLES_KEY])
        features = list(json.loads(exec_properties[spec.FEATURES_KEY]))
        [split] = examples_io.check_splits(examples, [split])

        training = statistics.read_statistics(
            statistics.split_stats_path(stats_artifact.uri, split)
        )
        split_rows = int(training.datasets[0].num_examples) if training.datasets else 0
        if split_rows == 0:
            raise CalibrationInputError(
                f"SkewCalibration: the {split!r} split of {examples.uri} holds no examples"
            )
        columns, missing = statistics.typed_columns(training, features)
        if missing:
            raise CalibrationInputError(
                f"SkewCalibration: feature {', '.join(repr(m) for m in missing)} is not in the "
                f"training statistics {stats_artifact.uri}"
            )
        sizes = calibration.resample_sizes(split_rows)
        distances_path = os.path.join(output.uri, DISTANCES_FILE)
        with self._make_beam_pipeline() as pipeline:
            (
                examples_io.read_split_batches(pipeline, examples, split)
                | "Measure"
                >> beam_calibration.MeasureResamples(
                    columns, training, seed, sizes, split_rows, resamples
                )
                | "EncodeDistances" >> beam.Map(beam_calibration.to_json_line)
                | "WriteDistances"
                >> beam.io.WriteToText(distances_path, shard_name_template="", num_shards=1)
            )
        result = calibration.summarize(
            read_distances(distances_path),
            measures={c.name: skew.measure_for(c) for c in columns},
            training_values=skew.values_per_feature(training),
            seed=seed,
            resamples=resamples,
            training_rows=split_rows,
        )
        calibration.write_calibration(result, output.uri)
        properties = {
            "seed": str(seed),
            "resamples": str(resamples),
            "resample_sizes": json.dumps(list(sizes)),
            "training_rows": str(split_rows),
            "features": json.dumps(sorted(features)),
            "uncalibrated": json.dumps(list(result.uncalibrated)),
        }
        for name, value in properties.items():
            output.set_string_custom_property(name, value)
        logging.info(
            "SkewCalibration measured %d resamples at sizes %s of %s training rows, %d features",
            resamples * len(sizes),
            ", ".join(f"{s:,}" for s in sizes),
            f"{split_rows:,}",
            len(result.features),
        )
