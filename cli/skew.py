"""The skew command: is this data distributed like the data the model was trained on?

    .venv/bin/python -m cli.skew --input data/demo/serving/new_users.csv

The same check `cli.predict` makes on every scoring, without scoring: the
CSV's TFDV statistics against the statistics of the training split of the
model (by default the latest pushed one), per feature, with the config's
`serving.skew` thresholds; the table lists the worst feature first. The
statistics and anomalies are written (default `<output.root>/skew_checks/<input
name>-<UTC time>/`) and recorded in MLMD as a `cascade.SkewCheck` execution.
Exit code 1 if a feature is over its threshold with `--fail-on-skew`.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Optional, Sequence

from cli import common, flags
from core import interrupts


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parses the command line; argparse exits 2 with usage on bad flags."""
    parser = argparse.ArgumentParser(
        prog="python -m cli.skew",
        description="Compare a CSV's distribution with the model's training data, per feature.",
    )
    parser.add_argument("--input", required=True, help="raw CSV (with a header)")
    parser.add_argument(
        "--model", help="serving model folder (default: the latest pushed model in MLMD)"
    )
    parser.add_argument(
        "--output",
        help="folder for the statistics and anomalies "
        "(default: <output.root>/skew_checks/<input name>-<UTC time>)",
    )
    flags.add_config_flags(parser)
    parser.add_argument(
        "--no-record", action="store_true", help="check without recording in ML Metadata"
    )
    parser.add_argument(
        "--fail-on-skew", action="store_true", help="exit 1 if a feature is over its threshold"
    )
    flags.add_mysql_flags(parser)
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> str:
    """Computes, compares, writes and records; returns the report to print.

    Raises:
      CascadeError: Config, store, model or input problems, in one sentence.
      CheckFailedError: `--fail-on-skew` and a feature over its threshold.
    """
    from cli import skew_check
    from metadata import scoring_records
    from pipeline import config as config_lib
    from serving import scoring
    from serving.csv_statistics import csv_statistics
    from serving.model import read_columns, resolve_model_dir

    config = config_lib.load_config(args.config, output_root=args.output_root)
    store = flags.store_from_args(
        args, args.metadata or config.output.metadata_path, read_only=args.no_record
    )
    model_dir = resolve_model_dir(
        args.model or scoring_records.latest_pushed_model(store, config.name)
    )
    columns = read_columns(model_dir)
    reference = skew_check.find_reference(store, model_dir, columns, config)
    output = args.output or scoring.default_output(
        config.output.root, args.input, folder="skew_checks", suffix=""
    )
    data = csv_statistics(args.input, columns)
    lines = [f"read {data.rows:,} rows of {args.input} in {data.seconds:.1f}s"]
    if data.absent_columns:
        lines.append(
            f"  note: the input has no column {', '.join(repr(c) for c in data.absent_columns)}"
        )
    if not data.rows:
        lines.append("  skew check: no rows, so nothing to compare")
        return "\n".join(lines)
    # A SQLite store takes one writer at a time: its lock is taken while a
    # signal can still stop the wait; then writing and recording run to their
    # end (see core.interrupts).
    with contextlib.ExitStack() as held:
        if not args.no_record:
            held.enter_context(
                flags.writing_to_store(
                    args,
                    args.metadata or config.output.metadata_path,
                    f"skew, pipeline {config.name!r}",
                )
            )
        interrupts.finish_without_interrupts()
        outcome = skew_check.check(
            reference,
            data.statistics,
            columns,
            output,
            data.absent_columns,
        )
        lines += [outcome.table, f"  serving statistics and anomalies: {output}"]
        if not args.no_record:
            recorded = scoring_records.record_skew_check(
                store, config.name, model_dir, args.input, data, outcome.record
            )
            lines.append(
                f"  recorded in ML Metadata: execution {recorded.execution_id}, "
                f"serving statistics {recorded.statistics_id}, anomalies {recorded.anomalies_id}"
            )
    text = "\n".join(lines)
    if args.fail_on_skew:
        skew_check.fail_if_skewed(outcome, text, "the statistics and anomalies were written")
    return text


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point: exit 0; 1 for skew with --fail-on-skew; 2 for problems the user can fix."""
    return common.report(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
