"""A stdlib HTTP server in a daemon thread: the shared shell of the local stand-in servers.

A stand-in implements `handle(method, path, headers, raw) -> Reply`; the shell reads the request,
writes one JSON log line (when the reply carries one) and answers.
"""

from __future__ import annotations

import collections
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Reply:
    """What a stand-in answers, and what it wants logged (None: no log line)."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    log: dict[str, Any] | None = None


class RequestHandler(BaseHTTPRequestHandler):
    """Reads the request, asks the stand-in, logs and answers."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms stalls
    app: LocalServer  # set on the per-server subclass made in LocalServer.start()

    def _dispatch(self) -> None:
        method, path = self.command, urlsplit(self.path).path
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        reply = self.app.handle(method, path, dict(self.headers), raw)
        if reply.log is not None:
            line = {"ts": time.time(), "svc": self.app.log_name, "method": method}
            line |= {"status": reply.status, **reply.log}
            sys.stderr.write(json.dumps(line) + "\n")  # before answering: clients can't outrun it
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    # the names http.server dispatches on; PUT/PATCH/DELETE for REST stand-ins (Argo CD, k8s)
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default access log; `_dispatch` writes a JSON line instead."""


class LocalServer:
    """Serves `handle()` on loopback from a daemon thread."""

    handler_class: type[BaseHTTPRequestHandler] = RequestHandler
    log_name = "local_server"

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        """Answer one request (stand-ins override this)."""
        return Reply(404, b"not found", "text/plain")

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Bind and serve in a daemon thread."""
        handler = type("_BoundHandler", (self.handler_class,), {"app": self})
        server = self._server = ThreadingHTTPServer(self._address, handler)
        # A short poll interval keeps stop() fast; serve_forever only checks for shutdown then.
        self._thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """e.g. ``http://127.0.0.1:18090``."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://{self._address[0]}:{self._server.server_port}"


class RecordingServer(LocalServer):
    """A stand-in that records what it accepted and refused, and can be told to fail next."""

    noun = "messages"
    """What `wait_for` counts, for its error message."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self._cond = threading.Condition()
        self._accepted: list[dict[str, Any]] = []
        self._rejected: list[dict[str, Any]] = []
        self._failures: collections.deque[Any] = collections.deque()

    def rejected(self) -> list[dict[str, Any]]:
        """Refused requests, oldest first."""
        return self._copies(lambda: self._rejected)

    def wait_for(self, count: int, timeout: float) -> list[dict[str, Any]]:
        """Block until at least `count` were accepted; raise TimeoutError otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._accepted) >= count, timeout):
                got = f"got {len(self._accepted)}; last rejections {self._rejected[-3:]}"
                raise TimeoutError(f"expected {count} {self.noun} in {timeout}s, {got}")
            return [dict(r) for r in self._accepted]

    def _copies(self, records: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        with self._cond:  # a callable, so reset() cannot swap the list between read and copy
            return [dict(r) for r in records()]

    def _forget(self) -> None:
        """Drop records and pending failures (call holding `_cond`)."""
        self._accepted, self._rejected = [], []
        self._failures.clear()
