"""The test process resolves loopback names only (tests/loopback_only.py)."""

import socket

import pytest

from tests import loopback_only


@pytest.mark.parametrize(
    "host", ["localhost", "127.0.0.1", "127.8.9.10", "::1", "[::1]", "0.0.0.0", None, b"127.0.0.1"]
)
def test_loopback_hosts_are_loopback(host):
    assert loopback_only.is_loopback(host)


@pytest.mark.parametrize("host", ["github.com", "10.0.0.1", "169.254.169.254", "2001:db8::1"])
def test_other_hosts_are_not(host):
    assert not loopback_only.is_loopback(host)


def test_a_name_that_is_not_loopback_resolves_to_nothing_and_is_kept():
    with pytest.raises(socket.gaierror, match="tests reach loopback addresses only"):
        socket.getaddrinfo("github.com", 443)
    assert loopback_only.take_refused() == ["github.com"]


def test_a_loopback_server_is_reached():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        with socket.create_connection(("localhost", port), timeout=5):
            pass
