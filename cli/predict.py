"""The batch scoring command: raw data -> the model's serving signature -> predictions.

    .venv/bin/python -m cli.predict --input new_users.csv --keep user_id
    .venv/bin/python -m cli.predict --input 'new_users/*.csv' --profile local-parallel

Without `--profile`, one process scores one CSV file (`serving.scoring`). With
`--profile local|local-parallel|dataflow`, a Beam job scores CSV or TFRecord
files with RunInference (`serving.beam_scoring`); the scores are the same.

Without `--model`, the model is the latest one Pusher pushed for the config's
pipeline, found in MLMD. Every scoring checks training/serving skew: the
serving data's statistics against the statistics of the split the model was
trained on (see `cli.skew_check`), printed as a table, worst feature first.
`--fail-on-skew` turns a feature over its threshold into exit code 1; the
predictions are still written and recorded, so the scoring can be audited.
Every scoring is recorded in the pipeline's metadata store (see
`metadata.scoring_records`), so `cascade-lineage downstream <bad source>`
reaches the predictions and checks made with affected models. The predictions
go to a new file per scoring unless `--output` names one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from typing import Any, Optional, Sequence

from cli import common, flags
from core.errors import CascadeError


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parses the command line; argparse exits 2 with usage on bad flags."""
    from serving.scoring import BATCH_SIZE

    parser = argparse.ArgumentParser(
        prog="python -m cli.predict",
        description="Score raw data with the pushed model, check skew, record in ML Metadata.",
    )
    parser.add_argument(
        "--input",
        required=True,
        help="raw serving CSV (with a header); with --profile also a glob or folder "
        "of CSV or TFRecord files",
    )
    parser.add_argument(
        "--output",
        help="predictions CSV, or folder with --shards other than 1 "
        "(default: <output.root>/predictions/<input name>-<UTC time>.csv)",
    )
    parser.add_argument(
        "--model", help="serving model folder (default: the latest pushed model in MLMD)"
    )
    parser.add_argument(
        "--keep", action="append", default=[], help="input column to copy into the output"
    )
    flags.add_config_flags(parser)
    parser.add_argument(
        "--no-record", action="store_true", help="score without recording in ML Metadata"
    )
    parser.add_argument(
        "--no-skew-check",
        action="store_true",
        help="skip the training/serving skew check (e.g. a model the store does not know)",
    )
    parser.add_argument(
        "--fail-on-skew",
        action="store_true",
        help="exit 1 if a feature is over its skew threshold (predictions are still written)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=BATCH_SIZE, help="rows per model call (one process)"
    )
    parser.add_argument(
        "--shards",
        type=int,
        default=1,
        help="with --profile: output files (1: one CSV; 0: as many as the runner chooses)",
    )
    flags.add_runner_flags(
        parser,
        default=None,
        help_text="score on Beam with this runner profile (default: one process)",
    )
    flags.add_mysql_flags(parser)
    args = parser.parse_args(argv)
    if args.batch_size <= 0:
        parser.error(f"--batch-size must be positive, got {args.batch_size}")
    if args.shards < 0:
        parser.error(f"--shards must be 0 or more, got {args.shards}")
    if args.shards != 1 and args.profile is None:
        parser.error(
            "--shards applies to Beam scoring: add --profile local|local-parallel|dataflow"
        )
    if args.fail_on_skew and args.no_skew_check:
        parser.error("--fail-on-skew needs the skew check: drop --no-skew-check")
    return args


def _score(
    args: argparse.Namespace, model_dir: str, columns: Sequence[Any], output: str, dataflow: Any
) -> Any:
    """Scores with the chosen path; returns its ScoringResult / BeamScoringResult."""
    from serving import scoring

    if args.profile is None:
        from serving.model import ServingModel

        return scoring.score_csv(
            ServingModel(model_dir),
            args.input,
            output,
            args.keep,
            args.batch_size,
            with_statistics=not args.no_skew_check,
        )
    from pipeline import runners
    from serving import beam_scoring

    return beam_scoring.score_files(
        args.input,
        model_dir,
        columns,
        output,
        runners.beam_pipeline_args(args.profile, "", dataflow, own_job=True),
        keep=args.keep,
        shards=args.shards,
        with_statistics=not args.no_skew_check,
    )


def _log_path(config: Any) -> str:
    """Where TensorFlow's and Beam's logs go while scoring, so only the report is printed."""
    if config is not None and "://" not in config.output.root:
        return os.path.join(config.output.root, "scoring.log")
    return os.path.join(tempfile.gettempdir(), "cascade-scoring.log")


def _score_check_and_record(
    args: argparse.Namespace,
    config: Any,
    store: Any,
    model_dir: str,
    columns: Sequence[Any],
    output: str,
    dataflow: Any,
    reference: Any,
) -> tuple[list[str], Any]:
    """Scores, checks skew against `reference` (if any) and records (unless --no-record).

    Returns:
      (the report's lines, the skew check's outcome or None).
    """
    from cli import skew_check
    from core.environment import send_logs_to_file, stderr_to_file
    from metadata import scoring_records
    from serving import scoring

    log_path = _log_path(config)
    send_logs_to_file(log_path, verbose=False)
    with stderr_to_file(log_path):
        result = _score(args, model_dir, columns, output, dataflow)
    where = "in one process" if args.profile is None else f"on Beam ({args.profile} profile)"
    lines = [
        f"scored {result.rows:,} rows of {args.input} in {result.seconds:.1f}s {where} "
        f"with the model in {model_dir}",
        f"  predictions: {output}",
        f"  (logs: {log_path})",
    ]
    if result.rows == 0:
        lines.append("  (the input has a header but no rows: the predictions have only a header)")
    if result.absent_columns:
        lines.append(
            f"  note: the input has no column {', '.join(repr(c) for c in result.absent_columns)}; "
            "every row was scored with the training default for it"
        )
    outcome = None
    if reference is not None and result.rows:
        outcome = skew_check.check(
            reference,
            result.statistics,
            columns,
            scoring.checks_dir(output),
            result.absent_columns,
        )
        lines.append(outcome.table)
        lines.append(f"  serving statistics and anomalies: {scoring.checks_dir(output)}")
    elif reference is not None:
        lines.append("  skew check: no rows, so nothing to compare")
    if store is not None and not args.no_record:
        recorded = scoring_records.record_scoring(
            store,
            config.name,
            model_dir,
            args.input,
            output,
            result,
            outcome.record if outcome else None,
        )
        lines.append(
            f"  recorded in ML Metadata: execution {recorded.execution_id}, "
            f"predictions artifact {recorded.predictions_id}"
            + (
                f", serving statistics {recorded.statistics_id}, anomalies {recorded.anomalies_id}"
                if outcome
                else ""
            )
        )
    return lines, outcome


def run(args: argparse.Namespace) -> str:
    """Scores, checks skew and records; returns the report to print.

    Raises:
      CascadeError: Config, store, model or input problems, in one sentence.
      CheckFailedError: `--fail-on-skew` and a feature over its threshold.
    """
    from cli import skew_check
    from metadata import scoring_records
    from pipeline import config as config_lib
    from pipeline import runners
    from serving import scoring
    from serving.model import read_columns, resolve_model_dir

    dataflow = flags.dataflow_from_args(args)
    if args.profile is None and (os.path.isdir(args.input) or "*" in args.input):
        raise CascadeError(
            f"--input {args.input} is a folder or a pattern: one process scores one CSV file; "
            "add --profile local (or local-parallel) to score many files on Beam"
        )
    needs_store = not args.no_record or not args.model or not args.no_skew_check
    # The config names the pipeline (recording), the default model and output,
    # the store's default location and the skew thresholds.
    store_given = args.metadata or args.mysql_host
    needs_config = not (
        args.model and args.output and args.no_record and (args.no_skew_check or store_given)
    )
    config = (
        config_lib.load_config(args.config, output_root=args.output_root) if needs_config else None
    )
    # A model named on the command line is checked before the store is opened:
    # its problem is the more specific one.
    model_dir = resolve_model_dir(args.model) if args.model else None
    columns = read_columns(model_dir) if model_dir else None  # fails at once on a non-model
    store = None
    if needs_store:
        store = flags.store_from_args(
            args, args.metadata or config.output.metadata_path, read_only=args.no_record
        )
    if model_dir is None:
        model_dir = resolve_model_dir(scoring_records.latest_pushed_model(store, config.name))
        columns = read_columns(model_dir)
    output = args.output or scoring.default_output(
        config.output.root, args.input, suffix=".csv" if args.shards == 1 else ""
    )
    if dataflow is not None:
        runners.check_on_gcs(
            [("--input", args.input), ("--output", output), ("--model", model_dir)]
        )
    # Found before scoring, so a model without training statistics fails at once.
    reference = (
        None if args.no_skew_check else skew_check.find_reference(store, model_dir, columns, config)
    )
    # A SQLite store takes one writer at a time: its lock is taken before
    # scoring, while a signal can still stop the wait, and held until the
    # scoring is recorded (so published predictions are always recorded).
    with contextlib.ExitStack() as held:
        if store is not None and not args.no_record:
            held.enter_context(
                flags.writing_to_store(
                    args,
                    args.metadata or config.output.metadata_path,
                    f"predict, pipeline {config.name!r}",
                )
            )
        lines, outcome = _score_check_and_record(
            args, config, store, model_dir, columns, output, dataflow, reference
        )
    text = "\n".join(lines)
    if args.fail_on_skew:
        kept = "the predictions were written" + (" and recorded" if not args.no_record else "")
        skew_check.fail_if_skewed(outcome, text, kept)
    return text


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point: exit 0; 1 for skew with --fail-on-skew; 2 for problems the user can fix."""
    return common.report(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
