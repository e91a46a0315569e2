"""A query worker process of the partner service: partner SQL runs here, never in the service.

The service (:mod:`expedition.delivery.api.pool`) starts these processes ahead of time. Each one:

* bounds itself with :func:`warehouse.limits.limit_memory` (``RLIMIT_DATA``/``RLIMIT_AS``) before
  it runs anything, and before each query sets an ``RLIMIT_CPU`` backstop;
* holds the locked-down in-memory partner databases it was sent (copies of the partner's scoped
  tables, :func:`expedition.delivery.api.scopes.open_partner_database`); it never sees the lake, the token
  registry or another partner's rows unless it was sent that partner's view;
* runs one query at a time (:func:`warehouse.query.run_query`: parser check, row limit, interrupt at
  the time limit) and encodes the answer itself (:func:`expedition.delivery.api.formats.encode`), refusing an
  answer larger than the byte cap, so neither a huge result nor a huge encoding reaches the service.

The service kills a worker that passes its wall-clock deadline (SIGKILL) and starts another. The
protocol is pickled tuples over a pipe: see :class:`Job` and :class:`Answer`.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import duckdb

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerLimits:
    """What bounds every worker (from ``[api]``: ``worker_memory``, ``timeout_s``...)."""

    memory_bytes: int
    duckdb_memory_limit: str
    threads: int
    cpu_s: float
    grace_s: float
    max_answer_bytes: int
    views_kept: int = 8


@dataclass(frozen=True)
class Job:
    """One query for a worker, on the partner view ``view_id``."""

    view_id: int
    sql: str
    params: dict[str, Any] | None
    fmt: str
    row_limit: int
    timeout_s: float
    meta: dict[str, Any]
    explain: str | None = None


@dataclass(frozen=True)
class Answer:
    """A worker's answer: the encoded body, or an HTTP status and message."""

    status: int
    outcome: str  # ok | truncated | refused | failed | timeout | too_large
    detail: str | None = None
    body: bytes = b""
    rows: int | None = None
    truncated: bool = False
    retire: bool = False  # the worker ends after this answer (it ran out of memory: start afresh)


class _Views:
    """The partner databases this worker holds, least recently used first out."""

    def __init__(self, keep: int, memory_limit: str, threads: int) -> None:
        self.keep = keep
        self.memory_limit = memory_limit
        self.threads = threads
        self._dbs: OrderedDict[int, tuple[duckdb.DuckDBPyConnection, list[str]]] = OrderedDict()

    def get(self, view_id: int) -> tuple[duckdb.DuckDBPyConnection, list[str]] | None:
        hit = self._dbs.get(view_id)
        if hit is not None:
            self._dbs.move_to_end(view_id)
        return hit

    def load(self, view_id: int, tables: dict[str, bytes]) -> None:
        from expedition.delivery.api.scopes import open_partner_database, tables_from_ipc

        con, names = open_partner_database(tables_from_ipc(tables), self.memory_limit, threads=self.threads)
        self._dbs[view_id] = (con, names)
        while len(self._dbs) > self.keep:
            _vid, (old, _names) = self._dbs.popitem(last=False)
            old.close()


def run_job(views: _Views, job: Job, limits: WorkerLimits) -> Answer | None:
    """Run ``job``; ``None`` when this worker does not hold its view (the service then sends it)."""
    from expedition.delivery.api.formats import FormatError, encode
    from expedition.delivery.api.outcomes import classify
    from warehouse.errors import WarehouseError
    from warehouse.limits import limit_cpu_from_now
    from warehouse.query import run_query

    held = views.get(job.view_id)
    if held is None:
        return None
    con, relations = held
    limit_cpu_from_now(limits.cpu_s + 2 * limits.grace_s)  # the kernel's backstop behind the watchdog
    try:
        res = run_query(con, job.sql, job.params, row_limit=job.row_limit, timeout_s=job.timeout_s,
                        explain=job.explain,  # type: ignore[arg-type]  # checked by run_query
                        cpu_s=limits.cpu_s, grace_s=limits.grace_s)
    except WarehouseError as exc:
        out = classify(exc, relations)
        # After an allocation failed at the process limit, memory stays fragmented or cached in this
        # process and later, small queries fail too (seen in the soak): such a worker retires.
        return Answer(out.status, out.outcome, out.detail, retire=out.outcome == "too_large")
    meta = {**job.meta, "row_count": res.table.num_rows, "truncated": res.truncated, "row_limit": job.row_limit}
    try:
        body = encode(res.table, job.fmt, meta, max_bytes=limits.max_answer_bytes)
    except FormatError as exc:
        return Answer(exc.status, "too_large" if exc.status == 413 else "failed", str(exc))
    except MemoryError:
        return Answer(413, "too_large", "the answer needs more memory to encode than a partner may use; "
                                        "ask for fewer rows or columns", retire=True)
    return Answer(200, "truncated" if res.truncated else "ok", None, body, res.table.num_rows, res.truncated)


def main(conn: Connection, limits: WorkerLimits) -> None:
    """The worker's loop: bound this process, say ready, then serve jobs until the pipe closes."""
    from warehouse.limits import limit_memory

    logging.basicConfig(level=logging.WARNING)
    limit_memory(limits.memory_bytes)
    views = _Views(limits.views_kept, limits.duckdb_memory_limit, limits.threads)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        kind = msg[0]
        try:
            if kind == "load":
                views.load(msg[1], msg[2])
                conn.send(("loaded", msg[1]))
            elif kind == "run":
                answer = run_job(views, msg[1], limits)
                conn.send(("missing", msg[1].view_id) if answer is None else ("answer", answer))
                if answer is not None and answer.retire:
                    return
            elif kind == "stop":
                return
        except (MemoryError, duckdb.OutOfMemoryException) as exc:
            first = str(exc).splitlines()[0] if str(exc) else "out of memory"
            conn.send(("answer", Answer(413, "too_large", f"the query needs more memory than a partner may use: "
                                                          f"{first}", retire=True)))
            return
        except Exception as exc:  # an unforeseen failure answers, then this worker retires (a fresh one starts)
            log.exception("query worker: %s failed", kind)
            first = str(exc).splitlines()[0] if str(exc) else ""
            memory = "out of memory" in first.lower()
            conn.send(("answer", Answer(413 if memory else 400, "too_large" if memory else "failed",
                                        f"the query failed: {first}" if not memory else
                                        f"the query needs more memory than a partner may use: {first}",
                                        retire=True)))
            return
