"""Batch transform: the saved tf.Transform graph applied to new raw data, on Beam.

For users who need transformed serving features at scale (a feature store, a
model outside TensorFlow, an audit of what the model saw): the Transform
component's graph is read as is (`tft_beam.ReadTransformFn`, no re-analysis)
and applied with `tft_beam.TransformDataset`, so the features are those of
training and of the serving signature, bit for bit. It runs on the same runner
profiles as the pipeline (the command is `cascade transform`).

Input: CSV files with a header (`.csv`, or `.csv.gz` read as gzip; checked
like batch scoring's input: file, line and column of every bad cell) or
TFRecord files of raw tf.Examples (`*.gz` is read as gzip), each hashed while
it is read. Output: `<output>/transformed_examples-*.gz`, gzipped TFRecords of
transformed tf.Examples, and a report of the rows and each file's sha256. The
job writes into a staging folder of its own beside the output
(`core.output_paths`), and its files are moved into the output folder only
when every row was good: a bad row, a failure or an interruption leaves the
output folder as it was, and the first bad rows are named.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Generator, Iterator, Sequence

import apache_beam as beam

from core import interrupts, output_paths
from core.errors import CascadeError
from core.write_errors import write_failure
from models import raw_features
from serving import serving_input

OUTPUT_FILE_PREFIX = "transformed_examples"
ERRORS = "errors"
ROWS = "rows"
DIGESTS = "digests"
REPORT_FILE = "batch_transform_report.json"


class RawExamplesFromFile(beam.DoFn):
    """Reads one input file into checked raw tf.Examples, hashing it as it goes.

    A problem is reported, not raised, so one run names every bad place (the
    first few are shown) instead of stopping at the first. ERRORS holds
    (path, line or record number, message); number 0 means the whole file.
    DIGESTS holds (path, sha256) of each file read to its end.
    """

    def __init__(self, columns: Sequence[raw_features.RawColumn]) -> None:
        self._columns = list(columns)

    def process(self, path: str) -> Iterator[object]:
        digest = hashlib.sha256()
        if serving_input.is_csv(path):
            read = yield from self._csv_examples(path, digest)
        else:
            read = yield from self._checked_records(path, digest)
        if read:
            yield beam.pvalue.TaggedOutput(DIGESTS, (path, digest.hexdigest()))

    def _checked_records(self, path: str, digest: Any) -> Generator[object, None, bool]:
        """The file's checked records; returns True once the whole file is read."""
        from components.common.examples_io import read_record_file

        index = 0
        try:
            for index, record in enumerate(read_record_file(path, digest), start=1):
                try:
                    yield serving_input.check_example(record, self._columns)
                except ValueError as e:
                    yield beam.pvalue.TaggedOutput(ERRORS, (path, index, f"record {index}, {e}"))
        except ValueError as e:  # not a TFRecord file, or cut short
            yield beam.pvalue.TaggedOutput(
                ERRORS, (path, 0, f"after {index} records: {e}".replace(f"{path}: ", ""))
            )
            return False
        return True

    def _csv_examples(self, path: str, digest: Any) -> Generator[object, None, bool]:
        """The file's rows as raw tf.Examples; returns True once the whole file is read."""
        try:
            for line, row in serving_input.read_csv_rows(path, self._columns, digest=digest):
                try:
                    yield serving_input.csv_row_to_example(row, self._columns)
                except ValueError as e:
                    yield beam.pvalue.TaggedOutput(ERRORS, (path, line, f"line {line}, {e}"))
        except serving_input.ServingInputError as e:
            yield beam.pvalue.TaggedOutput(ERRORS, (path, 0, str(e).replace(f"{path}: ", "", 1)))
            return False
        return True


def _report(
    rows: int, problems: int, bad_files: int, first: Sequence[tuple], digests: Sequence[tuple]
) -> str:
    return json.dumps(
        {
            "rows": rows,
            "bad_rows": problems - bad_files,
            "bad_files": bad_files,
            "first_problems": [f"{path}, {message}" for path, _, message in sorted(first)],
            "files": sorted([path, sha] for path, sha in digests),
        }
    )


def raw_schema_for(transform_dir: str, names: Sequence[str]):
    """The Transform's raw schema restricted to `names` (the serving columns).

    Raises:
      CascadeError: A name is not in the graph's raw schema.
    """
    import tensorflow_transform as tft
    from tensorflow_metadata.proto.v0 import schema_pb2

    raw_schema = tft.TFTransformOutput(transform_dir).raw_metadata.schema
    by_name = {f.name: f for f in raw_schema.feature}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise CascadeError(
            f"the transform graph in {transform_dir} has no raw feature "
            f"{', '.join(repr(m) for m in missing)} (was it made with another config?)"
        )
    schema = schema_pb2.Schema()
    schema.CopyFrom(raw_schema)
    del schema.feature[:]
    schema.feature.extend(by_name[n] for n in names)
    return schema


def build(
    pipeline: beam.Pipeline,
    input_files: Sequence[str],
    transform_dir: str,
    names: Sequence[str],
    output_dir: str,
    temp_dir: str,
    exclude_outputs: Sequence[str] = (),
) -> None:
    """Adds the batch transform to `pipeline`.

    Args:
      pipeline: The Beam pipeline.
      input_files: CSV or TFRecord files of raw data.
      transform_dir: The Transform component's `transform_graph` folder.
      names: Raw columns to read (the model's features, plus the label if the
        data has it); the graph transforms what it can from them.
      output_dir: Where transformed examples and the report are written.
      temp_dir: tf.Transform's temp folder.
      exclude_outputs: Transformed features not to produce: those made from a
        raw column the data does not have (the label, for serving data).
    """
    import tensorflow_transform as tft
    import tensorflow_transform.beam as tft_beam
    from tfx_bsl.public import tfxio

    schema = raw_schema_for(transform_dir, names)
    columns = raw_features.columns_from_feature_spec(
        tft.TFTransformOutput(transform_dir).raw_feature_spec(), names
    )
    raw_tfxio = tfxio.TFExampleBeamRecord(
        physical_format="tfrecord", schema=schema, telemetry_descriptors=["Cascade"]
    )
    checked = (
        pipeline
        | "InputFiles" >> beam.Create(list(input_files))
        | "SpreadFiles" >> beam.Reshuffle()
        | "ReadAndCheck"
        >> beam.ParDo(RawExamplesFromFile(columns)).with_outputs(ERRORS, DIGESTS, main=ROWS)
    )
    with tft_beam.Context(temp_dir=temp_dir):
        transform_fn = pipeline | "ReadTransformFn" >> tft_beam.ReadTransformFn(transform_dir)
        raw_batches = checked[ROWS] | "DecodeRaw" >> raw_tfxio.BeamSource()
        transformed, _ = (
            (raw_batches, raw_tfxio.TensorAdapterConfig()),
            transform_fn,
        ) | "Transform" >> tft_beam.TransformDataset(
            exclude_outputs=list(exclude_outputs) or None, output_record_batches=True
        )
    encoder = tfxio.RecordBatchToExamplesEncoder()
    (
        transformed
        | "EncodeExamples"
        >> beam.FlatMap(lambda batch_and_extra: encoder.encode(batch_and_extra[0]))
        | "WriteExamples"
        >> beam.io.WriteToTFRecord(
            os.path.join(output_dir, OUTPUT_FILE_PREFIX), file_name_suffix=".gz"
        )
    )
    rows = checked[ROWS] | "CountRows" >> beam.combiners.Count.Globally()
    problems = checked[ERRORS] | "CountProblems" >> beam.combiners.Count.Globally()
    bad_files = (
        checked[ERRORS]
        | "WholeFileProblems" >> beam.Filter(lambda problem: problem[1] == 0)
        | "CountBadFiles" >> beam.combiners.Count.Globally()
    )
    # (path, number, message) tuples sort by file, then line as a number.
    first = checked[ERRORS] | "FirstProblems" >> beam.combiners.Top.Smallest(
        serving_input.MAX_ERRORS_SHOWN
    )
    digests = checked[DIGESTS] | "ListDigests" >> beam.combiners.ToList()
    (
        rows
        | "Report"
        >> beam.Map(
            _report,
            problems=beam.pvalue.AsSingleton(problems),
            bad_files=beam.pvalue.AsSingleton(bad_files),
            first=beam.pvalue.AsSingleton(first),
            digests=beam.pvalue.AsSingleton(digests),
        )
        | "WriteReport"
        >> beam.io.WriteToText(
            os.path.join(output_dir, REPORT_FILE), shard_name_template="", num_shards=1
        )
    )


def read_report(output_dir: str) -> dict:
    """What the job counted: rows, bad_rows, bad_files, first_problems, and
    files: [path, sha256] of each file read to its end, by path."""
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    with fileio.open(os.path.join(output_dir, REPORT_FILE), "r") as f:
        return json.loads(f.read())


def publish(staging_dir: str, output_dir: str) -> None:
    """Moves the job's transformed example files from its staging folder into
    `output_dir`, replacing the earlier ones there (other files are kept)."""
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    fileio.makedirs(output_dir)
    for path in fileio.glob(os.path.join(output_dir, OUTPUT_FILE_PREFIX + "-*")):
        fileio.remove(path)
    for path in sorted(fileio.glob(os.path.join(staging_dir, OUTPUT_FILE_PREFIX + "-*"))):
        name = os.path.basename(str(path))
        fileio.rename(str(path), os.path.join(output_dir, name), overwrite=True)


def run_batch_transform(
    input_pattern: str,
    transform_dir: str,
    names: Sequence[str],
    output_dir: str,
    beam_args: Sequence[str],
    exclude_outputs: Sequence[str] = (),
) -> dict:
    """Runs the job in a staging folder and publishes its files when every row was good.

    The caller checks `output_dir` first (`core.output_paths.check_output_folder`):
    publishing replaces the folder's earlier `transformed_examples-*` files.

    Returns:
      The report: {"rows": n, "bad_rows": 0, "bad_files": 0, "files": [[path,
      sha256], ...], ...}.

    Raises:
      CascadeError: No input file matches, the transform graph is not one, or
        some rows or files are bad (their places are named; nothing is published).
    """
    from apache_beam.options.pipeline_options import PipelineOptions

    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    files = serving_input.input_files(input_pattern)
    if not fileio.exists(os.path.join(transform_dir, "transform_fn")):
        raise CascadeError(
            f"{transform_dir} is not a Transform graph (it has no transform_fn folder)"
        )
    with output_paths.staging_folder(output_dir) as staging_dir:
        options = PipelineOptions([*beam_args, f"--temp_location={staging_dir}/beam_tmp"])
        try:
            with beam.Pipeline(options=options) as pipeline:
                build(
                    pipeline,
                    files,
                    transform_dir,
                    names,
                    staging_dir,
                    os.path.join(staging_dir, "tft_tmp"),
                    exclude_outputs,
                )
        except BaseException as e:
            # A failed or interrupted job (Ctrl-C, SIGTERM) publishes nothing;
            # the staging folder goes with what the job had written.
            reason = write_failure(e)
            if reason is None:
                raise
            raise CascadeError(
                f"cannot write the transformed examples for {output_dir}: {reason} "
                "(what the job had written was removed; nothing was published)"
            ) from None
        report = read_report(staging_dir)
        if report["bad_rows"] or report["bad_files"]:
            bad = []
            if report["bad_rows"]:
                total = report["rows"] + report["bad_rows"]
                bad.append(f"{report['bad_rows']:,} of {total:,} rows")
            if report["bad_files"]:
                bad.append(f"{report['bad_files']} of {len(files)} files")
            raise serving_input.ServingInputError(
                f"{' and '.join(bad)} cannot be transformed, so no output was kept; first: "
                + "; ".join(report["first_problems"])
            )
        # Publishing runs to its end (see core.interrupts).
        interrupts.finish_without_interrupts()
        publish(staging_dir, output_dir)
    return report


def serving_names(config: Any, input_pattern: str) -> list[str]:
    """The config's feature columns, plus the label if the first input file has it."""

    names = [f.name for f in config.features]
    files = serving_input.input_files(input_pattern)
    if serving_input.is_csv(files[0]) and config.label in serving_input.read_header(files[0]):
        names.append(config.label)
    return names
