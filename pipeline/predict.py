"""Batch scoring: a raw serving CSV in, a predictions CSV out, recorded in MLMD.

    .venv/bin/python -m pipeline.predict --input new_users.csv --keep user_id

Rows go through the exported model's `serving_default` signature as raw
tf.Examples, so the one tf.Transform graph inside the model does all the
preprocessing; nothing is re-implemented here. Without `--model`, the model is
the latest one Pusher pushed for the config's pipeline, found in MLMD.

Every scoring is recorded in the pipeline's metadata store: a `BatchPredict`
execution whose inputs are the model and the serving data and whose output is
the predictions, so `cascade-lineage downstream <bad source>` reaches the
predictions made with affected models.

Input: a CSV with a header, read as CsvExampleGen reads training data. Every
required model column must be present; a value of the wrong type, a non-finite
number, an empty required cell or a row with the wrong number of cells stops
the run with the file, line and column, and no predictions file is written. A
header with no rows is scored as 0 rows (a predictions file with only its
header); a completely empty file is an error.
Output: CSV with `line` (the line the row starts on), the `--keep` columns, and
`score` = P(label = 1), written to a new file per scoring unless `--output`
names one.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import hashlib
import os
import sys
import time
from typing import Iterator, Optional, Sequence

from pipeline import cli
from pipeline.environment import prepare_tensorflow
from pipeline.errors import CascadeError

DEFAULT_CONFIG = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs", "demo.yaml"
)
BATCH_SIZE = 1024
SCORE_COLUMN = "score"
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
    """

    rows: int
    seconds: float
    input_sha256: str
    absent_columns: tuple[str, ...] = ()


def resolve_model_dir(path: str) -> str:
    """The SavedModel folder `path` names.

    That is `path` itself, its newest numbered version, or the `Format-Serving`
    folder of a Trainer's Model artifact. Pusher pushes each model to `<base>/<version>`; naming the base folder means
    its newest version, as TF Serving reads it.

    Raises:
      CascadeError: `path` does not exist.
    """
    from tfx.dsl.io import fileio

    if not fileio.exists(path):
        raise CascadeError(f"model folder {path} does not exist")
    if fileio.exists(os.path.join(path, "saved_model.pb")):
        return path
    trainer_export = os.path.join(path, "Format-Serving")
    if fileio.exists(os.path.join(trainer_export, "saved_model.pb")):
        return trainer_export
    versions = [
        name.rstrip("/")
        for name in fileio.listdir(path)
        if name.rstrip("/").isdigit() and fileio.isdir(os.path.join(path, name))
    ]
    return os.path.join(path, max(versions, key=int)) if versions else path


class ServingModel:
    """A loaded SavedModel's `serving_default` with the raw columns it reads.

    Args:
      model_dir: The exported model folder (Trainer's or Pusher's copy).

    Raises:
      CascadeError: The folder is not a Cascade serving model.
    """

    def __init__(self, model_dir: str) -> None:
        import tensorflow as tf
        from tfx.dsl.io import fileio

        from models.model import OUTPUT_KEY, SERVING_SIGNATURE
        from transforms import serving_input

        features_file = os.path.join(model_dir, serving_input.RAW_FEATURES_FILE)
        if not fileio.exists(features_file):
            raise CascadeError(
                f"{model_dir} is not a Cascade serving model (no {serving_input.RAW_FEATURES_FILE})"
            )
        with fileio.open(features_file, "r") as f:
            self.columns = serving_input.columns_from_json(f.read())
        self._model = tf.saved_model.load(model_dir)
        self._serve = self._model.signatures[SERVING_SIGNATURE]
        self._output_key = OUTPUT_KEY
        self._tf = tf

    def score(self, examples: Sequence[bytes]) -> list[float]:
        """P(label = 1) for each serialized raw tf.Example."""
        if not examples:
            return []
        outputs = self._serve(examples=self._tf.constant(list(examples)))
        return [float(p) for p in outputs[self._output_key].numpy().reshape(-1)]


def _batches(rows: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def file_sha256(path: str) -> str:
    """The sha256 of a file's bytes (read through fileio, so `gs://` works)."""
    from tfx.dsl.io import fileio

    digest = hashlib.sha256()
    with fileio.open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def score_csv(
    model: ServingModel,
    input_path: str,
    output_path: str,
    keep: Sequence[str] = (),
    batch_size: int = BATCH_SIZE,
) -> ScoringResult:
    """Scores every row of `input_path` and writes the predictions CSV.

    Args:
      model: The loaded serving model.
      input_path: Raw serving CSV with a header.
      output_path: Where to write `line, <keep...>, score`.
      keep: Input columns copied into the output (e.g. an id).
      batch_size: Rows per model call.

    Returns:
      Rows scored, wall time and the input's digest.

    Raises:
      ServingInputError: The input cannot be scored (names file, line, column).
    """
    from tfx.dsl.io import fileio

    from transforms import serving_input

    if _same_file(input_path, output_path):
        raise CascadeError(f"--output {output_path} is the input file; choose another path")
    started = time.monotonic()
    header = serving_input.read_header(input_path)  # fails early on a missing file
    rows = serving_input.read_csv_examples(input_path, model.columns, keep)
    fileio.makedirs(os.path.dirname(output_path) or ".")
    # Written beside the target and renamed when complete, so a failure never
    # leaves a partial file where earlier predictions were.
    partial = f"{output_path}.partial-{os.getpid()}"
    scored = 0
    try:
        with fileio.open(partial, "w") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow([LINE_COLUMN, *keep, SCORE_COLUMN])
            for batch in _batches(rows, batch_size):
                scores = model.score([example for _, _, example in batch])
                for (line, kept, _), score in zip(batch, scores):
                    writer.writerow([line, *(kept[k] for k in keep), f"{score:.6f}"])
                scored += len(batch)
        fileio.rename(partial, output_path, overwrite=True)
    finally:
        if fileio.exists(partial):
            fileio.remove(partial)
    absent = tuple(c.name for c in model.columns if c.name not in header)
    return ScoringResult(
        scored, time.monotonic() - started, file_sha256(input_path), absent_columns=absent
    )


def _same_file(a: str, b: str) -> bool:
    if "://" in a or "://" in b:
        return a.rstrip("/") == b.rstrip("/")
    return os.path.abspath(a) == os.path.abspath(b)


def default_output(output_root: str, input_path: str) -> str:
    """`<output_root>/predictions/<input name>-<UTC time>.csv`: a new file per scoring.

    A new name each time keeps every predictions artifact in MLMD pointing at
    the file that scoring wrote.
    """
    stem = os.path.splitext(os.path.basename(input_path.rstrip("/")))[0]
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return os.path.join(output_root, "predictions", f"{stem}-{stamp}.csv")


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parses the command line; argparse exits 2 with usage on bad flags."""
    from pipeline import metadata

    parser = argparse.ArgumentParser(
        prog="python -m pipeline.predict",
        description="Score a raw CSV with the pushed model, recorded in ML Metadata.",
    )
    parser.add_argument("--input", required=True, help="raw serving CSV (with a header)")
    parser.add_argument(
        "--output",
        help="predictions CSV (default: <output.root>/predictions/<input name>-<UTC time>.csv)",
    )
    parser.add_argument(
        "--model", help="serving model folder (default: the latest pushed model in MLMD)"
    )
    parser.add_argument(
        "--keep", action="append", default=[], help="input column to copy into the output"
    )
    parser.add_argument("--config", default=DEFAULT_CONFIG, help="pipeline config")
    parser.add_argument("--output-root", help="override the config's output.root")
    parser.add_argument("--metadata", help="SQLite metadata file (default: the config's)")
    parser.add_argument(
        "--no-record", action="store_true", help="score without recording in ML Metadata"
    )
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="rows per model call")
    metadata.add_mysql_flags(parser)
    args = parser.parse_args(argv)
    if args.batch_size <= 0:
        parser.error(f"--batch-size must be positive, got {args.batch_size}")
    return args


def run(args: argparse.Namespace) -> str:
    """Scores and records; returns the report to print.

    Raises:
      CascadeError: Config, store, model or input problems, in one sentence.
    """
    from pipeline import config as config_lib
    from pipeline import metadata, scoring_metadata

    needs_config = not (args.model and args.output and args.no_record)
    config = (
        config_lib.load_config(args.config, output_root=args.output_root) if needs_config else None
    )
    store = None
    if not args.no_record or not args.model:
        store = metadata.store_from_args(
            args, args.metadata or config.output.metadata_path, read_only=args.no_record
        )
    model_dir = resolve_model_dir(
        args.model or scoring_metadata.latest_pushed_model(store, config.name)
    )
    output = args.output or default_output(config.output.root, args.input)
    model = ServingModel(model_dir)
    result = score_csv(model, args.input, output, args.keep, args.batch_size)
    lines = [
        f"scored {result.rows:,} rows of {args.input} in {result.seconds:.1f}s "
        f"with the model in {model_dir}",
        f"  predictions: {output}",
    ]
    if result.rows == 0:
        lines.append(
            "  (the input has a header but no rows: the predictions file has only its header)"
        )
    if result.absent_columns:
        lines.append(
            f"  note: the input has no column {', '.join(repr(c) for c in result.absent_columns)}; "
            "every row was scored with the training default for it"
        )
    if store is not None and not args.no_record:
        recorded = scoring_metadata.record_scoring(
            store, config.name, model_dir, args.input, output, result
        )
        lines.append(
            f"  recorded in ML Metadata: execution {recorded.execution_id}, "
            f"predictions artifact {recorded.predictions_id}"
        )
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point: one line on stderr and exit code 2 for problems the user can fix."""
    args = parse_args(argv)
    prepare_tensorflow()
    return cli.report(run, args)


if __name__ == "__main__":
    sys.exit(main())
