"""The pool of query worker processes of the partner service (see :mod:`expedition.delivery.api.worker`).

Usage::

    pool = QueryPool(size=2, limits=WorkerLimits(...)).start()   # workers ready before serving
    answer = pool.run(view, job, wait_s=5)                        # an Answer, never an exception
    pool.close()

Workers are started ahead of time (``forkserver``: a clean single-threaded process forks them, with
DuckDB and pyarrow already imported, so a replacement is ready in well under a second) and reused:
a request pays one pipe round trip, not a process start. A request takes an idle worker (waiting
at most ``wait_s``; then :class:`PoolBusy`), sends its job and waits until the job's deadline
(``timeout_s`` + twice the watchdog grace + 1 s). Past the deadline the worker is killed (SIGKILL)
and replaced in the background; a worker that dies by itself (the kernel's ``RLIMIT_CPU``
backstop, its own watchdog, a crash) is replaced too. The first job of a partner view on a worker
makes the worker ask for the view's tables, which are sent once (Arrow IPC) and kept there.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from expedition.delivery.api.scopes import PartnerView
from expedition.delivery.api.worker import Answer, Job, WorkerLimits
from expedition.errors import ExpeditionError
from warehouse.limits import EXIT_DEADLINE

log = logging.getLogger(__name__)

_PRELOAD = ["duckdb", "pyarrow", "pyarrow.ipc", "expedition.delivery.api.worker", "expedition.delivery.api.scopes",
            "expedition.delivery.api.formats", "warehouse.query"]


#: Seconds a worker may take to load a partner's tables into its own database.
LOAD_DEADLINE_S = 120.0


class PoolBusy(ExpeditionError):
    """No query worker became free in time (the service is at capacity): retry later."""


class PoolError(ExpeditionError):
    """The query workers could not be started."""


@dataclass
class _Worker:
    proc: Any  # multiprocessing.Process of the forkserver context
    conn: Connection


class _Timeout(Exception):
    pass


class _Died(Exception):
    pass


class QueryPool:
    """``size`` pre-started query workers bounded by ``limits``; thread-safe."""

    def __init__(self, size: int, limits: WorkerLimits, start_timeout_s: float = 60.0) -> None:
        if size < 1:
            raise ValueError("a query pool needs at least one worker")
        self.size = size
        self.limits = limits
        self.start_timeout_s = start_timeout_s
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(_PRELOAD)
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[int] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.killed = 0
        self.died = 0
        self.started = 0

    # -- life cycle ----------------------------------------------------------------------------------
    def start(self) -> QueryPool:
        """Start every worker and wait until each is ready."""
        for _ in range(self.size):
            self._idle.put(self._spawn())
        return self

    def _spawn(self) -> _Worker:
        from expedition.delivery.api.worker import main

        parent, child = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=main, args=(child, self.limits), name="qe-query-worker", daemon=True)
        proc.start()
        child.close()
        if not parent.poll(self.start_timeout_s):
            proc.kill()
            raise PoolError(f"a query worker did not start within {self.start_timeout_s:g} s")
        try:
            msg = parent.recv()
        except (EOFError, OSError) as exc:
            raise PoolError(f"a query worker exited at start (exit code {proc.exitcode})") from exc
        if msg[0] != "ready":
            raise PoolError(f"a query worker said {msg!r} at start")
        with self._lock:
            self._all.add(proc.pid or 0)
            self.started += 1
        return _Worker(proc, parent)

    def _replace_later(self) -> None:
        def replace() -> None:
            for attempt in range(5):
                if self._closed:
                    return
                try:
                    self._idle.put(self._spawn())
                    return
                except PoolError:
                    log.exception("starting a replacement query worker failed (attempt %d)", attempt + 1)
                    time.sleep(1.0)

        threading.Thread(target=replace, name="qe-pool-replace", daemon=True).start()

    def _discard(self, w: _Worker, kill: bool) -> int | None:
        if kill and w.proc.is_alive():
            try:
                os.kill(w.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        w.proc.join(timeout=5)
        w.conn.close()
        with self._lock:
            self._all.discard(w.proc.pid)
        code: int | None = w.proc.exitcode
        self._replace_later()
        return code

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (tests, the soak benchmark)."""
        with self._lock:
            return sorted(self._all)

    def close(self) -> None:
        """Stop every worker (idle ones politely, the rest are daemons of this process)."""
        self._closed = True
        while True:
            try:
                w = self._idle.get_nowait()
            except queue.Empty:
                break
            try:
                w.conn.send(("stop",))
            except OSError:
                pass
            w.proc.join(timeout=5)
            if w.proc.is_alive():
                w.proc.kill()
            w.conn.close()

    # -- running -------------------------------------------------------------------------------------
    def run(self, view: PartnerView, job: Job, wait_s: float) -> Answer:
        """Run ``job`` on a worker; the answer, or an Answer with the status of the limit it passed."""
        try:
            w = self._idle.get(timeout=wait_s)
        except queue.Empty:
            raise PoolBusy(f"every query worker is busy; retry in a few seconds (waited {wait_s:g} s)") from None
        deadline = time.monotonic() + job.timeout_s + 2 * self.limits.grace_s + 1.0
        try:
            answer = self._exchange(w, view, job, deadline)
        except _Timeout:
            self.killed += 1
            self._discard(w, kill=True)
            log.warning("query worker killed at the %.3g s deadline (view %d)", job.timeout_s, job.view_id)
            return Answer(422, "timeout", f"query cancelled after the {job.timeout_s:g} s time limit "
                                          "(its worker process was ended)")
        except _Died:
            self.died += 1
            code = self._discard(w, kill=True)
            log.warning("query worker died with exit code %s (view %d)", code, job.view_id)
            return _death_answer(code, job)
        except BaseException:
            self._discard(w, kill=True)
            raise
        if answer.retire:  # the worker ends itself after this answer: a fresh one replaces it
            self._discard(w, kill=False)
        else:
            self._idle.put(w)
        return answer

    def _exchange(self, w: _Worker, view: PartnerView, job: Job, deadline: float) -> Answer:
        _send(w, ("run", job))
        while True:
            msg = _recv(w, deadline)
            if msg[0] == "answer":
                answer: Answer = msg[1]
                return answer
            if msg[0] == "missing":
                # Loading a partner's tables is the service's own work, not the query's: its own deadline.
                _send(w, ("load", view.view_id, view.ipc_tables()))
                if _recv(w, time.monotonic() + LOAD_DEADLINE_S)[0] != "loaded":
                    raise _Died()
                deadline = time.monotonic() + job.timeout_s + 2 * self.limits.grace_s + 1.0
                _send(w, ("run", job))
                continue
            raise _Died()


def _send(w: _Worker, msg: tuple[Any, ...]) -> None:
    try:
        w.conn.send(msg)
    except (OSError, ValueError) as exc:
        raise _Died() from exc


def _recv(w: _Worker, deadline: float) -> tuple[Any, ...]:
    try:
        if not w.conn.poll(max(0.0, deadline - time.monotonic())):
            raise _Timeout()
        msg: tuple[Any, ...] = w.conn.recv()
    except (EOFError, OSError) as exc:
        raise _Died() from exc
    return msg


def _death_answer(code: int | None, job: Job) -> Answer:
    if code in (EXIT_DEADLINE, -signal.SIGXCPU):
        return Answer(422, "timeout", f"query cancelled after the {job.timeout_s:g} s time limit "
                                      "(its worker process ended at its time or CPU limit)")
    if code == -signal.SIGKILL:
        return Answer(413, "too_large", "the query needed more memory than a partner may use "
                                        "(its worker process was ended)")
    return Answer(400, "failed", f"the query ended its worker process (exit code {code}); it was not retried")
