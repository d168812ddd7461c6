"""Real loopback servers for tests of what a command does when a server misbehaves.

A "hung" server is a listener on 127.0.0.1 that accepts every connection and
never answers; an "unreachable" one is a loopback port nothing listens on.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Callable, Iterator


class Listener:
    """A loopback server that runs `answer` on every connection it accepts.

    Attributes:
      port: The port it listens on (127.0.0.1).
    """

    def __init__(self, answer: Callable[[socket.socket], None]) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._answer = answer
        self._held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            self._held.append(client)  # kept open: a hung server never hangs up
            self._answer(client)

    def close(self) -> None:
        self._server.close()
        for client in self._held:
            client.close()


@contextlib.contextmanager
def listening(answer: Callable[[socket.socket], None]) -> Iterator[Listener]:
    """A `Listener` for the block's duration."""
    listener = Listener(answer)
    try:
        yield listener
    finally:
        listener.close()


def silent() -> contextlib.AbstractContextManager[Listener]:
    """A server that accepts every connection and never sends a byte."""
    return listening(lambda client: None)


def closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
