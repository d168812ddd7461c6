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
- per spanned source, within `source_facts`: `spans`, each span read with
  its version, folder and rows (a window of several spans, or the newest);
  each row of a spanned source carries its span as the int64 feature `span`;
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
import tensorflow as tf
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
from components.source_example_gen import csv_batches, facts, id_facts, span_window
from components.source_example_gen.properties import (
    NOT_READ,
    REFERENCE_FACTS_PROPERTY,
    SOURCE_FACTS_PROPERTY,
    SOURCE_INVENTORY_PROPERTY,
)

from core import source_folders, spans
from core.provenance import SPAN_FEATURE

FACTS_FILE = "source_label_counts"
IDS_FILE = "id_facts"
SPAN_ROWS_FILE = "span_rows"
# The tagged output of the (source, span) row counts.
SPAN_COUNTS = "span_counts"
# The exec_properties key of the span TFX's ExampleGen driver resolved
# (tfx.components.example_gen.utils.SPAN_PROPERTY_NAME).
SPAN_PROPERTY = "span"


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
    `counts.COUNTS` at the end of each bundle; for a spanned source, also per
    (source, span) on SPAN_COUNTS. The batch's distinct (column, id) pairs of
    each id column leave on `id_facts.IDS`.
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
        self._span_counter = counts.BundleCounter()

    def start_bundle(self) -> None:
        self._counter = counts.BundleCounter()
        self._span_counter = counts.BundleCounter()

    def process(
        self, batch: tuple[Optional[int], list[list[bytes]]], types: Mapping[str, int]
    ) -> Iterator[Any]:
        span, rows = batch
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
        records = csv_batches.encode(rows, self._names, types)
        if span is None:
            yield records
            return
        self._span_counter.add((self._source, str(span)), len(rows))
        tag = span_feature(span)
        yield [record + tag for record in records]

    def finish_bundle(self) -> Iterator[beam.pvalue.TaggedOutput]:
        yield from self._counter.emit()
        for counted in self._span_counter.emit():
            yield beam.pvalue.TaggedOutput(SPAN_COUNTS, counted.value)


def span_feature(span: int) -> bytes:
    """Bytes that, appended to a serialized tf.Example, set its int64 `span` feature
    (protobuf merges concatenated messages; see `example_features.string_features`)."""
    example = tf.train.Example()
    example.features.feature[SPAN_FEATURE].int64_list.value.append(span)
    return example.SerializeToString()


def _span_batches(item: tuple[Optional[int], str], columns: int) -> Iterator[tuple]:
    """(span, file) -> (span, rows) per batch of the file's rows."""
    span, path = item
    for rows in csv_batches.read_row_batches(path, columns):
        yield span, rows


def _batch_types(batch: tuple[Optional[int], list[list[bytes]]], names: Sequence[str]) -> dict:
    """A (span, rows) batch's column types (see `csv_batches.infer_types`)."""
    return csv_batches.infer_types(batch[1], names)


def ingest_source(
    pipeline: beam.Pipeline,
    source: str,
    files: Sequence[tuple[Optional[int], str]],
    names: Sequence[str],
    examples: Any,
    label_key: Optional[str],
    id_columns: Sequence[str] = (),
) -> tuple[beam.PCollection, beam.PCollection, beam.PCollection]:
    """Reads one source's CSV files into its split of `examples`.

    Each file is read twice, by one worker each time: once to type the
    columns, once to encode and write, so no row waits in memory for the types.
    The types are the source's over every span read, as one split has one type
    per column.

    Args:
      files: (span, file) pairs; span None for an unspanned source.

    Returns:
      (label counts as (source, label) -> n pairs, the (column, id) pairs of
      `id_columns`, distinct per batch, row counts as (source, span) -> n pairs).
    """
    step = f"[{source}]"
    columns = len(names)

    def row_batches(label: str) -> beam.PCollection:
        return (
            pipeline
            | f"{label}Files{step}" >> beam.Create(list(files))
            | f"{label}Spread{step}" >> beam.Reshuffle()
            | f"{label}Rows{step}" >> beam.FlatMap(_span_batches, columns)
        )

    types = (
        row_batches("Type")
        | f"TypeBatches{step}" >> beam.Map(_batch_types, names)
        | f"MergeTypes{step}" >> beam.CombineGlobally(MergeTypes())
    )
    encoded = row_batches("Encode") | f"EncodeBatches{step}" >> beam.ParDo(
        EncodeBatch(source, names, label_key, id_columns), beam.pvalue.AsSingleton(types)
    ).with_outputs(counts.COUNTS, id_facts.IDS, SPAN_COUNTS, main="records")
    examples_io.write_split_batches(encoded.records, examples, source)
    return encoded[counts.COUNTS], encoded[id_facts.IDS], encoded[SPAN_COUNTS]


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
          core.errors.InputDataError: A span of the window has no folder for
            one source (preflight says so first, before TFX starts).
        """
        _check_formats(exec_properties)
        examples = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.EXAMPLES_KEY]
        )
        settings = read_custom_config(exec_properties)
        source_spans = _source_spans(exec_properties, settings)
        source_files = {
            source: [path for _, listed in found for path in listed.read]
            for source, found in source_spans.items()
        }
        not_read = {
            source: [
                {"folder": listed.folder, "names": listed.not_read}
                for _, listed in found
                if listed.not_read
            ]
            for source, found in source_spans.items()
        }
        _check_output_splits(exec_properties, list(source_files))
        examples.split_names = artifact_utils.encode_split_names(list(source_files))
        label_key = settings.get("label")
        id_columns = list(settings.get("id_columns", []))
        facts_path = counts.counts_path(examples.uri, FACTS_FILE)
        ids_path = counts.counts_path(examples.uri, IDS_FILE)
        span_rows_path = counts.counts_path(examples.uri, SPAN_ROWS_FILE)
        headers = {
            source: _header(source, files, id_columns) for source, files in source_files.items()
        }
        spanned = any(folder is not None for found in source_spans.values() for folder, _ in found)

        with self._make_beam_pipeline() as pipeline:
            label_counts, ids, span_counts = zip(
                *(
                    ingest_source(
                        pipeline,
                        source,
                        [
                            (folder.span if folder else None, path)
                            for folder, listed in source_spans[source]
                            for path in listed.read
                        ],
                        headers[source],
                        examples,
                        label_key,
                        id_columns,
                    )
                    for source in source_files
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
            if spanned and not settings.get("reference"):
                (
                    span_counts
                    | "FlattenSpanCounts" >> beam.Flatten()
                    | "WriteSpanCounts" >> counts.WriteCounted(span_rows_path)
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
            [found] = source_spans.values()
            if spanned:
                measured["span"] = span_record(found[0][0], None)
            [unread] = not_read.values()
            if unread:
                measured[NOT_READ] = unread
            examples.set_string_custom_property(REFERENCE_FACTS_PROPERTY, json.dumps(measured))
            return
        if not label_key:
            return
        label_counts_read = counts.nest(counts.read_counts(facts_path))
        span_rows = counts.nest(counts.read_counts(span_rows_path)) if spanned else {}
        measured = {}
        for source, paths in source_files.items():
            measured[source] = {
                **facts.summarize_labels(label_counts_read.get(source, {})),
                **facts.content_fingerprint(paths),
            }
            if spanned:
                rows = span_rows.get(source, {})
                measured[source]["spans"] = [
                    span_record(folder, rows.get(str(folder.span), 0))
                    for folder, _ in source_spans[source]
                ]
            if not_read[source]:
                measured[source][NOT_READ] = not_read[source]
        examples.set_string_custom_property(SOURCE_FACTS_PROPERTY, json.dumps(measured))
        if settings.get("inventory"):
            examples.set_string_custom_property(
                SOURCE_INVENTORY_PROPERTY, json.dumps(settings["inventory"])
            )


def span_record(folder: spans.SpanFolder, rows: Optional[int]) -> dict[str, Any]:
    """One span's entry in the facts: {"span", "version", "folder"} and "rows" when counted."""
    record: dict[str, Any] = {"span": folder.span, "version": folder.version, "folder": folder.path}
    if rows is not None:
        record["rows"] = rows
    return record


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


def _source_spans(
    exec_properties: dict[str, Any], settings: Mapping[str, Any]
) -> dict[str, list[tuple[Optional[spans.SpanFolder], source_folders.FolderFiles]]]:
    """Source (input split) name -> (span folder, its files) per span read.

    The files read are those the split's pattern matches that the
    source-folder rule reads (`core.source_folders`: `.csv` and `.csv.gz`, any
    case); the folder's other entries (files, and subfolders) are listed as
    not read. Unspanned: one entry (None, ...). Spanned: the window's spans
    up to the one TFX's driver resolved, oldest first.

    Raises:
      core.errors.InputDataError: A span of the window lacks one source.
    """
    window = span_window.from_settings(settings)
    patterns = _split_patterns(exec_properties)
    if window is None:
        return {source: [(None, _folder_files(pattern))] for source, pattern in patterns.items()}
    newest = exec_properties.get(SPAN_PROPERTY)
    # In input-config order: the custom config's mapping comes back sorted by name.
    folders = spans.window(
        [(source, window.patterns[source]) for source in patterns],
        window.size,
        int(newest) if newest is not None else None,
    )
    return {
        source: [
            (folder, _folder_files(os.path.join(folder.path, source_folders.EXAMPLE_GEN_GLOB)))
            for folder in found
        ]
        for source, found in folders.items()
    }


def _folder_files(pattern: str) -> source_folders.FolderFiles:
    """The files of the pattern's folder that are read, and its other entries.

    A folder part that is itself a pattern (a component built by hand) keeps
    the files the pattern matches that the rule reads, and lists none as
    not read.
    """
    folder = os.path.dirname(pattern)
    if not any(magic in folder for magic in "*?["):
        return source_folders.list_folder(folder)
    read = [
        path
        for path in (_text(f) for f in fileio.glob(pattern))
        if source_folders.is_csv_name(os.path.basename(path)) and not fileio.isdir(path)
    ]
    return source_folders.FolderFiles(folder, sorted(read), [])


def _text(path: Any) -> str:
    return path.decode() if isinstance(path, bytes) else path


def _split_patterns(exec_properties: dict[str, Any]) -> dict[str, str]:
    """Source (input split) name -> its files' pattern (the input base joined in)."""
    input_config = tfx.proto.Input()
    json_format.Parse(exec_properties[standard_component_specs.INPUT_CONFIG_KEY], input_config)
    base = exec_properties[standard_component_specs.INPUT_BASE_KEY]
    return {split.name: os.path.join(base, split.pattern) for split in input_config.splits}
