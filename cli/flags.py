"""Flags several commands share, and turning them into the objects they name.

The config and store flags (`--config`, `--output-root`, `--metadata`, the
`--mysql-*` group) and the runner flags (`--profile` and the Dataflow group)
are spelled, defaulted and checked here once.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from typing import ContextManager, Optional

from ml_metadata.metadata_store import MetadataStore

from core.errors import CascadeError
from metadata import store_lock
from metadata.connection import PASSWORD_ENV, MySqlOptions, connection_config, open_store
from pipeline.runners import (
    DEFAULT_MACHINE_TYPE,
    DEFAULT_MAX_WORKERS,
    PROFILES,
    DataflowOptions,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The config every command reads unless --config names another: the demo's.
DEFAULT_CONFIG = os.path.join(ROOT, "configs", "demo.yaml")


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """Adds --config, --output-root and --metadata (which store and outputs to use)."""
    parser.add_argument("--config", default=DEFAULT_CONFIG, help="pipeline config")
    parser.add_argument("--output-root", help="override the config's output.root")
    parser.add_argument("--metadata", help="SQLite metadata file (default: the config's)")


def add_mysql_flags(parser: argparse.ArgumentParser) -> None:
    """Adds --mysql-host/--mysql-port/--mysql-database/--mysql-user/--mysql-password-file."""
    group = parser.add_argument_group(
        "shared MySQL metadata store",
        f"password from ${PASSWORD_ENV} or --mysql-password-file, never a flag",
    )
    group.add_argument("--mysql-host", help="use a MySQL/MariaDB store on this host")
    group.add_argument("--mysql-port", type=int, default=3306)
    group.add_argument("--mysql-database", default="cascade_metadata")
    group.add_argument("--mysql-user", default="cascade")
    group.add_argument("--mysql-password-file", help="file holding the password")


def mysql_from_args(args: argparse.Namespace) -> Optional[MySqlOptions]:
    """The MySQL options given on the command line, or None for SQLite."""
    if not getattr(args, "mysql_host", None):
        return None
    return MySqlOptions(
        host=args.mysql_host,
        port=args.mysql_port,
        database=args.mysql_database,
        user=args.mysql_user,
        password_file=args.mysql_password_file,
    )


def store_from_args(args: argparse.Namespace, sqlite_path: str, read_only: bool) -> MetadataStore:
    """Opens the store a command's `--mysql-*` flags name, or else the SQLite file.

    Args:
      args: Parsed arguments with the `add_mysql_flags` flags.
      sqlite_path: The SQLite file to use without `--mysql-host`.
      read_only: Open SQLite read-only; then the file must already exist.

    Raises:
      CascadeError: The store cannot be opened (in one sentence).
    """
    mysql = mysql_from_args(args)
    if mysql is not None:
        return open_store(connection_config(mysql=mysql), mysql.describe())
    if not read_only and not os.path.isfile(sqlite_path):
        raise CascadeError(f"metadata store {sqlite_path} does not exist (run the pipeline first)")
    return open_store(connection_config(sqlite_path=sqlite_path, read_only=read_only), sqlite_path)


def writing_to_store(
    args: argparse.Namespace,
    sqlite_path: str,
    purpose: str,
    advice: str = "run again when it has finished",
) -> ContextManager:
    """The write lock of the SQLite store (`metadata.store_lock`); nothing for MySQL.

    Args:
      args: Parsed arguments with the `add_mysql_flags` flags.
      sqlite_path: The SQLite file used without `--mysql-host`.
      purpose: Who writes, as another writer will be told.
      advice: What to do if the store stays in use too long.
    """
    if mysql_from_args(args) is not None:
        return contextlib.nullcontext()
    return store_lock.writing(sqlite_path, purpose, advice=advice)


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


def check_output_file(path: str, flag: str) -> None:
    """Fails before any work if `path` cannot be written as a file.

    Raises:
      CascadeError: `path` is a folder, or its folder does not exist (local
        paths; a `gs://` path is checked when written).
    """
    if "://" in path:
        return
    if os.path.isdir(path):
        raise CascadeError(f"{flag} {path} is a folder; name a file")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CascadeError(f"{flag} {path}: folder {folder} does not exist; create it first")
