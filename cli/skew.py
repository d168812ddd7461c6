"""`cascade skew`: is this data distributed like the data the model was trained on?

    cascade skew --input data/demo/serving/new_users.csv

The same check `cascade predict` makes on every scoring, without scoring: the
CSV's TFDV statistics against the statistics of the training split of the
model (by default the latest pushed one), per feature, with the config's
`serving.skew` thresholds; the table lists the worst feature first. The
statistics and anomalies are written (default `<output.root>/skew_checks/<input
name>-<UTC time>/`) and recorded in MLMD as a `cascade.SkewCheck` execution.
Exit code 1 if a feature is over its threshold with `--fail-on-skew`. See
`services.skew_check`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli import flags
from cli.skew_table import fail_if_skewed, skew_table


def add_commands(commands: Any, shared: argparse.ArgumentParser) -> None:
    """Adds `skew` to the `cascade` command tree."""
    parser = commands.add_parser(
        "skew",
        parents=[shared],
        help="compare a CSV's distribution with the model's training data",
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
    flags.add_force_flag(
        parser,
        "write into an --output folder that holds files (its statistics and anomalies are "
        "replaced; others are kept)",
    )
    parser.add_argument(
        "--no-record", action="store_true", help="check without recording in ML Metadata"
    )
    parser.add_argument(
        "--fail-on-skew", action="store_true", help="exit 1 if a feature is over its threshold"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> str:
    """Computes, compares, writes and records; returns the report to print.

    Raises:
      CascadeError: Config, store, model or input problems, in one sentence.
      CheckFailedError: `--fail-on-skew` and a feature over its threshold.
    """
    from services import skew_check

    config = flags.load_config(args)
    result = skew_check.check_csv(
        skew_check.SkewCheckRequest(
            input=args.input,
            config=config,
            store=flags.store_options(args, config),
            model=args.model,
            output=args.output,
            record=not args.no_record,
            force=args.force,
        )
    )
    if result.lineage_warning:
        print(f"warning: {result.lineage_warning}", file=sys.stderr, flush=True)
    data = result.data
    lines = [f"read {data.rows:,} rows of {args.input} in {data.seconds:.1f}s"]
    if data.absent_columns:
        lines.append(
            f"  note: the input has no column {', '.join(repr(c) for c in data.absent_columns)}"
        )
    if result.outcome is None:
        lines.append("  skew check: no rows, so nothing to compare")
        return "\n".join(lines)
    lines += [
        skew_table(result.outcome.report, result.outcome.reference_name),
        f"  serving statistics and anomalies: {result.output}",
    ]
    if result.recorded is not None:
        lines.append(
            f"  recorded in ML Metadata: execution {result.recorded.execution_id}, "
            f"serving statistics {result.recorded.statistics_id}, "
            f"anomalies {result.recorded.anomalies_id}"
        )
    text = "\n".join(lines)
    if args.fail_on_skew:
        fail_if_skewed(result.outcome, text, "the statistics and anomalies were written")
    return text
