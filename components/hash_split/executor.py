"""HashSplit's executor: one Beam pipeline over all input splits."""

from __future__ import annotations

import json
from typing import Any

import apache_beam as beam
from absl import logging

# BaseBeamExecutor is not exported by tfx.v1; it is what gives executors
# `_make_beam_pipeline()`, which applies the pipeline's beam_pipeline_args.
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact, artifact_utils

from components.common import counts, examples_io
from components.hash_split import split

COUNTS_FILE = "split_counts"


def _parse_splits(exec_properties: dict[str, Any]) -> tuple[list[str], list[float]]:
    names = [n for n in exec_properties["splits"].split(",") if n]
    ratios = [float(r) for r in exec_properties["ratios"].split(",") if r]
    if len(names) != len(ratios) or len(names) < 2:
        raise ValueError(f"HashSplit needs >= 2 splits with one ratio each, got {names} {ratios}")
    # `not ... <=` rather than `>`: every comparison with NaN is False, so NaN must fail the test.
    if not all(r > 0 for r in ratios) or not abs(sum(ratios) - 1.0) <= 1e-6:
        raise ValueError(f"HashSplit ratios must be > 0 and sum to 1, got {ratios}")
    return names, ratios


class Executor(base_beam_executor.BaseBeamExecutor):
    """Reads every input split, tags `source`, partitions by fingerprint, writes splits."""

    def Do(  # noqa: N802 - TFX's executor interface
        self,
        input_dict: dict[str, list[artifact.Artifact]],
        output_dict: dict[str, list[artifact.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        """Runs the split.

        Args:
          input_dict: `examples`: one Examples artifact.
          output_dict: `split_examples`: one Examples artifact to fill.
          exec_properties: `splits`, `ratios` (comma-separated), `seed`, `source_feature`.

        Raises:
          ValueError: Bad split parameters.
        """
        examples = artifact_utils.get_single_instance(input_dict["examples"])
        output = artifact_utils.get_single_instance(output_dict["split_examples"])
        names, ratios = _parse_splits(exec_properties)
        seed = int(exec_properties["seed"])
        source_feature = exec_properties["source_feature"]
        sources = examples_io.check_splits(examples, None)
        bounds = split.cumulative_bounds(ratios)
        counts_file = counts.counts_path(output.uri, COUNTS_FILE)
        # Split names first: artifact_utils locates each Split-<name>/ folder by them.
        examples_io.set_output_splits(output, names, examples)

        with self._make_beam_pipeline() as pipeline:
            tagged = [
                examples_io.read_split(pipeline, examples, source)
                | f"TagSource{source.capitalize()}"
                >> beam.Map(
                    lambda record, s=source: (s, split.tag_source(record, source_feature, s))
                )
                for source in sources
            ]
            parts = (
                tagged
                | "FlattenSources" >> beam.Flatten()
                | "AssignSplits"
                >> beam.Partition(
                    lambda pair, _: split.split_index(seed, pair[1], bounds), len(names)
                )
            )
            for index, name in enumerate(names):
                records = parts[index] | f"DropSourceKey{name.capitalize()}" >> beam.Values()
                examples_io.write_split(records, output, name)
            (
                [
                    parts[i] | f"KeySplit{n.capitalize()}" >> beam.Map(lambda p, n=n: (n, p[0]))
                    for i, n in enumerate(names)
                ]
                | "FlattenKeys" >> beam.Flatten()
                | "CountSplitSources" >> counts.WriteCounts(counts_file)
            )

        split_counts = counts.read_counts(counts_file)
        output.set_string_custom_property("seed", str(seed))
        output.set_string_custom_property("ratios", json.dumps(dict(zip(names, ratios))))
        output.set_string_custom_property(
            "split_counts", json.dumps(counts.nest(split_counts), sort_keys=True)
        )
        total = sum(split_counts.values())
        per_split = {
            n: sum(v for k, v in split_counts.items() if k.startswith(n + "/")) for n in names
        }
        logging.info(
            "HashSplit wrote %d examples from %d sources: %s",
            total,
            len(sources),
            ", ".join(f"{n} {per_split[n]:,}" for n in names),
        )
