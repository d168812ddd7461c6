"""Batch scoring on Beam: raw serving data -> the model's `serving_default` -> a predictions CSV.

The same scoring as `serving.scoring`, built for data one process cannot score
in time: each input file is read and hashed by one worker and cut into chunks
of rows that every worker checks (exactly as the single-process scorer checks
them, so a bad cell is named by file, line and column; see
`serving.beam_input`), scored in batches with Beam's RunInference through the
exported signature (`serving.model_handler`; the tf.Transform graph inside the
model does all preprocessing), and written with Beam's text IO, so `gs://`
paths work on every runner. TFDV statistics of the same rows are computed in
the same job for the skew check, and so are the label column's values that
are not classes of the model (`serving.label_check`; the label is not read
for scoring).

Input: CSV files with a header (`.csv`, or `.csv.gz` read as gzip CSV; any
case), or TFRecord files of raw tf.Examples (any other name; `*.gz` is read
as gzip). Each file is hashed while it is read (no second pass).
Output: one CSV file (`shards=1`) or a folder of `part-SSSSS-of-NNNNN.csv`
shards, each with the header `[file,] line, <keep...>, <output columns...>`
(`serving.model.output_columns`: `score` for a two-class label, `score_<class>`
per class and `predicted` for more); `file` appears when the input is more
than one file, and for TFRecord input `line` is the record's number. Rows are
in no particular order: `line` (with `file`) says which input row a score
belongs to. The job writes into a staging folder of its own beside the
output (`core.output_paths`); if any row or file is bad, nothing is
published: the staging folder is removed and the first problems are named.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
from typing import Any, Iterator, Optional, Sequence

import apache_beam as beam

from core import interrupts, output_paths
from core.errors import CascadeError
from core.hashing import combined_sha256
from core.labels import LabelSpec
from core.write_errors import write_failure
from models.raw_features import RawColumn
from serving import label_check, serving_input
from serving.beam_input import DIGESTS, ERRORS, ROWS, UNSEEN, CheckedExamples, ReadChunks
from serving.label_check import UnseenClasses
from serving.model import output_columns
from serving.scoring import LINE_COLUMN, same_path
from validation.statistics import STATS_FILE, beam_statistics

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
      unseen_classes: The rows whose label column holds a value that is not
        a class of the model (None: no such row, or no label column).
    """

    rows: int
    seconds: float
    input_sha256: str
    input_files: int
    statistics: Any = None
    absent_columns: tuple[str, ...] = ()
    unseen_classes: Optional[UnseenClasses] = None


class PredictionLines(beam.DoFn):
    """(keys, PredictionResult) of a batch -> its CSV lines, as one text element.

    The result's inference holds each row's output cells (`ServingModel.score`).

    Args:
      files: The input files, by index (named in the `file` column when several).
    """

    def __init__(self, files: Sequence[str]) -> None:
        self._files = list(files) if len(files) > 1 else []

    def process(self, batch: tuple[Any, Any]) -> Iterator[str]:
        keys, result = batch
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for (index, number, kept), scores in zip(keys, result.inference):
            cells = [self._files[index]] if self._files else []
            writer.writerow([*cells, number, *kept, *scores])
        # WriteToText ends each element with a newline.
        yield out.getvalue()[:-1]


def _csv_line(cells: Sequence[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


def header(files: Sequence[str], keep: Sequence[str], label: LabelSpec) -> str:
    """The predictions header for these inputs and the model's label."""
    file_column = [FILE_COLUMN] if len(files) > 1 else []
    return _csv_line([*file_column, LINE_COLUMN, *keep, *output_columns(label)])


def _report(digests: list, problems: list, bad_count: int, unseen: Optional[UnseenClasses]) -> str:
    return json.dumps(
        {
            "files": sorted([path, sha, rows] for path, sha, rows in digests),
            "bad_rows": bad_count,
            "first_problems": [f"{path}, {message}" for path, _, message in sorted(problems)],
            "unseen_classes": dataclasses.asdict(unseen) if unseen is not None else None,
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
    label: LabelSpec,
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
      label: The model's label (`serving.model.read_label`): the output
        columns, and the classes the label column's values are checked against.
      keep: Input columns copied into the predictions.
      job_dir: Staging folder: predictions, statistics and the report.
      shards: Output files (1: one CSV; 0: as many as the runner chooses).
      with_statistics: Also compute TFDV statistics of the rows.
    """
    import tensorflow_data_validation as tfdv
    from apache_beam.ml.inference.base import KeyedModelHandler, RunInference

    from serving.model_handler import ServingModelHandler

    files_read = (
        pipeline
        | "InputFiles" >> beam.Create(list(enumerate(files)))
        | "SpreadFiles" >> beam.Reshuffle()
        | "ReadChunks"
        >> beam.ParDo(ReadChunks(columns, keep)).with_outputs(ERRORS, DIGESTS, main=ROWS)
    )
    read = (
        files_read[ROWS]
        # Chunks of one file go to every worker.
        | "SpreadChunks" >> beam.Reshuffle()
        # The declared type keeps Beam from inferring a proto coder for the
        # (keys, examples) pairs from RunInference's input hint.
        | "CheckRows"
        >> beam.ParDo(CheckedExamples(columns, keep, label))
        .with_output_types(beam.typehints.Tuple[beam.typehints.Any, beam.typehints.List[bytes]])
        .with_outputs(ERRORS, UNSEEN, main=ROWS)
    )
    errors = (files_read[ERRORS], read[ERRORS]) | "AllProblems" >> beam.Flatten()
    target = predictions_target(job_dir, shards)
    columns_line = header(files, keep, label)
    write = (
        beam.io.WriteToText(target, shard_name_template="", num_shards=1, header=columns_line)
        if shards == 1
        else beam.io.WriteToText(
            os.path.join(target, SHARD_PREFIX),
            file_name_suffix=".csv",
            num_shards=shards,
            header=columns_line,
        )
    )
    (
        read[ROWS]
        # Keyed batches: each batch's keys (the rows' places and kept cells)
        # come back with its scores, in order.
        | "Score" >> RunInference(KeyedModelHandler(ServingModelHandler(model_dir)))
        | "FormatLines" >> beam.ParDo(PredictionLines(files))
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
    digests = files_read[DIGESTS] | "AllDigests" >> beam.combiners.ToList()
    bad_count = errors | "CountProblems" >> beam.combiners.Count.Globally()
    # (path, number, message) tuples sort by file, then line as a number.
    first = errors | "FirstProblems" >> beam.combiners.Top.Smallest(serving_input.MAX_ERRORS_SHOWN)
    unseen = read[UNSEEN] | "CountUnseenClasses" >> beam.CombineGlobally(label_check.merge_unseen)
    (
        digests
        | "Report"
        >> beam.Map(
            _report,
            problems=beam.pvalue.AsSingleton(first),
            bad_count=beam.pvalue.AsSingleton(bad_count),
            unseen=beam.pvalue.AsSingleton(unseen),
        )
        | "WriteReport"
        >> beam.io.WriteToText(
            os.path.join(job_dir, REPORT_FILE), shard_name_template="", num_shards=1
        )
    )


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
        # Digests count every row of a file read to its end, good or bad.
        total = sum(rows for _, _, rows in report["files"])
        bad.append(f"{bad_rows:,} of {total:,} rows" if not bad_files else f"{bad_rows:,} rows")
    if bad_files:
        bad.append(f"{bad_files} of {len(files)} files")
    raise serving_input.ServingInputError(
        f"{' and '.join(bad)} cannot be scored, so no predictions were written; first: "
        + "; ".join(report["first_problems"])
    )


def publish(job_dir: str, output: str, shards: int) -> None:
    """Moves the finished predictions from the staging folder to `output`.

    A single file is renamed over `output`. Shards replace the `part-*` files
    of the `output` folder (other files there are left alone). The caller has
    refused an existing `output` the user did not ask to replace
    (`core.output_paths`).
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
    label: LabelSpec,
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
      label: The model's label (`serving.model.read_label`).
      output: The predictions file (shards=1) or folder.
      beam_args: The runner profile's Beam args.
      keep: Input columns copied into the predictions.
      shards: Output files (1, or 0 to let the runner choose).
      with_statistics: Also compute TFDV statistics of the rows.

    Returns:
      Rows, wall time, input digest and statistics, and the label values that
      are not classes of the model.

    Raises:
      ServingInputError: No input file, or bad rows or files (nothing is written).
      CascadeError: `output` is one of the inputs.
    """
    import time

    from apache_beam.options.pipeline_options import PipelineOptions

    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    from validation.statistics import read_statistics

    started = time.monotonic()
    files = serving_input.input_files(input_pattern)
    if any(same_path(path, output) for path in files):
        raise CascadeError(f"--output {output} is an input file; choose another path")
    # A missing or unreadable file fails here, at once, not in a worker.
    headers = [serving_input.read_header(p) for p in files if serving_input.is_csv(p)]
    with output_paths.staging_folder(output) as job_dir:
        options = PipelineOptions([*beam_args, f"--temp_location={job_dir}/tmp"])
        try:
            with beam.Pipeline(options=options) as pipeline:
                build(
                    pipeline,
                    files,
                    model_dir,
                    columns,
                    label,
                    keep,
                    job_dir,
                    shards,
                    with_statistics,
                )
        except Exception as e:  # noqa: BLE001 - re-raised unless it is a failed write
            reason = write_failure(e)
            if reason is None:
                raise
            raise CascadeError(
                f"cannot write the predictions {output}: {reason} (the job's staging files "
                "beside it were removed; nothing was published)"
            ) from None
        with fileio.open(os.path.join(job_dir, REPORT_FILE), "r") as f:
            report = json.loads(f.read())
        check_report(report, files)
        statistics = read_statistics(os.path.join(job_dir, STATS_FILE)) if with_statistics else None
        # Publishing and recording run to their end (see core.interrupts).
        interrupts.finish_without_interrupts()
        publish(job_dir, output, shards)
    absent = tuple(c.name for c in columns if headers and not any(c.name in h for h in headers))
    unseen = report["unseen_classes"]
    return BeamScoringResult(
        rows=sum(rows for _, _, rows in report["files"]),
        seconds=time.monotonic() - started,
        input_sha256=combined_sha256([(path, sha) for path, sha, _ in report["files"]]),
        input_files=len(files),
        statistics=statistics,
        absent_columns=absent,
        unseen_classes=(
            UnseenClasses(unseen["column"], unseen["rows"], tuple(unseen["values"]))
            if unseen is not None
            else None
        ),
    )
