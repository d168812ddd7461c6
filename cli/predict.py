"""The batch scoring command: a raw CSV -> the model's serving signature -> predictions.

    .venv/bin/python -m cli.predict --input new_users.csv --keep user_id

Without `--model`, the model is the latest one Pusher pushed for the config's
pipeline, found in MLMD. Every scoring is recorded in the pipeline's metadata
store (see `metadata.scoring_records`), so `cascade-lineage downstream <bad
source>` reaches the predictions made with affected models. The predictions
go to a new file per scoring unless `--output` names one.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from cli import common, flags


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parses the command line; argparse exits 2 with usage on bad flags."""
    from serving.scoring import BATCH_SIZE

    parser = argparse.ArgumentParser(
        prog="python -m cli.predict",
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
    flags.add_config_flags(parser)
    parser.add_argument(
        "--no-record", action="store_true", help="score without recording in ML Metadata"
    )
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="rows per model call")
    flags.add_mysql_flags(parser)
    args = parser.parse_args(argv)
    if args.batch_size <= 0:
        parser.error(f"--batch-size must be positive, got {args.batch_size}")
    return args


def run(args: argparse.Namespace) -> str:
    """Scores and records; returns the report to print.

    Raises:
      CascadeError: Config, store, model or input problems, in one sentence.
    """
    from metadata import scoring_records
    from pipeline import config as config_lib
    from serving import scoring
    from serving.model import ServingModel, resolve_model_dir

    needs_config = not (args.model and args.output and args.no_record)
    config = (
        config_lib.load_config(args.config, output_root=args.output_root) if needs_config else None
    )
    store = None
    if not args.no_record or not args.model:
        store = flags.store_from_args(
            args, args.metadata or config.output.metadata_path, read_only=args.no_record
        )
    model_dir = resolve_model_dir(
        args.model or scoring_records.latest_pushed_model(store, config.name)
    )
    output = args.output or scoring.default_output(config.output.root, args.input)
    model = ServingModel(model_dir)
    result = scoring.score_csv(model, args.input, output, args.keep, args.batch_size)
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
        recorded = scoring_records.record_scoring(
            store, config.name, model_dir, args.input, output, result
        )
        lines.append(
            f"  recorded in ML Metadata: execution {recorded.execution_id}, "
            f"predictions artifact {recorded.predictions_id}"
        )
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point: one line on stderr and exit code 2 for problems the user can fix."""
    return common.report(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
