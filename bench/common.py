"""Shared pieces of the benchmarks: a result record, timing, and where real data lives.

Every benchmark module ``bench/bench_*.py`` defines ``run(quick: bool) -> list[BenchResult]``.
Each result compares our code with a named baseline *on the same data in the same process run*
and reports the ratio (``higher_is_better`` says which way the target points).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# QE_SHARED_DATA: the shared data from a worktree that is not beside it (e.g. /work/shared/data)
SHARED_DATA = Path(os.environ.get("QE_SHARED_DATA") or ROOT.parent / "shared" / "data")
WORK = ROOT / "bench" / ".work"


@dataclass
class BenchResult:
    what: str
    baseline: str
    ours_s: float
    baseline_s: float
    ratio: float  # how the target is expressed (e.g. speed-up, or time ratio)
    target: str
    passed: bool | None  # None: reported for information, no target at this size
    ratio_kind: str = "speed-up (baseline time / our time)"
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def best_of(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Minimum wall time of ``repeat`` calls, and the last result."""
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def cpu_time(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, float, Any]:
    """(best CPU seconds, best wall seconds, result). Both sides of these comparisons run on one
    thread, so CPU time compares them fairly even when the shared machine is heavily loaded."""
    best_cpu = best_wall = float("inf")
    out = None
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    return best_cpu, best_wall, out


def writer_round_trip(what: str, baseline: str, table: Any, ours: Callable[[], Any], base: Callable[[], Any],
                      read_back: Callable[[Any], Any], columns: tuple[str, ...], repeat: int = 3) -> BenchResult:
    """A writer against ObsPy's writer of the same events (CPU time, best of ``repeat`` for ours, one
    baseline run), target >= 10x; what we wrote must read back with ``columns`` unchanged."""
    ours_s, _, data = cpu_time(ours, repeat=repeat)
    base_s, _, _ = cpu_time(base)
    back = read_back(data)
    for name in columns:
        assert back.column(name).equals(table.column(name)), f"{what}: round trip changed {name}"
    speedup = base_s / ours_s
    return BenchResult(
        what=what, baseline=baseline, ours_s=ours_s, baseline_s=base_s, ratio=speedup,
        target=">= 10x, reads back identical", passed=speedup >= 10,
        ratio_kind="speed-up (baseline CPU time / our CPU time)",
        details={"ours_rows_per_cpu_s": round(table.num_rows / ours_s), "mb": round(len(data) / 1e6, 1)},
    )


def shared(path: str) -> Path | None:
    p = SHARED_DATA / path
    return p if p.exists() else None
