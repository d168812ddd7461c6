"""Connections to the ML Metadata store: an embedded SQLite file or a shared MySQL.

The MySQL password is never a command-line argument (it would show in `ps` and
shell history) and never logged: it comes from the environment variable
`CASCADE_MYSQL_PASSWORD` or from a file named by `--mysql-password-file`.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Optional

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from core.errors import CascadeError
from metadata import mysql_probe, store_file

PASSWORD_ENV = "CASCADE_MYSQL_PASSWORD"


@dataclasses.dataclass(frozen=True)
class MySqlOptions:
    """Where a shared MySQL (or MariaDB) metadata store lives.

    Attributes:
      host: The server's host name or address.
      port: Its TCP port.
      database: The database holding the store.
      user: Who logs in.
      password_file: A file holding the password (else the environment's).
      timeout: Seconds allowed to connect, and for the server's first answer
        (`metadata.mysql_probe`).
    """

    host: str
    port: int
    database: str
    user: str
    password_file: Optional[str] = None
    timeout: float = mysql_probe.DEFAULT_TIMEOUT_SECONDS

    def password(self) -> str:
        """Reads the password from the file or the environment ('' if neither).

        Raises:
          CascadeError: The password file cannot be read.
        """
        if self.password_file:
            try:
                with open(self.password_file, encoding="utf-8") as f:
                    return f.read().strip()
            except OSError as e:
                raise CascadeError(
                    f"--mysql-password-file {self.password_file}: cannot read it ({e.strerror})"
                ) from None
        return os.environ.get(PASSWORD_ENV, "")

    def describe(self) -> str:
        """Where the store is, for messages (no password)."""
        return f"mysql://{self.user}@{self.host}:{self.port}/{self.database}"


def connection_config(
    sqlite_path: Optional[str] = None,
    mysql: Optional[MySqlOptions] = None,
    read_only: bool = False,
) -> metadata_store_pb2.ConnectionConfig:
    """Returns the MLMD connection for a SQLite file or a MySQL server.

    A MySQL server is first heard from within `mysql.timeout`
    (`metadata.mysql_probe`): every MLMD and TFX connection to it is made from
    this config, and MLMD's own has no time limit.

    Args:
      sqlite_path: The SQLite file (used when `mysql` is None).
      mysql: The MySQL server.
      read_only: Open SQLite read-only (a query must never create or alter it).

    Raises:
      CascadeError: Neither given; a MySQL server that cannot be reached or
        does not answer in time; a read-only SQLite file that does not
        exist; or a file that is not (and cannot become) an MLMD store.
    """
    config = metadata_store_pb2.ConnectionConfig()
    if mysql is not None:
        mysql_probe.check_greeting(mysql.host, mysql.port, mysql.timeout, mysql.describe())
        config.mysql.host = mysql.host
        config.mysql.port = mysql.port
        config.mysql.database = mysql.database
        config.mysql.user = mysql.user
        config.mysql.password = mysql.password()
        return config
    if not sqlite_path:
        raise CascadeError("no metadata store: give a SQLite path or --mysql-host")
    if read_only and not os.path.isfile(sqlite_path):
        raise CascadeError(f"metadata store {sqlite_path} does not exist (run the pipeline first)")
    store_file.check(sqlite_path, read_only)
    if read_only:
        config.sqlite.filename_uri = sqlite_path
        config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
        return config
    os.makedirs(os.path.dirname(os.path.abspath(sqlite_path)), exist_ok=True)
    config.sqlite.filename_uri = sqlite_path
    config.sqlite.connection_mode = (
        metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    )
    return config


# MLMD's answers when another process is creating the store's tables at this
# moment (two runs starting at once on an empty MySQL database): "... This may
# be due to concurrent connection to the empty database. Please retry [the]
# connection."
_RETRY_MARKER = "concurrent connection to the empty database"
OPEN_ATTEMPTS = 20
RETRY_SECONDS = 0.5


def open_store(
    config: metadata_store_pb2.ConnectionConfig, where: str
) -> metadata_store.MetadataStore:
    """Opens the store, turning connection failures into one clear message.

    When another process is creating the store's tables (MLMD says so and asks
    to retry), it waits for that to finish and tries again, for up to 10 s.

    Raises:
      CascadeError: The store cannot be opened (names `where`, never the password).
    """
    from core.environment import stderr_to_file

    for attempt in range(1, OPEN_ATTEMPTS + 1):
        try:
            # MLMD's C++ layer logs connection failures straight to stderr; the
            # error below says it once, in words.
            with stderr_to_file(os.devnull):
                return metadata_store.MetadataStore(config)
        except Exception as e:  # MLMD raises its own error types per backend
            if _RETRY_MARKER in str(e) and attempt < OPEN_ATTEMPTS:
                time.sleep(RETRY_SECONDS)
                continue
            message = str(e).splitlines()[0] if str(e) else type(e).__name__
            hint = (
                " (is the server running and reachable, and are the database, user and "
                "password right?)"
                if config.HasField("mysql") and _RETRY_MARKER not in message
                else ""
            )
            raise CascadeError(f"cannot open the metadata store {where}: {message}{hint}") from None
    raise AssertionError("unreachable: the last attempt returns or raises")
