"""`cascade transform`: the saved tf.Transform graph applied to new raw data.

    cascade transform --input 'new_users/*.csv' --output out/new_users

Without `--transform-graph`, the graph is the one the latest pushed model was
trained with, found in MLMD. The job runs on the pipeline's runner profiles
and is recorded in MLMD (`--no-record`: not); see `services.batch_transform`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli import flags


def add_commands(commands: Any, shared: argparse.ArgumentParser) -> None:
    """Adds `transform` to the `cascade` command tree."""
    parser = commands.add_parser(
        "transform",
        parents=[shared],
        help="apply the pipeline's saved tf.Transform graph to new raw data",
        description="Apply the pipeline's saved tf.Transform graph to new raw data (Beam).",
    )
    parser.add_argument("--input", required=True, help="raw CSV or TFRecord file pattern")
    parser.add_argument(
        "--output", required=True, help="output folder (new or empty, unless --force)"
    )
    flags.add_force_flag(
        parser,
        "write into an --output folder that holds files (its earlier transformed_examples-* "
        "files are replaced; others are kept)",
    )
    parser.add_argument(
        "--transform-graph", help="Transform output folder (default: the latest in MLMD)"
    )
    parser.add_argument(
        "--no-record", action="store_true", help="transform without recording in ML Metadata"
    )
    flags.add_runner_flags(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> str:
    """Runs the batch transform the arguments describe; returns the report lines."""
    from services import batch_transform

    config = flags.load_config(args)
    result = batch_transform.transform(
        batch_transform.TransformRequest(
            input=args.input,
            output=args.output,
            config=config,
            store=flags.store_options(args, config),
            transform_graph=args.transform_graph,
            profile=args.profile,
            dataflow=flags.dataflow_from_args(args),
            record=not args.no_record,
            force=args.force,
        )
    )
    if result.lineage_warning:
        print(f"warning: {result.lineage_warning}", file=sys.stderr, flush=True)
    lines = [
        f"transformed {result.rows:,} rows of {args.input} with the graph in "
        f"{result.transform_dir}",
        f"  ({result.chosen})",
        f"  output: {result.output_pattern}",
    ]
    if result.recorded is not None:
        lines.append(
            f"  recorded in ML Metadata: execution {result.recorded.execution_id}, "
            f"transformed examples artifact {result.recorded.transformed_id}"
        )
    return "\n".join(lines)
