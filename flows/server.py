"""A local Prefect server for ``expedition serve`` when the user has none (this module never imports Prefect).

Schedules need a real server: Prefect's temporary in-process server runs no scheduler service, so
a served deployment with an interval would never start. :func:`local_server` runs
``prefect server start`` on 127.0.0.1 (its database under ``<home>/prefect``, telemetry off), sets
``PREFECT_API_URL`` for this process, and stops the server after the block, that is after ``serve``
has returned: the server runs in its own session so the terminal's Ctrl-C reaches ``serve`` first
(``serve`` pauses its schedules and exits; a server stopped before it would leave it hanging).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from expedition.settings import Settings
from flows.env import prefect_home_for
from flows.errors import FlowFailed

log = logging.getLogger(__name__)

DEFAULT_PORT = 4200
STARTUP_TIMEOUT_S = 120.0


def _free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise FlowFailed("no free TCP port on 127.0.0.1 for a local Prefect server")


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def local_server(settings: Settings, port: int = DEFAULT_PORT) -> Iterator[str]:
    """Run ``prefect server start`` on 127.0.0.1 for the duration of the block; yields the API URL."""
    port = _free_port(port)
    api_url = f"http://127.0.0.1:{port}/api"
    home = prefect_home_for(settings)
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "server.log"
    env = {**os.environ, "PREFECT_HOME": os.environ.get("PREFECT_HOME", str(home)),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    env.pop("PREFECT_API_URL", None)
    with open(log_path, "ab") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    try:
        _wait_healthy(proc, api_url, log_path)
        os.environ["PREFECT_API_URL"] = api_url
        log.info("local Prefect server at %s (log %s)", api_url, log_path)
        yield api_url
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        _stop(proc)


def _wait_healthy(proc: subprocess.Popen[bytes], api_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise FlowFailed(f"the local Prefect server exited with code {proc.returncode}; see {log_path}")
        if _healthy(api_url):
            return
        time.sleep(0.5)
    raise FlowFailed(f"the local Prefect server did not answer within {STARTUP_TIMEOUT_S:.0f} s; see {log_path}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
