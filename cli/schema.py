"""`cascade schema export`: a run's schema written to a file for review.

    cascade schema export [--output schema.pbtxt] [--run RUN] [--force]

Writes the schema the newest run's SchemaGen step output (or run RUN's) in
TFDV text format, naming the run and artifact it came from, and the config
line that makes the pipeline import the reviewed file instead of inferring
one. Read-only on the store; no TensorFlow import for local files.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from cli import flags
from core.output_paths import check_output_file

DEFAULT_OUTPUT = "schema.pbtxt"


def add_commands(commands: Any, shared: argparse.ArgumentParser) -> None:
    """Adds `schema` and its actions to the `cascade` command tree."""
    schema = commands.add_parser(
        "schema",
        help="the schema of a run, for review and curation",
        description="The schema a run inferred, written out for review; a config's "
        "`schema: PATH` then makes the pipeline import the reviewed file.",
    )
    actions = schema.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser(
        "export",
        parents=[shared],
        help="write the newest run's schema to a file (TFDV text format)",
        description="Write the schema of the newest run (or --run RUN) to a file in TFDV "
        "text format, for review.",
    )
    export.add_argument(
        "--output",
        "-o",
        default=DEFAULT_OUTPUT,
        metavar="FILE",
        help=f"the file to write (default {DEFAULT_OUTPUT}; local or gs://)",
    )
    export.add_argument("--run", help="a run id (default: the newest run with a schema)")
    export.add_argument("--pipeline", help="pipeline name (default: the config's)")
    flags.add_force_flag(export, "overwrite --output if it exists")
    export.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace) -> str:
    """Writes the schema; returns where it came from and the config line to add.

    Raises:
      CascadeError: A bad --output, an existing one without --force, or the
        store, pipeline or run cannot be found or has no schema (naming it).
    """
    from services import schema_export

    check_output_file(args.output, "--output", args.force)
    config = flags.load_config(args)
    result = schema_export.export_schema(
        schema_export.ExportRequest(
            store=flags.store_options(args, config),
            pipeline=args.pipeline or config.name,
            output=args.output,
            run=args.run,
            force=args.force,
        )
    )
    source = result.source
    how = "imported by ImportSchemaGen" if source.imported else "inferred by SchemaGen"
    return "\n".join(
        [
            f"wrote {result.output}: {result.features} features, the schema {how} in run "
            f"{source.run} ({source.state})",
            f"  from Schema artifact #{source.artifact_id}: {source.file}",
            "",
            f"Next: review it, then add this line to {args.config}:",
            f"  schema: {config_path_to(result.output, args.config)}",
        ]
    )


def config_path_to(path: str, config_file: str) -> str:
    """`path` as the config names it: relative to the config's folder (URIs as they are)."""
    if "://" in path:
        return path
    return os.path.relpath(os.path.abspath(path), os.path.dirname(os.path.abspath(config_file)))
