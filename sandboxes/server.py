"""Serve a WSGI app on a loopback port in a daemon thread (shared by every sandbox)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sandboxes.persistence import StateKeeper


class QuietRequestHandler(WSGIRequestHandler):
    """Request handler that writes no access-log line per request.

    Tests start many sandboxes and send thousands of requests; a line each would drown the
    output. Errors (tracebacks) are still reported through werkzeug's logger.
    """

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class ServedApp:
    """A WSGI app listening on ``host:port`` (0 = a free port) until :meth:`stop`."""

    def __init__(self, app: Callable[..., Any], *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (known once started)."""
        if self._server is None:
            raise RuntimeError("the server is not started")
        return self._server.server_port

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8701`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServedApp:
        """Bind the port and serve in a daemon thread; returns self."""
        if self._server is not None:
            return self
        # threaded=True: a slow request (latency faults, bulk polls) must not block others.
        self._server = make_server(
            self.host,
            self.requested_port,
            self.app,
            threaded=True,
            request_handler=QuietRequestHandler,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{self.host}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the command line uses this)."""
        self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(timeout=0.5)
        finally:
            self.stop()

    def __enter__(self) -> ServedApp:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class LocalSandbox:
    """What every sandbox does with its server and its data file: start, stop, serve, restore.

    A subclass builds its app, then sets ``_server`` and (optionally) calls :meth:`_keep_state`.
    """

    _server: ServedApp
    _keeper: StateKeeper | None = None

    def _keep_state(
        self, path: Path | None, load: Callable[[Path], Any], save: Callable[[Path], None]
    ) -> None:
        """Keep the data in ``path`` across restarts (loaded on start, saved until stop)."""
        self._keeper = StateKeeper(path, load, save) if path is not None else None

    @property
    def url(self) -> str:
        """Where the sandbox listens, e.g. ``http://127.0.0.1:54321``."""
        return self._server.url

    @property
    def restored(self) -> bool:
        """True when the data came from the state file (so it needs no seeding)."""
        return bool(self._keeper and self._keeper.restored)

    def start(self) -> Self:
        if self._keeper is not None:
            self._keeper.open()
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        if self._keeper is not None:
            self._keeper.close()

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (``syncline sandbox ...``)."""
        if self._keeper is not None:
            self._keeper.open()
        try:
            self._server.serve_forever()
        finally:
            if self._keeper is not None:
                self._keeper.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
