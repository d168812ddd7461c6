"""metadata.mysql_probe and every store opening: a MySQL server heard from in time.

The servers here are real loopback listeners (127.0.0.1): one that accepts and
never answers, one that greets as MariaDB does, one that refuses with an error
packet, one that speaks another protocol, one that hangs up; and a closed port.
"""

from __future__ import annotations

import socket
import struct
import time
from typing import Iterator

import pytest

from cli.main import main
from core.errors import CascadeError
from metadata import connection, mysql_probe
from services.store import StoreOptions
from tests import loopback

PASSWORD = "hunter2-never-shown"


def _packet(payload: bytes) -> bytes:
    return struct.pack("<I", len(payload))[:3] + b"\0" + payload


def greeting(version: bytes = b"5.5.5-10.6.18-MariaDB") -> bytes:
    """A protocol-10 handshake packet as MariaDB sends it (the fields after the
    version are what the probe never reads: thread id, salt, capabilities ...)."""
    return _packet(
        bytes([mysql_probe.HANDSHAKE_V10])
        + version
        + b"\0"
        + struct.pack("<I", 7)
        + b"saltsalt\0"
        + struct.pack("<HBHH", 0xF7FE, 33, 2, 0x81FF)
        + bytes([21])
        + b"\0" * 10
        + b"moresaltmore\0mysql_native_password\0"
    )


@pytest.fixture
def silent() -> Iterator[loopback.Listener]:
    """Accepts every connection and never sends a byte."""
    with loopback.silent() as listener:
        yield listener


@pytest.fixture
def closed_port() -> int:
    return loopback.closed_port()


def _check(port: int, timeout: float = 0.5) -> str:
    return mysql_probe.check_greeting("127.0.0.1", port, timeout, f"mysql://u@127.0.0.1:{port}/db")


def test_a_server_that_greets_passes_and_its_version_is_read():
    with loopback.listening(lambda client: client.sendall(greeting())) as listener:
        assert _check(listener.port) == "5.5.5-10.6.18-MariaDB"


def test_a_greeting_sent_in_pieces_is_read_whole():
    def trickle(client: socket.socket) -> None:
        for byte in greeting():
            client.sendall(bytes([byte]))

    with loopback.listening(trickle) as listener:
        assert _check(listener.port) == "5.5.5-10.6.18-MariaDB"


def test_a_server_that_accepts_and_never_answers_is_given_up_on_at_the_timeout(silent):
    started = time.monotonic()
    with pytest.raises(CascadeError) as raised:
        _check(silent.port, timeout=0.5)
    assert 0.5 <= time.monotonic() - started < 3
    assert str(raised.value) == (
        f"cannot open the metadata store mysql://u@127.0.0.1:{silent.port}/db: "
        f"127.0.0.1:{silent.port} accepted the connection but sent no MySQL greeting within "
        "0.5 s (--mysql-timeout); is it a MySQL or MariaDB server, and is it answering?"
    )


def test_a_closed_port_is_named_at_once(closed_port):
    started = time.monotonic()
    with pytest.raises(CascadeError) as raised:
        _check(closed_port, timeout=5)
    assert time.monotonic() - started < 2
    assert str(raised.value) == (
        f"cannot open the metadata store mysql://u@127.0.0.1:{closed_port}/db: cannot connect "
        f"to 127.0.0.1:{closed_port} (Connection refused); is the server running and reachable?"
    )


def test_an_error_packet_instead_of_a_greeting_is_the_servers_own_words():
    # What MySQL sends a client over max_connections, before any handshake.
    refusal = _packet(b"\xff" + struct.pack("<H", 1040) + b"Too many connections")
    with loopback.listening(lambda client: client.sendall(refusal)) as listener:
        with pytest.raises(CascadeError) as raised:
            _check(listener.port)
        assert str(raised.value).endswith(
            ": the server refused the connection: Too many connections (error 1040)"
        )


def test_another_protocol_is_named_with_its_first_bytes():
    banner = b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\n"
    with loopback.listening(lambda client: client.sendall(banner)) as listener:
        with pytest.raises(CascadeError) as raised:
            _check(listener.port, timeout=5)
        assert str(raised.value).endswith(
            f": 127.0.0.1:{listener.port} answered, but not as a MySQL server "
            "(it sent b'SSH-'); check --mysql-host and --mysql-port"
        )


def test_a_server_that_hangs_up_at_once_is_named():
    with loopback.listening(lambda client: client.close()) as listener:
        with pytest.raises(CascadeError) as raised:
            _check(listener.port)
        assert str(raised.value).endswith(
            f": 127.0.0.1:{listener.port} closed the connection without a MySQL greeting"
        )


def _mysql_store(port: int, timeout: float = 0.5) -> StoreOptions:
    return StoreOptions(
        mysql=connection.MySqlOptions(
            host="127.0.0.1", port=port, database="db", user="u", timeout=timeout
        )
    )


def test_every_store_opening_is_bounded_by_the_timeout(silent, monkeypatch):
    # The connection config is what TFX's runner, the Airflow tasks and every
    # command connect with; `open` is how commands and tasks open the store.
    monkeypatch.setenv(connection.PASSWORD_ENV, PASSWORD)
    store = _mysql_store(silent.port)
    for opening in (
        lambda: store.connection_config(),
        lambda: store.open(read_only=True),
        lambda: store.open(read_only=False, create=True),
        store.check_reachable,
    ):
        started = time.monotonic()
        with pytest.raises(CascadeError, match="sent no MySQL greeting within 0.5 s"):
            opening()
        assert time.monotonic() - started < 3


def test_sqlite_stores_are_not_probed(tmp_path):
    StoreOptions(sqlite_path=str(tmp_path / "metadata.sqlite")).check_reachable()


def test_the_lineage_command_names_the_server_in_one_line_exit_2(silent, capsys, monkeypatch):
    monkeypatch.setenv(connection.PASSWORD_ENV, PASSWORD)
    started = time.monotonic()
    code = main(
        [
            "lineage",
            "runs",
            "--mysql-host",
            "127.0.0.1",
            "--mysql-port",
            str(silent.port),
            "--mysql-timeout",
            "0.5",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert time.monotonic() - started < 5
    assert err == (
        f"error: cannot open the metadata store mysql://cascade@127.0.0.1:{silent.port}/"
        f"cascade_metadata: 127.0.0.1:{silent.port} accepted the connection but sent no MySQL "
        "greeting within 0.5 s (--mysql-timeout); is it a MySQL or MariaDB server, and is it "
        "answering?\n"
    )
    assert PASSWORD not in err


def test_the_timeout_flag_defaults_to_10_seconds_and_refuses_nonsense(capsys):
    from cli.main import build_parser

    args = build_parser().parse_args(["lineage", "runs", "--mysql-host", "db"])
    assert args.mysql_timeout == mysql_probe.DEFAULT_TIMEOUT_SECONDS == 10.0
    for bad in ("0", "-1", "nan", "inf", "soon"):
        with pytest.raises(SystemExit) as exited:
            build_parser().parse_args(["lineage", "runs", "--mysql-timeout", bad])
        assert exited.value.code == 2
        assert f"argument --mysql-timeout: expected seconds (a number above 0), got {bad!r}" in (
            capsys.readouterr().err
        )


def test_a_run_on_a_hung_server_stops_before_its_preflight(silent, capsys, monkeypatch):
    # `cascade run` opens the store after the preflight (minutes on large
    # data), so it hears from the server first.
    monkeypatch.setenv(connection.PASSWORD_ENV, PASSWORD)
    flags = ["--mysql-host", "127.0.0.1", "--mysql-port", str(silent.port)]
    started = time.monotonic()
    code = main(["run", *flags, "--mysql-timeout", "0.5"])
    captured = capsys.readouterr()
    assert code == 2
    assert time.monotonic() - started < 10
    assert captured.out == ""  # not even preflight's first line
    assert captured.err.startswith(
        f"error: cannot open the metadata store mysql://cascade@127.0.0.1:{silent.port}/"
    )
    assert captured.err.count("\n") == 1 and PASSWORD not in captured.err
