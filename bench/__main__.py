"""Run every benchmark in bench/: one table (what, baseline, ratio, target, pass/fail) and bench/results.json.

Usage: python -m bench [--quick] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import platform
import sys
import time
from pathlib import Path

from bench.common import ROOT, BenchResult


def discover() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(ROOT / "bench")]) if m.name.startswith("bench_"))


def _verdict(passed: bool | None) -> str:
    return "info" if passed is None else ("PASS" if passed else "FAIL")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (for smoke runs)")
    ap.add_argument("--only", nargs="*", default=None, help="module names, e.g. bench_quakeml")
    args = ap.parse_args(argv)
    # the process set-up every application applies (Arrow's memory pool; QE_ARROW_MEMORY_POOL):
    # baselines and our code run under the same pool, in the same process
    from expedition.process import select_memory_pool

    pool = select_memory_pool(os.environ.get("QE_ARROW_MEMORY_POOL") or "auto")
    results: list[BenchResult] = []
    failures: list[str] = []
    for name in discover():
        if args.only and name not in args.only:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            mod = importlib.import_module(f"bench.{name}")
            results.extend(mod.run(quick=args.quick))
        except Exception as exc:  # a broken benchmark is reported, the others still run
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
        print(f"  done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    header = f"{'what':<58} {'baseline':<38} {'ratio':>9} {'target':<22} result"
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r.what[:58]:<58} {r.baseline[:38]:<38} {r.ratio:>9.2f} {r.target[:22]:<22} {_verdict(r.passed)}")
    for f in failures:
        print(f"ERROR {f}")
    out = {
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
                    "arrow_memory_pool": pool},
        "quick": args.quick,
        "results": [r.as_dict() for r in results],
        "errors": failures,
    }
    path = Path(ROOT / "bench" / "results.json")
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=2, default=str))
    tmp.replace(path)
    print(f"\nwrote {path}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
