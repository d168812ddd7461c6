"""Batch scoring on Beam: raw serving data -> the model's `serving_default` -> a predictions CSV.

The same scoring as `serving.scoring`, built for data one process cannot score
in time: every input file is read and checked in a worker (CSV cells exactly as
the single-process scorer checks them, so a bad cell is named by file, line and
column), scored in batches with tfx_bsl's RunInference (`RunInferenceOnKeyedBatches`) through the exported
signature (the tf.Transform graph inside the model does all preprocessing),
and written with Beam's text IO, so `gs://` paths work on every runner. TFDV
statistics of the same rows are computed in the same job for the skew check.

Input: CSV files with a header, or TFRecord files of raw tf.Examples (`*.gz` is
read as gzip). Each file is hashed while it is read (no second pass).
Output: one CSV file (`shards=1`) or a folder of `part-SSSSS-of-NNNNN.csv`
shards, each with the header `[file,] line, <keep...>, score`; `file` appears
when the input is more than one file, and for TFRecord input `line` is the
record's number. Rows are in no particular order: `line` (with `file`) says
which input row a score belongs to. If any row or file is bad, nothing is
written: the job's staging folder is removed and the first problems are named.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
from typing import Any, Iterator, Sequence

import apache_beam as beam

from core.errors import CascadeError
from models.raw_features import RawColumn
from serving import serving_input
from serving.scoring import LINE_COLUMN, SCORE_COLUMN, format_score, same_path
from serving.statistics import STATS_FILE, beam_statistics

ROWS = "rows"
# Rows per Beam element: reading, scoring, formatting and statistics work on
# batches, so Beam's per-element cost is paid once per batch, not per row.
BATCH_ROWS = 1024
ERRORS = "errors"
DIGESTS = "digests"
SHARD_PREFIX = "part"
REPORT_FILE = "scoring_report.json"
FILE_COLUMN = "file"


@dataclasses.dataclass(frozen=True)
class BeamScoringResult:
    """What one Beam scoring did (the fields `record_scoring` reads, as `ScoringResult`).

    Attributes:
      rows: Rows scored.
      seconds: Wall time of the job, publishing included.
      input_sha256: The input file's sha256; for several files, the sha256 of
        their `<sha256>  <path>` lines in path order (as `sha256sum` prints them).
      input_files: How many files were read.
      statistics: TFDV statistics of the scored rows (None if not asked for).
      absent_columns: Optional model columns no CSV input file has.
    """

    rows: int
    seconds: float
    input_sha256: str
    input_files: int
    statistics: Any = None
    absent_columns: tuple[str, ...] = ()


def _kept_from_example(record: bytes, keep: Sequence[str]) -> tuple[str, ...]:
    """The first value of each kept feature of a raw tf.Example, as text."""
    import tensorflow as tf

    features = tf.train.Example.FromString(record).features.feature
    kept = []
    for name in keep:
        feature = features.get(name)
        kind = feature.WhichOneof("kind") if feature is not None else None
        values = getattr(feature, kind).value if kind else ()
        value = values[0] if values else ""
        kept.append(value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))
    return tuple(kept)


class ScorableRows(beam.DoFn):
    """Reads one input file into batches of keyed, checked raw tf.Examples.

    Main output: (keys, examples) per batch of up to `batch_rows` rows, where
    keys[i] = (file index, line or record number, kept cells) of examples[i].
    ERRORS: (path, number, message); number 0 means the whole file.
    DIGESTS: (path, sha256, rows) once the file has been read to its end.

    Args:
      columns: The model's raw columns.
      keep: Columns copied into the predictions.
    """

    def __init__(
        self, columns: Sequence[RawColumn], keep: Sequence[str], batch_rows: int = BATCH_ROWS
    ) -> None:
        self._columns = list(columns)
        self._keep = list(keep)
        self._batch_rows = batch_rows

    def process(self, indexed_path: tuple[int, str]) -> Iterator[object]:
        index, path = indexed_path
        digest = hashlib.sha256()
        rows = 0
        keys: list = []
        examples: list = []
        try:
            for number, kept, example in self._examples(path, digest):
                if example is None:
                    yield beam.pvalue.TaggedOutput(ERRORS, (path, number, kept))
                    continue
                rows += 1
                keys.append((index, number, kept))
                examples.append(example)
                if len(examples) == self._batch_rows:
                    yield tuple(keys), examples
                    keys, examples = [], []
            if examples:
                yield tuple(keys), examples
        except (serving_input.ServingInputError, ValueError) as e:
            message = str(e).replace(f"{path}: ", "", 1)
            yield beam.pvalue.TaggedOutput(ERRORS, (path, 0, message))
            return
        yield beam.pvalue.TaggedOutput(DIGESTS, (path, digest.hexdigest(), rows))

    def _examples(self, path: str, digest: Any) -> Iterator[tuple[int, Any, Any]]:
        """(number, kept cells, example) per row; (number, message, None) per bad row."""
        from components.common.examples_io import read_record_file

        if serving_input.is_csv(path):
            rows = serving_input.read_csv_rows(path, self._columns, self._keep, digest)
            for line, row in rows:
                try:
                    example = serving_input.csv_row_to_example(row, self._columns)
                except ValueError as e:
                    yield line, f"line {line}, {e}", None
                    continue
                yield line, tuple(row.get(k) or "" for k in self._keep), example
            return
        for number, record in enumerate(read_record_file(path, digest), start=1):
            try:
                serving_input.check_example(record, self._columns)
            except ValueError as e:
                yield number, f"record {number}, {e}", None
                continue
            yield number, _kept_from_example(record, self._keep), record


class PredictionLines(beam.DoFn):
    """(keys, PredictionLogs) of a batch -> its CSV lines, as one text element.

    Args:
      files: The input files, by index (named in the `file` column when several).
      output_key: The serving signature's output holding P(label = 1).
    """

    def __init__(self, files: Sequence[str], output_key: str) -> None:
        self._files = list(files) if len(files) > 1 else []
        self._output_key = output_key

    def process(self, batch: tuple[Any, Any]) -> Iterator[str]:
        keys, logs = batch
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for (index, number, kept), log in zip(keys, logs):
            score = log.predict_log.response.outputs[self._output_key].float_val[0]
            cells = [self._files[index]] if self._files else []
            writer.writerow([*cells, number, *kept, format_score(score)])
        # WriteToText ends each element with a newline.
        yield out.getvalue()[:-1]


def _csv_line(cells: Sequence[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


def header(files: Sequence[str], keep: Sequence[str]) -> str:
    """The predictions header for these inputs."""
    return _csv_line([*([FILE_COLUMN] if len(files) > 1 else []), LINE_COLUMN, *keep, SCORE_COLUMN])


def _report(digests: list, problems: list, bad_count: int) -> str:
    return json.dumps(
        {
            "files": sorted([path, sha, rows] for path, sha, rows in digests),
            "bad_rows": bad_count,
            "first_problems": [f"{path}, {message}" for path, _, message in sorted(problems)],
        }
    )


def predictions_target(job_dir: str, shards: int) -> str:
    """Where the job writes predictions inside its staging folder."""
    if shards == 1:
        return os.path.join(job_dir, "predictions.csv")
    return os.path.join(job_dir, "predictions")


def build(
    pipeline: beam.Pipeline,
    files: Sequence[str],
    model_dir: str,
    columns: Sequence[RawColumn],
    keep: Sequence[str],
    job_dir: str,
    shards: int,
    with_statistics: bool = True,
) -> None:
    """Adds the scoring job to `pipeline`; everything it writes goes under `job_dir`.

    Args:
      pipeline: The Beam pipeline.
      files: The input files (CSV or TFRecord).
      model_dir: The SavedModel folder (Pusher's or Trainer's serving export).
      columns: The model's raw columns.
      keep: Input columns copied into the predictions.
      job_dir: Staging folder: predictions, statistics and the report.
      shards: Output files (1: one CSV; 0: as many as the runner chooses).
      with_statistics: Also compute TFDV statistics of the rows.
    """
    import tensorflow_data_validation as tfdv
    from tfx_bsl.public.beam.run_inference import RunInferenceOnKeyedBatches
    from tfx_bsl.public.proto import model_spec_pb2

    from models.model import OUTPUT_KEY, SERVING_SIGNATURE

    spec = model_spec_pb2.InferenceSpecType(
        saved_model_spec=model_spec_pb2.SavedModelSpec(
            model_path=model_dir, signature_name=[SERVING_SIGNATURE]
        )
    )
    read = (
        pipeline
        | "InputFiles" >> beam.Create(list(enumerate(files)))
        | "SpreadFiles" >> beam.Reshuffle()
        # The declared type keeps Beam from choosing a coder from
        # RunInference's input hint (a proto coder, which cannot encode keys).
        | "ReadAndCheck"
        >> beam.ParDo(ScorableRows(columns, keep))
        .with_output_types(beam.typehints.Tuple[beam.typehints.Any, beam.typehints.List[bytes]])
        .with_outputs(ERRORS, DIGESTS, main=ROWS)
    )
    target = predictions_target(job_dir, shards)
    write = (
        beam.io.WriteToText(
            target, shard_name_template="", num_shards=1, header=header(files, keep)
        )
        if shards == 1
        else beam.io.WriteToText(
            os.path.join(target, SHARD_PREFIX),
            file_name_suffix=".csv",
            num_shards=shards,
            header=header(files, keep),
        )
    )
    (
        read[ROWS]
        # Keyed batches: each batch's keys (the rows' places and kept cells)
        # come back with its prediction logs, in order.
        | "Score" >> RunInferenceOnKeyedBatches(spec)
        | "FormatLines" >> beam.ParDo(PredictionLines(files, OUTPUT_KEY))
        | "WritePredictions" >> write
    )
    if with_statistics:
        (
            read[ROWS]
            | "Examples" >> beam.Values()
            | "Statistics" >> beam_statistics(columns)
            | "WriteStatistics"
            >> tfdv.WriteStatisticsToBinaryFile(os.path.join(job_dir, STATS_FILE))
        )
    digests = read[DIGESTS] | "AllDigests" >> beam.combiners.ToList()
    bad_count = read[ERRORS] | "CountProblems" >> beam.combiners.Count.Globally()
    # (path, number, message) tuples sort by file, then line as a number.
    first = read[ERRORS] | "FirstProblems" >> beam.combiners.Top.Smallest(
        serving_input.MAX_ERRORS_SHOWN
    )
    (
        digests
        | "Report"
        >> beam.Map(
            _report,
            problems=beam.pvalue.AsSingleton(first),
            bad_count=beam.pvalue.AsSingleton(bad_count),
        )
        | "WriteReport"
        >> beam.io.WriteToText(
            os.path.join(job_dir, REPORT_FILE), shard_name_template="", num_shards=1
        )
    )


def combined_sha256(digests: Sequence[tuple[str, str]]) -> str:
    """One file's sha256, or for several the sha256 of their `sha256sum` lines in path order."""
    if len(digests) == 1:
        return digests[0][1]
    lines = "".join(f"{sha}  {path}\n" for path, sha in sorted(digests))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def check_report(report: dict, files: Sequence[str]) -> None:
    """Raises if the job met any bad row or file.

    Raises:
      ServingInputError: Counting the bad rows and files, naming the first problems.
    """
    bad_files = len(files) - len(report["files"])
    bad_rows = report["bad_rows"] - bad_files
    if not bad_rows and not bad_files:
        return
    bad = []
    if bad_rows:
        total = sum(rows for _, _, rows in report["files"]) + bad_rows
        bad.append(f"{bad_rows:,} of {total:,} rows")
    if bad_files:
        bad.append(f"{bad_files} of {len(files)} files")
    raise serving_input.ServingInputError(
        f"{' and '.join(bad)} cannot be scored, so no predictions were written; first: "
        + "; ".join(report["first_problems"])
    )


def publish(job_dir: str, output: str, shards: int) -> None:
    """Moves the finished predictions from the staging folder to `output`.

    A single file is renamed over `output`. Shards replace the `part-*` files
    of the `output` folder (other files there are left alone).
    """
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    staged = predictions_target(job_dir, shards)
    parent = os.path.dirname(output.rstrip("/")) or "."
    fileio.makedirs(parent)
    if shards == 1:
        fileio.rename(staged, output, overwrite=True)
        return
    fileio.makedirs(output)
    for old in fileio.glob(os.path.join(output, SHARD_PREFIX + "-*")):
        fileio.remove(old)
    for name in sorted(fileio.listdir(staged)):
        name = name.rstrip("/")
        fileio.rename(os.path.join(staged, name), os.path.join(output, name), overwrite=True)


def score_files(
    input_pattern: str,
    model_dir: str,
    columns: Sequence[RawColumn],
    output: str,
    beam_args: Sequence[str],
    keep: Sequence[str] = (),
    shards: int = 1,
    with_statistics: bool = True,
) -> BeamScoringResult:
    """Runs the Beam scoring job and publishes its predictions.

    Args:
      input_pattern: A file, glob or folder of CSV or TFRecord files.
      model_dir: The SavedModel folder.
      columns: The model's raw columns.
      output: The predictions file (shards=1) or folder.
      beam_args: The runner profile's Beam args.
      keep: Input columns copied into the predictions.
      shards: Output files (1, or 0 to let the runner choose).
      with_statistics: Also compute TFDV statistics of the rows.

    Returns:
      Rows, wall time, input digest and statistics.

    Raises:
      ServingInputError: No input file, or bad rows or files (nothing is written).
      CascadeError: `output` is one of the inputs.
    """
    import time

    from apache_beam.options.pipeline_options import PipelineOptions

    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    from serving.statistics import read_statistics

    started = time.monotonic()
    files = serving_input.input_files(input_pattern)
    if any(same_path(path, output) for path in files):
        raise CascadeError(f"--output {output} is an input file; choose another path")
    # A missing or unreadable file fails here, at once, not in a worker.
    headers = [serving_input.read_header(p) for p in files if serving_input.is_csv(p)]
    job_dir = f"{output.rstrip('/')}.job-{os.getpid()}"
    try:
        options = PipelineOptions([*beam_args, f"--temp_location={job_dir}/tmp"])
        with beam.Pipeline(options=options) as pipeline:
            build(pipeline, files, model_dir, columns, keep, job_dir, shards, with_statistics)
        with fileio.open(os.path.join(job_dir, REPORT_FILE), "r") as f:
            report = json.loads(f.read())
        check_report(report, files)
        statistics = read_statistics(os.path.join(job_dir, STATS_FILE)) if with_statistics else None
        publish(job_dir, output, shards)
    finally:
        if fileio.exists(job_dir):
            fileio.rmtree(job_dir)
    absent = tuple(c.name for c in columns if headers and not any(c.name in h for h in headers))
    return BeamScoringResult(
        rows=sum(rows for _, _, rows in report["files"]),
        seconds=time.monotonic() - started,
        input_sha256=combined_sha256([(path, sha) for path, sha, _ in report["files"]]),
        input_files=len(files),
        statistics=statistics,
        absent_columns=absent,
    )
