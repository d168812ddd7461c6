"""A throwaway MariaDB server on a loopback port, for the shared-store tests.

Starts `mariadbd` with its own data directory under the test's temp folder,
creates a database and a password-protected user for MLMD, and stops the server
afterwards. Without mariadb-server installed the tests are skipped, unless
CASCADE_REQUIRE_MARIADB=1 (CI) makes that a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator, Optional

import pytest

from metadata.connection import MySqlOptions

DATABASE = "cascade_metadata"
USER = "cascade"
PASSWORD = "not-a-real-secret-7"
START_TIMEOUT_SECONDS = 60


def _find(*names: str) -> Optional[str]:
    for name in names:
        found = shutil.which(name) or next(
            (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), None
        )
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(sock: Path, process: subprocess.Popen, log: Path) -> None:
    import pymysql

    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mariadbd exited: {log.read_text()[-2000:]}")
        try:
            pymysql.connect(unix_socket=str(sock), user="root").close()
            return
        except pymysql.err.OperationalError:
            time.sleep(0.3)
    raise RuntimeError(
        f"mariadbd did not start in {START_TIMEOUT_SECONDS}s: {log.read_text()[-2000:]}"
    )


def start_mariadb(root: Path) -> Iterator[MySqlOptions]:
    """Yields MySqlOptions for a fresh server (password in CASCADE_MYSQL_PASSWORD)."""
    server = _find("mariadbd", "mysqld")
    install_db = _find("mariadb-install-db", "mysql_install_db")
    if server is None or install_db is None:
        message = "mariadb-server is not installed (make system-deps installs it)"
        if os.environ.get("CASCADE_REQUIRE_MARIADB") == "1":
            pytest.fail(message)
        pytest.skip(message)
    datadir, sock, log = root / "data", root / "mysqld.sock", root / "mysqld.log"
    as_root = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run(
        [
            install_db,
            "--no-defaults",
            f"--datadir={datadir}",
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
            *as_root,
        ],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    process = subprocess.Popen(
        [
            server,
            "--no-defaults",
            f"--datadir={datadir}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--socket={sock}",
            f"--log-error={log}",
            f"--pid-file={root / 'mysqld.pid'}",
            "--skip-name-resolve",
            *as_root,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_up(sock, process, log)
        import pymysql

        connection = pymysql.connect(unix_socket=str(sock), user="root", autocommit=True)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {DATABASE}")
            cursor.execute(f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'")
            # Every `cascade_*` database, so a test can have a store of its own.
            cursor.execute(f"GRANT ALL ON `cascade\\_%`.* TO '{USER}'@'127.0.0.1'")
        connection.close()
        yield MySqlOptions(host="127.0.0.1", port=port, database=DATABASE, user=USER)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
