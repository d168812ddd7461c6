"""A MySQL server heard from within a time limit, before ML Metadata connects to it.

ML Metadata's MySQL connection has no time limit: `MySQLDatabaseConfig` holds
the host, port, database, user, password, socket, SSL options and
`skip_db_creation`, and no timeout; and its connect call holds Python's
interpreter lock, so no watchdog thread can end it. A server that accepts the
connection and never answers would hold every command for ever.

So each MySQL connection is preceded by this probe: a TCP connection made
within the limit, and the server's greeting (the handshake packet a MySQL or
MariaDB server sends first on every connection) read within the same limit.
A server that greets has answered; what ML Metadata does next (log in, query)
has no limit of its own.

The probe closes its connection once greeted. A server counts that as an
aborted connection; the connection ML Metadata then makes succeeds and resets
the host's count, so `max_connect_errors` never blocks a healthy client.
"""

from __future__ import annotations

import socket
import struct
import time
from typing import Optional

from core.errors import CascadeError

DEFAULT_TIMEOUT_SECONDS = 10.0
# The handshake packet's protocol version (MySQL 3.21 on, every MariaDB).
HANDSHAKE_V10 = 0x0A
# The first payload byte of an error packet (e.g. "Too many connections").
ERROR_PACKET = 0xFF
_HEADER_BYTES = 4
# A greeting is well under 1 KiB; a longer "packet" is another protocol's bytes.
MAX_GREETING_BYTES = 2**16
_TIMEOUT_HINT = "(--mysql-timeout)"
_REACHABLE_HINT = "is the server running and reachable?"


def check_greeting(host: str, port: int, timeout: float, where: str) -> str:
    """Connects to `host:port` and reads the MySQL server's greeting, within `timeout`.

    Args:
      host: The server's host name or address.
      port: Its TCP port.
      timeout: Seconds allowed for the connection, and again for the greeting.
      where: The store as messages name it (never with a password).

    Returns:
      The server's version, as its greeting gives it (e.g. "10.6.18-MariaDB").

    Raises:
      CascadeError: In one sentence naming `where` (its host and port): the
        host is not known, the connection is refused or not made in time, the
        server sends no greeting in time, closes the connection, refuses it
        with an error packet, or is not a MySQL server.
    """
    prefix = f"cannot open the metadata store {where}"
    try:
        connection = socket.create_connection((host, port), timeout=timeout)
    except socket.gaierror as e:
        raise CascadeError(f"{prefix}: host {host!r} is not known ({e.strerror})") from None
    except TimeoutError:
        raise CascadeError(
            f"{prefix}: no connection to {host}:{port} within {timeout:g} s "
            f"{_TIMEOUT_HINT}; {_REACHABLE_HINT}"
        ) from None
    except OSError as e:
        raise CascadeError(
            f"{prefix}: cannot connect to {host}:{port} ({e.strerror or e}); {_REACHABLE_HINT}"
        ) from None
    address = f"{host}:{port}"
    with connection:
        deadline = time.monotonic() + timeout
        try:
            header = _read_exactly(connection, _HEADER_BYTES, deadline)
            length = struct.unpack("<I", header[:3] + b"\0")[0] if len(header) == 4 else 0
            if length > MAX_GREETING_BYTES:
                raise _not_mysql(prefix, address, header)
            payload = _read_exactly(connection, length, deadline)
        except TimeoutError:
            raise CascadeError(
                f"{prefix}: {address} accepted the connection but sent no MySQL greeting "
                f"within {timeout:g} s {_TIMEOUT_HINT}; is it a MySQL or MariaDB server, "
                "and is it answering?"
            ) from None
        except OSError as e:
            raise CascadeError(
                f"{prefix}: {address} dropped the connection before its greeting "
                f"({e.strerror or e})"
            ) from None
    return _server_version(header, payload, prefix, address)


def _read_exactly(connection: socket.socket, size: int, deadline: float) -> bytes:
    """Reads `size` bytes, or fewer if the peer closes first.

    Raises:
      TimeoutError: `deadline` (time.monotonic) passed first.
    """
    data = b""
    while len(data) < size:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        connection.settimeout(left)
        chunk = connection.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _server_version(header: bytes, payload: bytes, prefix: str, address: str) -> str:
    """The version a greeting packet (its 4-byte header, its payload) gives.

    Raises:
      CascadeError: The packet is empty or cut short, an error packet, or not
        a MySQL handshake.
    """
    if not payload:
        raise CascadeError(f"{prefix}: {address} closed the connection without a MySQL greeting")
    if payload[0] == ERROR_PACKET and len(payload) >= 3:
        code = struct.unpack("<H", payload[1:3])[0]
        message = payload[3:].decode("utf-8", "replace").strip()
        raise CascadeError(f"{prefix}: the server refused the connection: {message} (error {code})")
    version = _version_text(payload)
    if payload[0] != HANDSHAKE_V10 or version is None:
        raise _not_mysql(prefix, address, header + payload)
    return version


def _not_mysql(prefix: str, address: str, sent: bytes) -> CascadeError:
    """The error for a peer that answered in another protocol."""
    return CascadeError(
        f"{prefix}: {address} answered, but not as a MySQL server (it sent {sent[:16]!r}); "
        "check --mysql-host and --mysql-port"
    )


def _version_text(payload: bytes) -> Optional[str]:
    """The NUL-ended version after the protocol byte, if it is printable text."""
    end = payload.find(b"\0", 1)
    if end < 0:
        return None
    text = payload[1:end].decode("ascii", "replace")
    return text if text.isprintable() else None
