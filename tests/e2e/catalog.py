"""A stand-in data catalog for the OpenLineage tests: a real HTTP server on 127.0.0.1.

It answers `POST /api/v1/lineage` as Marquez does (201) and records each
request: (path, Authorization header, body).
"""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator


class _Catalog(BaseHTTPRequestHandler):
    """Marquez's `POST /api/v1/lineage`, recording each request (path, key, body)."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(
            (self.path, self.headers.get("Authorization"), body.decode("utf-8"))
        )
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def running_catalog() -> Iterator[ThreadingHTTPServer]:
    """A server on a free loopback port, in a thread; `.received` holds the requests."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Catalog)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
