"""Running the partner service: in the foreground (``expedition api``) or in a background thread.

Usage::

    serve(settings, host="127.0.0.1", port=8000)          # blocks until Ctrl-C

    with BackgroundServer(create_app(settings)) as srv:     # notebooks, tests: a real server
        httpx.get(srv.url + "/health")
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

from expedition.errors import ExpeditionError
from expedition.settings import Settings

log = logging.getLogger(__name__)


class ServerError(ExpeditionError):
    """The service could not start (address in use, or it did not come up in time)."""


SWITCH_INTERVAL_S = 0.0002  # 200 clients: 189 -> 241 requests/s, p99 1.7 -> 1.0 s


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info",
          access_log: bool = True) -> None:
    """Run the service with uvicorn until interrupted (one process; queries run in threads)."""
    from expedition.delivery.api.app import create_app

    app = create_app(settings)
    try:
        sock = _bind(host, port)
    except OSError as exc:
        raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    # The event loop shares the GIL with the query threads: after every socket call it waits for a
    # thread to give the GIL back, up to 5 ms by default; a 0.2 ms switch interval keeps the loop
    # answering while queries run (bench/bench_api_load.py; this process only, set at start).
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    config = uvicorn.Config(app, log_level=log_level, proxy_headers=False, timeout_graceful_shutdown=10,
                            access_log=access_log)
    uvicorn.Server(config).run(sockets=[sock])


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without it
    # small answers on a kept-alive connection wait ~40 ms for delayed ACKs (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class BackgroundServer:
    """uvicorn serving ``app`` on ``host`` (port 0: any free port) in a daemon thread."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, start_timeout_s: float = 30.0) -> None:
        self._sock = _bind(host, port)
        self.host = host
        self.port = int(self._sock.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", proxy_headers=False, lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True)
        self._start_timeout_s = start_timeout_s

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ServerError(f"the service did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self._sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
