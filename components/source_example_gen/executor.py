"""The CSV ExampleGen executor, plus measurements and the inventory on its output.

Stock CsvExampleGen turns each source's CSV files into one split. This executor
does exactly that (it subclasses the stock executor and leaves its output
untouched) and, in the same Beam job, counts every source's rows per label
value. After the job it records on the output Examples artifact, as MLMD
custom properties:

- `source_facts`: per source, rows, labelled rows, label counts, positive rate
  and a content fingerprint of its files (see `facts`);
- `source_inventory`: per source, what the config's inventory declares (owner,
  cost, labelling method...), when the config has one.

Both travel with lineage: every artifact derived from these examples leads
back to this one.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterator

import apache_beam as beam
import tensorflow as tf
from google.protobuf import json_format, struct_pb2

# The stock CSV executor, artifact_utils and the standard parameter names are
# not exported by tfx.v1; subclassing the executor is how TFX documents custom
# ExampleGens.
from tfx import v1 as tfx
from tfx.components.example_gen.csv_example_gen import executor as csv_executor
from tfx.types import artifact_utils, standard_component_specs
from tfx.v1.dsl.io import fileio

from components.common import counts
from components.source_example_gen import facts
from components.source_example_gen.properties import (
    SOURCE_FACTS_PROPERTY,
    SOURCE_INVENTORY_PROPERTY,
)

FACTS_FILE = "source_label_counts"
# Where GenerateExamplesByBeam finds the counts file (exec_properties is the
# only thing the base executor passes it; it adds `_beam_pipeline_args` the same way).
_FACTS_PATH_KEY = "_cascade_label_counts_path"


def read_custom_config(exec_properties: dict[str, Any]) -> dict[str, Any]:
    """The component's settings: {"label": str, "inventory": {source: {...}},
    "code_version": str}; absent keys were not set."""
    text = exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY)
    if not text:
        return {}
    config = tfx.proto.CustomConfig()
    json_format.Parse(text, config)
    struct = struct_pb2.Struct()
    config.custom_config.Unpack(struct)
    return json_format.MessageToDict(struct)


class CountLabels(beam.DoFn):
    """Counts one source's examples per label value; yields only the counts."""

    def __init__(self, source: str, label_key: str) -> None:
        self._source = source
        self._label_key = label_key

    def start_bundle(self) -> None:
        """Starts the bundle's counts from zero."""
        self._counter = counts.BundleCounter()

    def process(self, example: tf.train.Example) -> Iterator[object]:
        """Counts the example under (source, label value); yields nothing."""
        self._counter.add((self._source, facts.label_value(example, self._label_key)))
        return iter(())

    def finish_bundle(self) -> Iterator[beam.pvalue.TaggedOutput]:
        """Emits the bundle's counts on `counts.COUNTS`."""
        yield from self._counter.emit()


class Executor(csv_executor.Executor):
    """CsvExampleGen's executor, which also measures each source and records the inventory."""

    def GenerateExamplesByBeam(  # noqa: N802 - the base class's name
        self, pipeline: beam.Pipeline, exec_properties: dict[str, Any]
    ) -> dict[str, beam.PCollection]:
        """The stock splits, with a counting branch on each."""
        splits = super().GenerateExamplesByBeam(pipeline, exec_properties)
        label_key = read_custom_config(exec_properties).get("label")
        if label_key:
            label_counts = [
                examples
                | f"CountLabels[{name}]"
                >> beam.ParDo(CountLabels(name, label_key)).with_outputs(counts.COUNTS)
                for name, examples in splits.items()
            ]
            (
                [counted[counts.COUNTS] for counted in label_counts]
                | "FlattenLabelCounts" >> beam.Flatten()
                | "WriteLabelCounts" >> counts.WriteCounted(exec_properties[_FACTS_PATH_KEY])
            )
        return splits

    def Do(  # noqa: N802 - the base class's name
        self,
        input_dict: dict[str, list],
        output_dict: dict[str, list],
        exec_properties: dict[str, Any],
    ) -> None:
        """Runs the stock ExampleGen, then records facts and inventory on the output."""
        examples = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.EXAMPLES_KEY]
        )
        facts_path = counts.counts_path(examples.uri, FACTS_FILE)
        super().Do(input_dict, output_dict, {**exec_properties, _FACTS_PATH_KEY: facts_path})

        settings = read_custom_config(exec_properties)
        if not settings.get("label"):
            return
        source_files = _source_files(exec_properties)
        label_counts = counts.nest(counts.read_counts(facts_path))
        measured = {
            source: {
                **facts.summarize_labels(label_counts.get(source, {})),
                **facts.content_fingerprint(paths),
            }
            for source, paths in source_files.items()
        }
        examples.set_string_custom_property(SOURCE_FACTS_PROPERTY, json.dumps(measured))
        if settings.get("inventory"):
            examples.set_string_custom_property(
                SOURCE_INVENTORY_PROPERTY, json.dumps(settings["inventory"])
            )


def _source_files(exec_properties: dict[str, Any]) -> dict[str, list[str]]:
    """Source (input split) name -> the files its pattern matches."""
    input_config = tfx.proto.Input()
    json_format.Parse(exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config)
    base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
    return {
        split.name: fileio.glob(os.path.join(base, split.pattern)) for split in input_config.splits
    }
