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

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING

from expedition.settings import Settings, SettingsError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["MEMORY_POOLS", "configure_process", "select_memory_pool"]

log = logging.getLogger(__name__)

MEMORY_POOLS = ("auto", "jemalloc", "mimalloc", "system", "arrow-default")
JEMALLOC_DECAY_MS = 10_000


def _pool(name: str) -> pa.MemoryPool | None:
    import pyarrow as pa

    factory = {"jemalloc": pa.jemalloc_memory_pool, "mimalloc": pa.mimalloc_memory_pool,
               "system": pa.system_memory_pool}[name]
    try:
        return factory()
    except NotImplementedError:  # this pyarrow build lacks that allocator
        return None


def select_memory_pool(name: str) -> str:
    """Make ``name`` (see the module docstring) Arrow's default pool; returns the backend in use."""
    import pyarrow as pa

    _check_name(name)
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


def _check_name(name: str) -> None:
    if name not in MEMORY_POOLS:
        raise SettingsError(f"arrow_memory_pool must be one of {', '.join(MEMORY_POOLS)}, got {name!r}")


class _WhenImported(importlib.abc.MetaPathFinder):
    """Runs ``action`` right after the module ``name`` is first imported (a one-shot import hook)."""

    def __init__(self, name: str, action: Callable[[], None]) -> None:
        self.name = name
        self.action = action

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        """The module's own spec, its loader made to run :attr:`action` once the module has loaded."""
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # one shot: the next finder along finds the real module
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        run_module = spec.loader.exec_module
        action = self.action

        def exec_module(module: ModuleType) -> None:
            run_module(module)
            action()

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def configure_process(settings: Settings) -> None:
    """Apply the process-wide settings (idempotent; cheap enough to call per command).

    When pyarrow is not imported yet, the memory pool is chosen the moment it is: a command that
    never needs Arrow (``expedition query`` printing a count) does not pay for loading it."""
    name = settings.arrow_memory_pool
    _check_name(name)
    if "pyarrow" in sys.modules:
        log.debug("Arrow memory pool: %s", select_memory_pool(name))
        return

    def choose() -> None:
        log.debug("Arrow memory pool (chosen as pyarrow loaded): %s", select_memory_pool(name))

    for finder in sys.meta_path:
        if isinstance(finder, _WhenImported) and finder.name == "pyarrow":
            finder.action = choose  # called again before pyarrow loaded: the latest settings win
            return
    sys.meta_path.insert(0, _WhenImported("pyarrow", choose))
