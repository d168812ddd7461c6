"""`cascade predict`: scores raw data with the pushed model, checks skew, records in MLMD.

    cascade predict --input new_users.csv --keep user_id
    cascade predict --input 'new_users/*.csv' --profile local-parallel

Without `--profile`, one process scores one CSV file; with `--profile
local|local-parallel|dataflow`, a Beam job scores CSV or TFRecord files with
RunInference; the scores are the same. The report prints the skew check's
table, worst feature first; `--fail-on-skew` turns a feature over its
threshold into exit code 1 (the predictions are still written and recorded,
so the scoring can be audited). See `services.scoring`.
"""

from __future__ import annotations

import argparse
import functools
import sys
from typing import Any

from cli import flags
from cli.skew_table import fail_if_skewed, skew_table


def add_commands(commands: Any, shared: argparse.ArgumentParser) -> None:
    """Adds `predict` to the `cascade` command tree."""
    parser = commands.add_parser(
        "predict",
        parents=[shared],
        help="score raw data with the pushed model (skew checked, recorded)",
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
    flags.add_force_flag(
        parser,
        "replace an --output that exists (the file and its skew check's folder, or a "
        "folder's part-* shards)",
    )
    parser.add_argument(
        "--model", help="serving model folder (default: the latest pushed model in MLMD)"
    )
    parser.add_argument(
        "--keep", action="append", default=[], help="input column to copy into the output"
    )
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
        "--batch-size",
        type=_positive,
        help="rows per model call in one process (default 1024)",
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
    parser.set_defaults(handler=run, check_flags=functools.partial(_check_flags, parser))


def _positive(text: str) -> int:
    """argparse type: a positive integer."""
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _check_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuses a combination of flags that cannot work: usage and exit 2, as argparse does."""
    if args.shards < 0:
        parser.error(f"--shards must be 0 or more, got {args.shards}")
    if args.shards != 1 and args.profile is None:
        parser.error(
            "--shards applies to Beam scoring: add --profile local|local-parallel|dataflow"
        )
    if args.fail_on_skew and args.no_skew_check:
        parser.error("--fail-on-skew needs the skew check: drop --no-skew-check")


def run(args: argparse.Namespace) -> str:
    """Scores, checks skew and records; returns the report to print.

    Raises:
      CascadeError: Config, store, model or input problems, in one sentence.
      CheckFailedError: `--fail-on-skew` and a feature over its threshold.
    """
    from services import scoring

    store_given = args.metadata or args.mysql_host
    # The config names the pipeline (recording), the default model and output,
    # the store's default location and the skew thresholds.
    needs_config = not (
        args.model and args.output and args.no_record and (args.no_skew_check or store_given)
    )
    config = flags.load_config(args) if needs_config else None
    needs_store = not args.no_record or not args.model or not args.no_skew_check
    outcome = scoring.score(
        scoring.ScoreRequest(
            input=args.input,
            config=config,
            store=flags.store_options(args, config) if needs_store else None,
            output=args.output,
            model=args.model,
            keep=tuple(args.keep),
            record=not args.no_record,
            check_skew=not args.no_skew_check,
            batch_size=args.batch_size,
            shards=args.shards,
            profile=args.profile,
            dataflow=flags.dataflow_from_args(args),
            force=args.force,
        )
    )
    if outcome.lineage_warning:
        print(f"warning: {outcome.lineage_warning}", file=sys.stderr, flush=True)
    text = "\n".join(_report_lines(args, outcome))
    if args.fail_on_skew:
        kept = "the predictions were written" + (" and recorded" if not args.no_record else "")
        fail_if_skewed(outcome.skew, text, kept)
    return text


def _report_lines(args: argparse.Namespace, outcome: Any) -> list[str]:
    """The scoring's report: what was scored where, the skew table, what was recorded."""
    result = outcome.scoring
    where = "in one process" if args.profile is None else f"on Beam ({args.profile} profile)"
    lines = [
        f"scored {result.rows:,} rows of {args.input} in {result.seconds:.1f}s {where} "
        f"with the model in {outcome.model_dir}",
        f"  predictions: {outcome.output}",
        f"  (logs: {outcome.log_path})",
    ]
    if result.rows == 0:
        lines.append("  (the input has a header but no rows: the predictions have only a header)")
    if result.absent_columns:
        lines.append(
            f"  note: the input has no column {', '.join(repr(c) for c in result.absent_columns)}; "
            "every row was scored with the training default for it"
        )
    if result.unseen_classes is not None:
        lines.append(f"  note: {result.unseen_classes.note()}")
    if outcome.skew is not None:
        lines.append(skew_table(outcome.skew.report, outcome.skew.reference_name))
        lines.append(f"  serving statistics and anomalies: {outcome.checks_dir}")
    elif not args.no_skew_check:
        lines.append("  skew check: no rows, so nothing to compare")
    recorded = outcome.recorded
    if recorded is not None:
        lines.append(
            f"  recorded in ML Metadata: execution {recorded.execution_id}, "
            f"predictions artifact {recorded.predictions_id}"
            + (
                f", serving statistics {recorded.statistics_id}, anomalies {recorded.anomalies_id}"
                if outcome.skew
                else ""
            )
        )
    return lines
