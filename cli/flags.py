"""Flags several commands share, and turning them into the requests' parts.

The config and store flags (`--config`, `--output-root`, `--metadata`, the
`--mysql-*` group) and the runner flags (`--profile` and the Dataflow group)
are spelled, defaulted and checked here once.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Optional

from core.errors import CascadeError
from core.output_paths import FORCE_FLAG
from metadata.connection import PASSWORD_ENV, MySqlOptions
from metadata.mysql_probe import DEFAULT_TIMEOUT_SECONDS
from pipeline.runners import (
    DEFAULT_MACHINE_TYPE,
    DEFAULT_MAX_WORKERS,
    PROFILES,
    DataflowOptions,
)
from services.store import StoreOptions

if TYPE_CHECKING:
    from pipeline.config import PipelineConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The config every command reads unless --config names another: the demo's.
DEFAULT_CONFIG = os.path.join(ROOT, "configs", "demo.yaml")


def config_and_store_flags() -> argparse.ArgumentParser:
    """The flag group every command shares: which config, outputs and metadata store.

    `--config`, `--output-root`, `--metadata` and the `--mysql-*` group, as a
    parent parser for `add_parser(..., parents=[...])`.
    """
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("config and store")
    group.add_argument(
        "--config",
        default=DEFAULT_CONFIG,
        metavar="FILE",
        help="pipeline YAML config (default: the demo's)",
    )
    group.add_argument("--output-root", metavar="DIR", help="override the config's output.root")
    group.add_argument(
        "--metadata",
        metavar="FILE",
        help="SQLite metadata file (default: <output.root>/metadata.sqlite)",
    )
    mysql = parent.add_argument_group(
        "shared MySQL metadata store",
        f"password from ${PASSWORD_ENV} or --mysql-password-file, never a flag",
    )
    mysql.add_argument(
        "--mysql-host", metavar="HOST", help="use a MySQL/MariaDB store on this host"
    )
    mysql.add_argument("--mysql-port", type=int, default=3306, metavar="PORT")
    mysql.add_argument("--mysql-database", default="cascade_metadata", metavar="NAME")
    mysql.add_argument("--mysql-user", default="cascade", metavar="USER")
    mysql.add_argument("--mysql-password-file", metavar="FILE", help="file holding the password")
    mysql.add_argument(
        "--mysql-timeout",
        type=seconds,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="give up if the server does not accept the connection, or does not answer it, "
        f"within this time (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    return parent


def seconds(text: str) -> float:
    """A flag's time in seconds: a finite number above 0.

    Raises:
      argparse.ArgumentTypeError: `text` is not such a number.
    """
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected seconds (a number above 0), got {text!r}")
    return value


def load_config(args: argparse.Namespace) -> PipelineConfig:
    """The config `--config` names, with `--output-root` applied.

    Raises:
      ConfigError: The file is missing, unreadable or invalid (naming the field).
    """
    from pipeline import config as config_lib

    return config_lib.load_config(args.config, output_root=args.output_root)


def mysql_from_args(args: argparse.Namespace) -> Optional[MySqlOptions]:
    """The MySQL options given on the command line, or None for SQLite."""
    if not args.mysql_host:
        return None
    return MySqlOptions(
        host=args.mysql_host,
        port=args.mysql_port,
        database=args.mysql_database,
        user=args.mysql_user,
        password_file=args.mysql_password_file,
        timeout=args.mysql_timeout,
    )


def store_options(
    args: argparse.Namespace, config: Optional[PipelineConfig] = None
) -> StoreOptions:
    """The store the flags name: MySQL, `--metadata`, or the config's SQLite file.

    Args:
      args: Parsed arguments with the `config_and_store_flags` group.
      config: The loaded config, if the command has one; loaded here only
        when the store is the config's own file.

    Raises:
      ConfigError: The config is needed for the store's path and is invalid.
    """
    mysql = mysql_from_args(args)
    path = args.metadata
    if path is None and mysql is None:
        path = (config or load_config(args)).output.metadata_path
    return StoreOptions(sqlite_path=path or "", mysql=mysql)


def add_runner_flags(
    parser: argparse.ArgumentParser,
    default: Optional[str] = "local",
    help_text: str = "Beam runner profile",
) -> None:
    """Adds `--profile` (alias `--runner`) and the Dataflow flags to a command."""
    parser.add_argument(
        "--profile", "--runner", dest="profile", default=default, choices=PROFILES,
        help=help_text,
    )  # fmt: skip
    group = parser.add_argument_group("Dataflow (with --runner dataflow)")
    group.add_argument("--project", help="Google Cloud project")
    group.add_argument("--region", help="Dataflow region, e.g. us-central1")
    group.add_argument("--bucket", help="gs:// location for artifacts, temp and staging files")
    group.add_argument("--machine-type", help=f"worker type (default {DEFAULT_MACHINE_TYPE})")
    group.add_argument(
        "--max-workers", type=int, help=f"workers per job at most (default {DEFAULT_MAX_WORKERS})"
    )
    group.add_argument("--sdk-container-image", help="custom worker image (optional)")


def dataflow_from_args(args: argparse.Namespace) -> Optional[DataflowOptions]:
    """The validated Dataflow options of a `--runner dataflow` command line, else None.

    Raises:
      CascadeError: A Dataflow flag is missing or invalid, or one is given
        without `--runner dataflow` (naming it).
    """
    dataflow_flags = (
        "project",
        "region",
        "bucket",
        "machine_type",
        "max_workers",
        "sdk_container_image",
    )
    given = [f for f in dataflow_flags if getattr(args, f, None) is not None]
    if args.profile != "dataflow":
        if given:
            raise CascadeError(
                f"--{given[0].replace('_', '-')} only applies with --runner dataflow"
            )
        return None
    missing = [f"--{f}" for f in ("project", "region", "bucket") if not getattr(args, f, None)]
    if missing:
        raise CascadeError(f"--runner dataflow needs {', '.join(missing)}")
    options = DataflowOptions(
        project=args.project,
        region=args.region,
        bucket=args.bucket,
        machine_type=args.machine_type or DEFAULT_MACHINE_TYPE,
        max_workers=DEFAULT_MAX_WORKERS if args.max_workers is None else args.max_workers,
        sdk_container_image=args.sdk_container_image,
    )
    options.validate()
    return options


def add_force_flag(parser: argparse.ArgumentParser, what: str) -> None:
    """Adds `--force`: the one flag that lets a command replace an existing output.

    Without it every command refuses an output file that exists and an output
    folder that holds anything (`core.output_paths`).

    Args:
      parser: The command's parser.
      what: What it replaces, for the help ("overwrite --output if it exists").
    """
    parser.add_argument(FORCE_FLAG, action="store_true", help=what)
