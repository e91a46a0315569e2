"""Shared pieces of the benchmarks: a result record, timing, and where real data lives.

Every benchmark module ``bench/bench_*.py`` defines ``run(quick: bool) -> list[BenchResult]``.
Each result compares our code with a named baseline *on the same data in the same process run*
and reports the ratio (``higher_is_better`` says which way the target points).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
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


def shared(path: str) -> Path | None:
    p = SHARED_DATA / path
    return p if p.exists() else None
