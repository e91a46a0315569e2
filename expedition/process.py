"""Process-wide set-up that applications (the CLI, the flows, the API server, the benchmarks) apply
once, after loading their settings. Libraries never call this: importing Quake Expedition changes
nothing in the process.

The one knob today is Arrow's memory pool (``arrow_memory_pool`` / ``QE_ARROW_MEMORY_POOL``):

* ``auto`` (default): Arrow's own ``ARROW_DEFAULT_MEMORY_POOL`` when the user set it, else
  jemalloc when this pyarrow build has it, else the system allocator;
* ``jemalloc``, ``mimalloc``, ``system``: that pool;
* ``arrow-default``: leave Arrow's choice alone.

Why: pyarrow's default pool on Linux is mimalloc, which returns freed pages to the kernel eagerly.
Survey validation allocates and frees many column-sized buffers; on the 2-core reference machine
(a sandboxed kernel where page faults are expensive) validating 1,000,000 building rows took
1.6-5.2 s under mimalloc and 0.6-0.7 s under jemalloc (``bench/bench_survey.py`` measures the
whole ingest; docs/surveys.md has the figures).
"""

from __future__ import annotations

import logging
import os

import pyarrow as pa

from expedition.settings import Settings, SettingsError

__all__ = ["MEMORY_POOLS", "configure_process", "select_memory_pool"]

log = logging.getLogger(__name__)

MEMORY_POOLS = ("auto", "jemalloc", "mimalloc", "system", "arrow-default")
JEMALLOC_DECAY_MS = 10_000


def _pool(name: str) -> pa.MemoryPool | None:
    factory = {"jemalloc": pa.jemalloc_memory_pool, "mimalloc": pa.mimalloc_memory_pool,
               "system": pa.system_memory_pool}[name]
    try:
        return factory()
    except NotImplementedError:  # this pyarrow build lacks that allocator
        return None


def select_memory_pool(name: str) -> str:
    """Make ``name`` (see the module docstring) Arrow's default pool; returns the backend in use."""
    if name not in MEMORY_POOLS:
        raise SettingsError(f"arrow_memory_pool must be one of {', '.join(MEMORY_POOLS)}, got {name!r}")
    if name == "arrow-default" or (name == "auto" and os.environ.get("ARROW_DEFAULT_MEMORY_POOL")):
        return str(pa.default_memory_pool().backend_name)
    for candidate in (("jemalloc", "system") if name == "auto" else (name,)):
        pool = _pool(candidate)
        if pool is not None:
            if candidate == "jemalloc":
                # Arrow's build returns freed pages to the kernel at once (decay 0); jemalloc's own
                # default keeps them for 10 s, so the next column-sized buffer reuses them.
                pa.jemalloc_set_decay_ms(JEMALLOC_DECAY_MS)
            pa.set_memory_pool(pool)
            return str(pool.backend_name)
    raise SettingsError(f"arrow_memory_pool {name!r}: this pyarrow build has no {name} allocator")


def configure_process(settings: Settings) -> None:
    """Apply the process-wide settings (idempotent; cheap enough to call per command)."""
    backend = select_memory_pool(settings.arrow_memory_pool)
    log.debug("Arrow memory pool: %s", backend)
