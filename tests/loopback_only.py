"""Keeps the test process on loopback addresses: every other name resolves to nothing.

Tests may start servers on 127.0.0.1 and reach them; nothing else. Name
resolution is where every connection starts (`socket.create_connection`,
urllib, grpc's Python channels, database drivers that resolve in Python), so
`socket.getaddrinfo` answers any other host as an unknown name, which is what
a machine without a network answers. The hosts asked for are kept, so a test
that tried to leave the machine fails naming them (see tests/conftest.py).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any, Callable

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}

_real_getaddrinfo: Callable[..., Any] = socket.getaddrinfo
refused_hosts: list[str] = []


def is_loopback(host: Any) -> bool:
    """True for loopback names and addresses (127.0.0.0/8, ::1) and the unspecified host.

    Args:
      host: A host as `socket.getaddrinfo` takes it (str, bytes or None).
    """
    if host is None:
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name.lower() in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _loopback_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not is_loopback(host):
        refused_hosts.append(host.decode() if isinstance(host, bytes) else str(host))
        raise socket.gaierror(socket.EAI_NONAME, f"{host}: tests reach loopback addresses only")
    return _real_getaddrinfo(host, *args, **kwargs)


def install() -> None:
    """Routes the process's name resolution through the loopback check."""
    socket.getaddrinfo = _loopback_getaddrinfo


def take_refused() -> list[str]:
    """The hosts refused since the last call, oldest first; clears the list."""
    taken = list(refused_hosts)
    refused_hosts.clear()
    return taken
