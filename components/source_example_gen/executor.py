"""The CSV ExampleGen executor: CsvExampleGen's examples, made a batch of rows at a time,
plus measurements and the inventory on its output.

Stock CsvExampleGen turns each source's CSV files into one split, one Beam
element and one Python-built tf.Example per row, and shuffles every example
before writing. This executor writes the same examples (same features, types
and values: `csv_batches`), per split, in two streaming passes over the files:
the first infers each column's type over the split, the second encodes and
writes the rows in batches. In the second pass it also counts every source's
rows per label value and collects the ids of its id columns (see `id_facts`).
After the job it records on the output Examples artifact, as MLMD custom
properties:

- `source_facts`: per source, rows, labelled rows, label counts, positive rate
  and a content fingerprint of its files (see `facts`);
- `source_inventory`: per source, what the config's inventory declares (owner,
  cost, labelling method...), when the config has one;
- `reference_facts`, for a reference dataset (spam list, id map: one split,
  no label) instead of `source_facts`: its rows, content fingerprint and, per
  id column, the distinct ids and a digest of their set.

They travel with lineage: every artifact derived from these examples leads
back to this one.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterator, Mapping, Optional, Sequence

import apache_beam as beam
from google.protobuf import json_format, struct_pb2

# artifact_utils, examples_utils, the ExampleGen split-name helper and the
# standard parameter names are not exported by tfx.v1; they are what the stock
# ExampleGen executor uses to lay out and describe its output.
from tfx import v1 as tfx
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.v1.dsl.io import fileio

from components.common import counts, examples_io
from components.source_example_gen import csv_batches, facts, id_facts
from components.source_example_gen.properties import (
    REFERENCE_FACTS_PROPERTY,
    SOURCE_FACTS_PROPERTY,
    SOURCE_INVENTORY_PROPERTY,
)

FACTS_FILE = "source_label_counts"
IDS_FILE = "id_facts"


def read_custom_config(exec_properties: dict[str, Any]) -> dict[str, Any]:
    """The component's settings: {"label": str, "inventory": {source: {...}},
    "code_version": str, "id_columns": [str], "reference": bool}; absent keys
    were not set."""
    text = exec_properties.get(standard_component_specs.CUSTOM_CONFIG_KEY)
    if not text:
        return {}
    config = tfx.proto.CustomConfig()
    json_format.Parse(text, config)
    struct = struct_pb2.Struct()
    config.custom_config.Unpack(struct)
    return json_format.MessageToDict(struct)


class MergeTypes(beam.CombineFn):
    """Column types of batches -> the split's types (the highest seen per column)."""

    def create_accumulator(self) -> dict[str, int]:
        return {}

    def add_input(self, accumulator: dict[str, int], types: Mapping[str, int]) -> dict[str, int]:
        return csv_batches.merge_types([accumulator, types])

    def merge_accumulators(self, accumulators: Sequence[Mapping[str, int]]) -> dict[str, int]:
        return csv_batches.merge_types(list(accumulators))

    def extract_output(self, accumulator: dict[str, int]) -> dict[str, int]:
        return accumulator


class EncodeBatch(beam.DoFn):
    """A batch of one source's rows -> its serialized tf.Examples, as one list.

    Rows are counted per (source, label value) and the counts leave on
    `counts.COUNTS` at the end of each bundle. The batch's distinct
    (column, id) pairs of each id column leave on `id_facts.IDS`.
    """

    def __init__(
        self,
        source: str,
        names: Sequence[str],
        label_key: Optional[str],
        id_columns: Sequence[str] = (),
    ) -> None:
        self._source = source
        self._names = tuple(names)
        self._label_index = self._names.index(label_key) if label_key in self._names else None
        self._id_columns = tuple(id_columns)
        self._counter = counts.BundleCounter()

    def start_bundle(self) -> None:
        self._counter = counts.BundleCounter()

    def process(self, rows: list[list[bytes]], types: Mapping[str, int]) -> Iterator[Any]:
        label_type = (
            types.get(self._names[self._label_index], csv_batches.ColumnType.UNKNOWN)
            if self._label_index is not None
            else csv_batches.ColumnType.UNKNOWN
        )
        for label in csv_batches.label_texts(rows, self._label_index, label_type):
            self._counter.add((self._source, label))
        for column in self._id_columns:
            index = self._names.index(column) if column in self._names else None
            column_type = types.get(column, csv_batches.ColumnType.UNKNOWN)
            ids = set(csv_batches.column_texts(rows, index, column_type)) - {None}
            for value in sorted(ids):
                yield beam.pvalue.TaggedOutput(id_facts.IDS, (column, value))
        yield csv_batches.encode(rows, self._names, types)

    def finish_bundle(self) -> Iterator[beam.pvalue.TaggedOutput]:
        yield from self._counter.emit()


def ingest_source(
    pipeline: beam.Pipeline,
    source: str,
    files: Sequence[str],
    names: Sequence[str],
    examples: Any,
    label_key: Optional[str],
    id_columns: Sequence[str] = (),
) -> tuple[beam.PCollection, beam.PCollection]:
    """Reads one source's CSV files into its split of `examples`.

    Each file is read twice, by one worker each time: once to type the
    columns, once to encode and write, so no row waits in memory for the types.

    Returns:
      (label counts as (source, label) -> n pairs, the (column, id) pairs of
      `id_columns`, distinct per batch).
    """
    step = f"[{source}]"
    columns = len(names)

    def row_batches(label: str) -> beam.PCollection:
        return (
            pipeline
            | f"{label}Files{step}" >> beam.Create(list(files))
            | f"{label}Spread{step}" >> beam.Reshuffle()
            | f"{label}Rows{step}" >> beam.FlatMap(csv_batches.read_row_batches, columns)
        )

    types = (
        row_batches("Type")
        | f"TypeBatches{step}" >> beam.Map(csv_batches.infer_types, names)
        | f"MergeTypes{step}" >> beam.CombineGlobally(MergeTypes())
    )
    encoded = row_batches("Encode") | f"EncodeBatches{step}" >> beam.ParDo(
        EncodeBatch(source, names, label_key, id_columns), beam.pvalue.AsSingleton(types)
    ).with_outputs(counts.COUNTS, id_facts.IDS, main="records")
    examples_io.write_split_batches(encoded.records, examples, source)
    return encoded[counts.COUNTS], encoded[id_facts.IDS]


class Executor(base_beam_executor.BaseBeamExecutor):
    """CsvExampleGen's output, made in batches, with each source measured and the inventory recorded."""

    def Do(  # noqa: N802 - TFX's executor interface
        self,
        input_dict: dict[str, list],
        output_dict: dict[str, list],
        exec_properties: dict[str, Any],
    ) -> None:
        """Writes one split per source, then records facts and inventory on the output.

        Raises:
          csv_batches.CsvFormatError: A source matches no file, its files'
            headers differ or lack an id column, or a row cannot be read
            (names the file and line).
          ValueError: The output format asked for is not gzipped TFRecords of tf.Examples.
        """
        _check_formats(exec_properties)
        examples = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.EXAMPLES_KEY]
        )
        source_files = _source_files(exec_properties)
        _check_output_splits(exec_properties, list(source_files))
        examples.split_names = artifact_utils.encode_split_names(list(source_files))
        settings = read_custom_config(exec_properties)
        label_key = settings.get("label")
        id_columns = list(settings.get("id_columns", []))
        facts_path = counts.counts_path(examples.uri, FACTS_FILE)
        ids_path = counts.counts_path(examples.uri, IDS_FILE)
        headers = {
            source: _header(source, files, id_columns) for source, files in source_files.items()
        }

        with self._make_beam_pipeline() as pipeline:
            label_counts, ids = zip(
                *(
                    ingest_source(
                        pipeline, source, files, headers[source], examples, label_key, id_columns
                    )
                    for source, files in source_files.items()
                )
            )
            (
                label_counts
                | "FlattenLabelCounts" >> beam.Flatten()
                | "WriteLabelCounts" >> counts.WriteCounted(facts_path)
            )
            if id_columns:
                (
                    ids
                    | "FlattenIds" >> beam.Flatten()
                    | "WriteIdFacts" >> id_facts.WriteIdFacts(ids_path)
                )
        examples_utils.set_payload_format(examples, example_gen_pb2.FORMAT_TF_EXAMPLE)
        if exec_properties.get(standard_component_specs.OUTPUT_FILE_FORMAT_KEY):
            examples_utils.set_file_format(examples, "tfrecords_gzip")

        if settings.get("reference"):
            [paths] = source_files.values()
            measured = {
                "rows": sum(counts.read_counts(facts_path).values()),
                **facts.content_fingerprint(paths),
                "ids": id_facts.read_id_facts(ids_path, id_columns),
            }
            examples.set_string_custom_property(REFERENCE_FACTS_PROPERTY, json.dumps(measured))
            return
        if not label_key:
            return
        label_counts_read = counts.nest(counts.read_counts(facts_path))
        measured = {
            source: {
                **facts.summarize_labels(label_counts_read.get(source, {})),
                **facts.content_fingerprint(paths),
            }
            for source, paths in source_files.items()
        }
        examples.set_string_custom_property(SOURCE_FACTS_PROPERTY, json.dumps(measured))
        if settings.get("inventory"):
            examples.set_string_custom_property(
                SOURCE_INVENTORY_PROPERTY, json.dumps(settings["inventory"])
            )


def _header(source: str, files: Sequence[str], id_columns: Sequence[str] = ()) -> list[str]:
    """The column names every file of a source shares.

    Raises:
      csv_batches.CsvFormatError: The source matches no file, two files' headers
        differ, a header names a column twice (stock CsvExampleGen would keep
        the last such column's values and drop the others without a word), or
        lacks an id column.
    """
    if not files:
        raise csv_batches.CsvFormatError(f"source {source!r}: its pattern matches no CSV file")
    names = csv_batches.read_header(files[0])
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise csv_batches.CsvFormatError(
            f"source {source!r}: {files[0]} names the column {repeated[0]!r} more than once"
        )
    for path in files[1:]:
        other = csv_batches.read_header(path)
        if other != names:
            raise csv_batches.CsvFormatError(
                f"source {source!r}: {path} has the header {other}, but {files[0]} has {names}"
            )
    missing = [column for column in id_columns if column not in names]
    if missing:
        raise csv_batches.CsvFormatError(
            f"source {source!r}: {files[0]} has no id column {missing[0]!r} (columns: {names})"
        )
    return names


def _check_formats(exec_properties: dict[str, Any]) -> None:
    payload = exec_properties.get(standard_component_specs.OUTPUT_DATA_FORMAT_KEY)
    file_format = exec_properties.get(standard_component_specs.OUTPUT_FILE_FORMAT_KEY)
    if payload not in (None, example_gen_pb2.FORMAT_TF_EXAMPLE) or file_format not in (
        None,
        example_gen_pb2.FILE_FORMAT_UNSPECIFIED,
        example_gen_pb2.FORMAT_TFRECORDS_GZIP,
    ):
        raise ValueError("CsvSourceExampleGen writes gzipped TFRecords of tf.Examples only")


def _check_output_splits(exec_properties: dict[str, Any], sources: list[str]) -> None:
    """The output splits must be the sources (one each), as the component configures them."""
    input_config, output_config = tfx.proto.Input(), tfx.proto.Output()
    json_format.Parse(exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config)
    json_format.Parse(
        exec_properties.get(standard_component_specs.OUTPUT_CONFIG_KEY) or "{}", output_config
    )
    outputs = example_gen_utils.generate_output_split_names(input_config, output_config)
    if outputs != sources:
        raise ValueError(
            f"CsvSourceExampleGen writes one split per source ({sources}), not {outputs}"
        )


def _source_files(exec_properties: dict[str, Any]) -> dict[str, list[str]]:
    """Source (input split) name -> the files its pattern matches."""
    input_config = tfx.proto.Input()
    json_format.Parse(exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config)
    base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
    return {
        split.name: sorted(fileio.glob(os.path.join(base, split.pattern)))
        for split in input_config.splits
    }
