"""Batch scoring: a raw serving CSV in, a predictions CSV out.

Rows go through the exported model's `serving_default` signature as raw
tf.Examples (see `serving.model`), so the one tf.Transform graph inside the
model does all the preprocessing; nothing is re-implemented here.

Input: a CSV with a header, read as CsvExampleGen reads training data. Every
required model column must be present; a value of the wrong type, a non-finite
number, an empty required cell or a row with the wrong number of cells stops
the run with the file, line and column, and no predictions file is written. A
header with no rows is scored as 0 rows (a predictions file with only its
header); a completely empty file is an error. A label column in the input is
not read for scoring; its values that are not classes of the model are counted
for a note (`serving.label_check`).
Output: CSV with `line` (the line the row starts on), the kept columns, and
the model's output columns (`serving.model.output_columns`): `score` =
P(positive) for a two-class label; `score_<class>` per class and `predicted`
(the most probable class) for more.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime
import hashlib
import os
import time
from typing import Iterator, Optional, Sequence

from tensorflow_metadata.proto.v0 import statistics_pb2

from core import interrupts, output_paths
from core.errors import CascadeError
from serving import label_check
from serving.label_check import UnseenClasses
from serving.model import ServingModel
from validation.statistics import StatisticsAccumulator

BATCH_SIZE = 1024
LINE_COLUMN = "line"


@dataclasses.dataclass(frozen=True)
class ScoringResult:
    """What one scoring did.

    Attributes:
      rows: Rows scored.
      seconds: Wall time of reading, scoring and writing.
      input_sha256: Digest of the input file's bytes.
      absent_columns: Optional model columns the input does not have: every
        row got the training default for them.
      statistics: TFDV statistics of the scored rows' model columns (None
        when they were not asked for).
      input_files: How many files the input was.
      unseen_classes: The rows whose label column holds a value that is not
        a class of the model (None: no such row, or no label column).
    """

    rows: int
    seconds: float
    input_sha256: str
    absent_columns: tuple[str, ...] = ()
    statistics: Optional[statistics_pb2.DatasetFeatureStatisticsList] = None
    input_files: int = 1
    unseen_classes: Optional[UnseenClasses] = None


def _batches(rows: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def score_csv(
    model: ServingModel,
    input_path: str,
    output_path: str,
    keep: Sequence[str] = (),
    batch_size: int = BATCH_SIZE,
    with_statistics: bool = True,
) -> ScoringResult:
    """Scores every row of `input_path` and writes the predictions CSV.

    The input is read once: the digest and the statistics are computed from
    the same pass that feeds the model.

    Args:
      model: The loaded serving model.
      input_path: Raw serving CSV with a header.
      output_path: Where to write `line, <keep...>, <model.output_columns...>`.
      keep: Input columns copied into the output (e.g. an id).
      batch_size: Rows per model call.
      with_statistics: Also compute TFDV statistics of the rows (for the
        skew check).

    Returns:
      Rows scored, wall time, the input's digest and statistics, and the
      label values that are not classes of the model.

    Raises:
      ServingInputError: The input cannot be scored (names file, line, column).
    """
    # The module tfx.v1.dsl.io.fileio re-exports; importing tfx.v1 adds ~8 s to a command.
    from tfx.dsl.io import fileio

    from serving import serving_input

    if same_path(input_path, output_path):
        raise CascadeError(f"--output {output_path} is the input file; choose another path")
    started = time.monotonic()
    header = serving_input.read_header(input_path)  # fails early on a missing file
    digest = hashlib.sha256()
    # The label's cells are read beside the kept ones, only to be counted.
    label_column = label_check.label_column(model.label)
    label_column = label_column if label_column in header else None
    read = keep if label_column in (None, *keep) else [*keep, label_column]
    rows = serving_input.read_csv_examples(input_path, model.columns, read, digest)
    accumulator = StatisticsAccumulator(model.columns) if with_statistics else None
    if fileio.isdir(output_path):
        raise CascadeError(f"--output {output_path} is a folder; name the predictions file")
    with _writing(output_path):
        fileio.makedirs(os.path.dirname(output_path) or ".")
    # Written beside the target, under a name no file has, and renamed when
    # complete, so a failure never leaves a partial file where earlier
    # predictions were, nor touches another file.
    partial = output_paths.new_staging_name(output_path)
    scored = 0
    unseen = None
    try:
        with _writing(output_path), fileio.open(partial, "w") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow([LINE_COLUMN, *keep, *model.output_columns])
            for batch in _batches(rows, batch_size):
                examples = [example for _, _, example in batch]
                scores = model.score(examples)
                if accumulator is not None:
                    accumulator.add(examples)
                if label_column is not None:
                    values = (kept[label_column] for _, kept, _ in batch)
                    part = label_check.unseen_classes(model.label, values)
                    unseen = label_check.merge_unseen([unseen, part])
                for (line, kept, _), cells in zip(batch, scores):
                    writer.writerow([line, *(kept[k] for k in keep), *cells])
                scored += len(batch)
        # Publishing and recording run to their end (see core.interrupts).
        interrupts.finish_without_interrupts()
        with _writing(output_path):
            fileio.rename(partial, output_path, overwrite=True)
    finally:
        if fileio.exists(partial):
            fileio.remove(partial)
    absent = tuple(c.name for c in model.columns if c.name not in header)
    return ScoringResult(
        scored,
        time.monotonic() - started,
        digest.hexdigest(),
        absent_columns=absent,
        statistics=accumulator.result() if accumulator is not None else None,
        unseen_classes=unseen,
    )


@contextlib.contextmanager
def _writing(output_path: str) -> Iterator[None]:
    """Turns a failed write (a full disk, a read-only folder) into one sentence."""
    import tensorflow as tf

    try:
        yield
    # Write errors only: a model call fails with InvalidArgumentError and the like.
    except (OSError, tf.errors.ResourceExhaustedError, tf.errors.PermissionDeniedError) as e:
        reason = getattr(e, "strerror", None) or getattr(e, "message", None) or str(e)
        # TF's messages name the file first ("<path>; No space left on device").
        reason = reason.splitlines()[0].rsplit("; ", 1)[-1]
        raise CascadeError(
            f"cannot write the predictions {output_path}: {reason} (nothing was written)"
        ) from None


def same_path(a: str, b: str) -> bool:
    """Whether two paths name the same file (URIs compare as text)."""
    if "://" in a or "://" in b:
        return a.rstrip("/") == b.rstrip("/")
    return os.path.abspath(a) == os.path.abspath(b)


def default_output(
    output_root: str, input_path: str, folder: str = "predictions", suffix: str = ".csv"
) -> str:
    """`<output_root>/<folder>/<input name>-<UTC time><suffix>`: a new name per scoring.

    A new name each time keeps every predictions artifact in MLMD pointing at
    the file that scoring wrote. Sharded predictions and standalone skew checks
    are folders (suffix "").
    """
    name = os.path.basename(input_path.rstrip("/")).replace("*", "_")
    if name.lower().endswith(".gz"):
        name = name[: -len(".gz")]
    stem = os.path.splitext(name)[0] or "input"
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return os.path.join(output_root, folder, f"{stem}-{stamp}{suffix}")


def checks_dir(output_path: str) -> str:
    """Where a scoring's skew-check artifacts go: beside its predictions
    (`x.csv` -> `x.checks/`, folder `x/` -> `x.checks/`)."""
    stem = output_path.rstrip("/")
    if stem.lower().endswith(".csv"):
        stem = stem[: -len(".csv")]
    return f"{stem}.checks"
