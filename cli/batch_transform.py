"""The batch transform command: the saved tf.Transform graph applied to new raw data.

    .venv/bin/python -m cli.batch_transform --input 'new_users/*.csv' --output out/new_users

Without `--transform-graph`, the graph is the one the latest pushed model was
trained with, found in MLMD. The job runs on the pipeline's runner profiles;
see `serving.batch_transform` for what it reads and writes.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from cli import common, flags


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parses the command line; argparse exits 2 with usage on bad flags."""
    parser = argparse.ArgumentParser(
        prog="python -m cli.batch_transform",
        description="Apply the pipeline's saved tf.Transform graph to new raw data.",
    )
    parser.add_argument("--input", required=True, help="raw CSV or TFRecord file pattern")
    parser.add_argument("--output", required=True, help="output folder")
    parser.add_argument(
        "--transform-graph", help="Transform output folder (default: the latest in MLMD)"
    )
    flags.add_config_flags(parser)
    flags.add_runner_flags(parser)
    flags.add_mysql_flags(parser)
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> str:
    """Runs the batch transform the arguments describe; returns the report line."""
    from metadata import scoring_records
    from pipeline import config as config_lib
    from pipeline import runners
    from serving import batch_transform
    from transforms import features

    config = config_lib.load_config(args.config, output_root=args.output_root)
    dataflow = flags.dataflow_from_args(args)
    if dataflow is not None:
        runners.check_on_gcs([("--input", args.input), ("--output", args.output)])
    transform_dir = args.transform_graph
    if not transform_dir:
        store = flags.store_from_args(
            args, args.metadata or config.output.metadata_path, read_only=True
        )
        transform_dir, chosen = scoring_records.served_transform_graph(store, config.name)
    else:
        chosen = "given with --transform-graph"
    if dataflow is not None:
        runners.check_on_gcs([("the transform graph", transform_dir)])
    names = batch_transform.serving_names(config, args.input)
    exclude = [] if config.label in names else [features.label_output_name(config.label)]
    beam_args = runners.beam_pipeline_args(
        args.profile, os.path.join(args.output, "beam_tmp"), dataflow, own_job=True
    )
    report = batch_transform.run_batch_transform(
        args.input, transform_dir, names, args.output, beam_args, exclude
    )
    return (
        f"transformed {report['rows']:,} rows of {args.input} with the graph in {transform_dir}\n"
        f"  ({chosen})\n"
        f"  output: {os.path.join(args.output, batch_transform.OUTPUT_FILE_PREFIX)}-*.gz"
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point: one line on stderr and exit code 2 for problems the user can fix."""
    return common.report(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
