"""The `cascade` command: one entry point, one subcommand per task.

    cascade run                       # the pipeline on the bundled demo
    cascade run --config my.yaml      # your own CSV dataset, no code change
    cascade predict --input new.csv   # score with the pushed model, skew checked
    cascade skew --input new.csv      # is new data like the training data?
    cascade transform --input 'new/*.csv' --output out/new
    cascade lineage runs|show|upstream|downstream|graph|export
    cascade inventory                 # what went in, at what cost?
    cascade history --plot h.png      # did more data help?
    cascade schema export             # the newest run's schema, to review and curate
    cascade schedule airflow|vertex   # the pipeline for Airflow or Vertex AI Pipelines

Every subcommand takes the same config and store flags (`--config`,
`--output-root`, `--metadata`, `--mysql-*`). Exit codes: 0 done; 1 the run
or a check the user made strict failed (its report is printed); 2 a problem
the user can fix (one `error:` line naming it, or argparse's usage); 130 (or
128 + the signal) interrupted.

Building the parser imports no TensorFlow, TFX or Beam: each subcommand
imports what it needs when it runs, so `cascade lineage ...` answers at once.
Tab completion: `eval "$(register-python-argcomplete cascade)"` (argcomplete).
"""

from __future__ import annotations

import argparse
from typing import Optional, Sequence

import argcomplete

from cli import (
    batch_transform,
    common,
    flags,
    history,
    inventory,
    lineage,
    predict,
    run_pipeline,
    schedule,
    schema,
    skew,
)

# The subcommands in the order `cascade --help` lists them; each module's
# `add_commands` adds its parsers and sets `handler` (and `on_interrupt`).
_COMMAND_MODULES = (
    run_pipeline,
    predict,
    skew,
    batch_transform,
    lineage,
    inventory,
    history,
    schema,
    schedule,
)


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree (cheap: no heavy imports)."""
    parser = argparse.ArgumentParser(
        prog="cascade",
        description="Cascade: a replicable TFX data pipeline, its scoring and its lineage.",
        epilog="exit codes: 0 done, 1 run or strict check failed, 2 user error, "
        "130 interrupted. `cascade COMMAND --help` for each command's flags.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shared = flags.config_and_store_flags()
    for module in _COMMAND_MODULES:
        module.add_commands(commands, shared)
    return parser


def _parse(parser: argparse.ArgumentParser, argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parses a command line, then the subcommand's checks of flags that go together
    (argparse exits 2 with usage on bad flags)."""
    args = parser.parse_args(argv)
    if hasattr(args, "check_flags"):
        args.check_flags(args)
    return args


def execute(argv: Sequence[str]) -> str:
    """Runs a `cascade` command line in this process and returns its report.

    For programs and tests: nothing is printed but what the command prints
    while it runs, and errors propagate (a CascadeError names the problem).
    """
    args = _parse(build_parser(), argv)
    return args.handler(args)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parses the command line and runs the subcommand; returns the exit code."""
    parser = build_parser()
    argcomplete.autocomplete(parser)
    args = _parse(parser, argv)
    return common.report(args.handler, args)
