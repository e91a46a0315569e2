"""Small Prefect helpers shared by the flows: settings, run names, artifacts, fast local runs.

Every helper degrades quietly outside a flow run (``flow.fn()`` in unit tests, or a task called
directly), so the library behaviour never depends on Prefect being reachable.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from expedition.settings import Settings, load_settings
from flows.errors import FlowFailed
from warehouse.lake import Lake

_KEY_BAD = re.compile(r"[^a-z0-9-]+")


def settings_for(home: str | Path | None) -> Settings:
    """The settings of data root ``home`` (``None``: ``$QE_HOME`` or the default), with the
    process-wide ones (Arrow's memory pool) applied to this worker."""
    from expedition.process import configure_process

    settings = load_settings(home)
    configure_process(settings)
    return settings


def lake_for(settings: Settings) -> Lake:
    """The lake of ``settings``; raises a clear error when it has not been initialised."""
    return Lake.from_settings(settings)


def logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The Prefect run logger inside a flow or task run, else this module's logger."""
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("flows")


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key (lowercase letters, digits and dashes) built from ``parts``."""
    key = "-".join(_KEY_BAD.sub("-", p.lower()).strip("-") for p in parts if p)
    return key[:100] or "qe"


def in_flow_run() -> bool:
    from prefect.context import FlowRunContext

    return FlowRunContext.get() is not None


def rename_flow_run(name: str) -> None:
    """Give the current flow run a name that says what happened (``USGS: 12 new, 3 revised``)."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        return
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(flow_run_id=ctx.flow_run.id, name=name[:200])
    except Exception as exc:  # a cosmetic failure never fails the run
        logger().warning("could not rename the flow run to %r: %s", name, exc)


def markdown_artifact(key: str, markdown: str, description: str) -> None:
    """A Markdown artifact on the current run (no-op outside a run)."""
    if not in_flow_run():
        return
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(markdown=markdown, key=artifact_key(key), description=description)


def table_artifact(key: str, rows: Sequence[Mapping[str, Any]], description: str) -> None:
    """A table artifact on the current run (no-op outside a run or without rows)."""
    if not in_flow_run() or not rows:
        return
    from prefect.artifacts import create_table_artifact

    table = [{k: ("" if v is None else str(v) if not isinstance(v, int | float | str) else v)
              for k, v in row.items()} for row in rows]
    create_table_artifact(table=table, key=artifact_key(key), description=description)


@contextlib.contextmanager
def fast_local_runs() -> Iterator[None]:
    """Turn the flow-run heartbeat off (about 1 s per flow otherwise, see the stack notes).

    For one-shot local runs (the demo, ``expedition watch --once``); a served deployment keeps the
    heartbeat so a server can detect crashed runs."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


@contextlib.contextmanager
def api_for_workers() -> Iterator[None]:
    """Make other processes (Dask workers) report to this process's Prefect API.

    With no ``PREFECT_API_URL`` Prefect runs a temporary local server whose address is in no
    setting, so each worker process would start a server of its own (about 10 s each, and their
    task runs would land there). This puts the address in the settings context, which prefect-dask
    sends with every task."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        url = str(client.api_url).rstrip("/")
    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield


def start_temporary_server() -> Callable[[], float]:
    """Start Prefect's temporary local server (the one the first flow run would start) on a
    background thread now, so its start-up (a subprocess: imports, database migrations, block
    registration; 10-20 s on a fresh Prefect home; then its first answer, the API version check)
    overlaps with the caller's own preparation.
    Returns a function that waits until the server answers and returns its start-up time in
    seconds (0.0 when a Prefect API is configured: nothing to start). Call it before the first
    flow: a flow run started earlier would not wait for the server to answer."""
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        return lambda: 0.0
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()  # Prefect's singleton: the flows' clients find it running
    outcome: list[BaseException | float] = []

    def start() -> None:
        from prefect.client.orchestration import get_client

        t0 = time.perf_counter()
        try:
            server.start()
            # Prefect's API version check, once per process (cached), which the first flow run
            # would make: the server's first request costs it 1-2 s more than the next ones.
            with get_client(sync_client=True) as client:
                client.raise_for_api_version_mismatch_once()
            outcome.append(time.perf_counter() - t0)
        except BaseException as exc:  # handed to the waiting thread
            outcome.append(exc)

    thread = threading.Thread(target=start, name="prefect-temporary-server", daemon=True)
    thread.start()

    def wait() -> float:
        thread.join()
        result = outcome[0]
        if isinstance(result, BaseException):
            raise FlowFailed(f"Prefect's temporary local server did not start: {result}") from result
        return result

    return wait
