"""Operating-system bounds for a process that runs queries: memory, CPU time and wall clock.

DuckDB's own ``memory_limit`` and ``con.interrupt()`` do not hold for everything: some allocations
bypass the buffer manager (``SELECT len(range(40000000))`` grew a process by 4.4 GB) and slow
per-row functions do not look at the interrupt flag for a long time (66 s against a 30 s limit).
These bounds hold whatever DuckDB does:

* :func:`limit_memory` sets ``RLIMIT_DATA`` (private writable memory: heap, anonymous mmaps,
  thread stacks) and ``RLIMIT_AS`` (address space, a backstop set higher because jemalloc and
  thread stacks reserve address space they never touch). Measured with duckdb 1.5.5 on Linux:
  both limits make the over-large allocation fail inside DuckDB, which raises
  ``OutOfMemoryException`` and keeps the process usable; with a 768 MiB ``RLIMIT_DATA`` the peak
  RSS of the ``len(range(...))`` and ``list(range)`` attacks stayed under 400 MiB, without any
  limit it reached 4.4 GB. ``RLIMIT_AS`` alone counts ~520 MiB of untouched reservations of a
  fresh process (far more with the lake and the spatial extension attached: a 1 GB data limit
  with only 1 GiB of address-space slack made thread creation fail and the CLI abort), so it is a
  backstop ``ADDRESS_SPACE_SLACK`` (4 GiB) above the data limit, not the bound.
* :class:`Watchdog` watches one running query from a thread: past its wall-clock or CPU budget it
  interrupts the connection, and if the query still runs ``grace_s`` later it ends the whole
  process (``os._exit``): the process *is* the bounded unit (the CLI, or a service worker that the
  service replaces).
"""

from __future__ import annotations

import logging
import os
import resource
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType

log = logging.getLogger(__name__)

#: Exit status of a process ended by its watchdog (like timeout(1)).
EXIT_DEADLINE = 124
#: Address space beyond the data limit kept for reservations (thread stacks, allocator arenas).
ADDRESS_SPACE_SLACK = 4 << 30

_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40}


def parse_bytes(text: str | int) -> int:
    """``"512MB"``, ``"2GiB"``, ``"1000"`` or an int -> bytes (``ValueError`` otherwise)."""
    if isinstance(text, int):
        if text <= 0:
            raise ValueError(f"a size must be positive, got {text}")
        return text
    raw = text.strip().upper().replace(" ", "")
    num = raw.rstrip("KMGTIB")
    unit = raw[len(num):]
    if unit not in _UNITS or not num:
        raise ValueError(f"not a size: {text!r} (e.g. 512MB, 2GiB)")
    value = int(float(num) * _UNITS[unit])
    if value <= 0:
        raise ValueError(f"a size must be positive, got {text!r}")
    return value


def limit_memory(max_bytes: int) -> None:
    """Bound this process's private memory to ``max_bytes`` (soft limits; hard ones untouched)."""
    for which, value in ((resource.RLIMIT_DATA, max_bytes), (resource.RLIMIT_AS, max_bytes + ADDRESS_SPACE_SLACK)):
        _soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, hard))


def cpu_seconds() -> float:
    """CPU time (user + system, every thread) this process has used."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def limit_cpu_from_now(budget_s: float) -> None:
    """Backstop: the kernel ends this process (SIGXCPU) ``budget_s`` CPU seconds from now."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    target = int(cpu_seconds() + budget_s) + 1
    if hard != resource.RLIM_INFINITY:
        target = min(target, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (target, hard))


def peak_rss_bytes() -> int:
    """The highest resident set size this process reached."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(kb) * 1024


class Watchdog:
    """Bound one query by wall clock and CPU time, from a thread.

    Usage::

        with Watchdog(con.interrupt, wall_s=30, cpu_s=60) as dog:
            rows = con.execute(sql).fetchall()
        if dog.reason: ...   # "time" or "cpu" when it had to interrupt

    Past a budget it calls ``interrupt`` once; when the query is still running ``grace_s`` later it
    writes ``message`` to stderr and ends the process with :data:`EXIT_DEADLINE`.
    """

    def __init__(
        self,
        interrupt: Callable[[], None],
        wall_s: float,
        cpu_s: float | None = None,
        grace_s: float = 2.0,
        message: str = "query ended: it passed its time limit and did not stop when interrupted",
        poll_s: float = 0.05,
    ) -> None:
        self.interrupt = interrupt
        self.wall_s = wall_s
        self.cpu_s = cpu_s
        self.grace_s = grace_s
        self.message = message
        self.poll_s = poll_s
        self.reason: str | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="qe-query-watchdog", daemon=True)

    def _run(self) -> None:
        t0 = time.monotonic()
        cpu0 = cpu_seconds()
        interrupted_at: float | None = None
        while not self._done.wait(self.poll_s):
            now = time.monotonic()
            if interrupted_at is None:
                if now - t0 > self.wall_s:
                    self.reason = "time"
                elif self.cpu_s is not None and cpu_seconds() - cpu0 > self.cpu_s:
                    self.reason = "cpu"
                if self.reason is not None:
                    interrupted_at = now
                    self.interrupt()
            elif now - interrupted_at > self.grace_s:
                sys.stderr.write(f"error: {self.message}\n")
                sys.stderr.flush()
                os._exit(EXIT_DEADLINE)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._done.set()
        self._thread.join()
