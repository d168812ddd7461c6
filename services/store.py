"""Which metadata store a service reads or writes: the SQLite file or a MySQL server."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from typing import ContextManager, Optional

from ml_metadata.metadata_store import MetadataStore

from core.errors import CascadeError
from metadata import mysql_probe, store_lock
from metadata.connection import MySqlOptions, connection_config, open_store


@dataclasses.dataclass(frozen=True)
class StoreOptions:
    """A metadata store: a MySQL/MariaDB server when `mysql` is set, else the SQLite file.

    Attributes:
      sqlite_path: The SQLite file (used without `mysql`).
      mysql: The shared server's options, or None.
    """

    sqlite_path: str = ""
    mysql: Optional[MySqlOptions] = None

    def describe(self) -> str:
        """The store as messages name it (never with a password)."""
        return self.mysql.describe() if self.mysql else f"{self.sqlite_path} (SQLite)"

    def secrets(self) -> list[str]:
        """What must never be printed or logged: the MySQL password, if any."""
        return [self.mysql.password()] if self.mysql else []

    def connection_config(self, read_only: bool = False):
        """The MLMD connection config (read-write ones create a missing SQLite file)."""
        return connection_config(
            sqlite_path=self.sqlite_path, mysql=self.mysql, read_only=read_only
        )

    def check_reachable(self) -> None:
        """Fails at once if the MySQL server is not reached, or does not answer,
        within its timeout (`metadata.mysql_probe`); nothing for SQLite.

        For work that opens the store late (a run, after its preflight).

        Raises:
          CascadeError: Naming the server's host and port, and what happened.
        """
        if self.mysql is not None:
            mysql = self.mysql
            mysql_probe.check_greeting(mysql.host, mysql.port, mysql.timeout, mysql.describe())

    def open(self, read_only: bool, create: bool = False) -> MetadataStore:
        """Opens the store.

        Args:
          read_only: Open SQLite read-only (a query never creates or alters it).
          create: Create a missing SQLite file (a pipeline run); otherwise a
            missing file is an error naming it.

        Raises:
          CascadeError: The store cannot be opened (in one sentence).
        """
        if self.mysql is not None:
            return open_store(self.connection_config(), self.mysql.describe())
        if not self.sqlite_path:
            raise CascadeError("no metadata store given: name one with --metadata or --config")
        if not read_only and not create and not os.path.isfile(self.sqlite_path):
            raise CascadeError(
                f"metadata store {self.sqlite_path} does not exist (run the pipeline first)"
            )
        return open_store(self.connection_config(read_only), self.sqlite_path)

    def writing(
        self, purpose: str, advice: str = "run again when it has finished"
    ) -> ContextManager:
        """The write lock of the SQLite store (`metadata.store_lock`); nothing for MySQL.

        Args:
          purpose: Who writes, as another writer will be told.
          advice: What to do if the store stays in use too long.
        """
        if self.mysql is not None:
            return contextlib.nullcontext()
        return store_lock.writing(self.sqlite_path, purpose, advice=advice)
