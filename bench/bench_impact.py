"""Speed of the impact chain: one event on its MMI >= IV grid, and the whole 4,118-event ComCat file.

Ours: :func:`expedition.decisions.response.assess.assess` with the ShakeMap-style chain (grid, places+rural
population, PAGER rules; epicentre countries looked up once for the batch with ``locate_many``;
events with no populated place inside their intensity IV area skip the grid). Baseline: today's
chain on main in the same process (Allen et al. 2012 at GeoNames places with a Wells & Coppersmith
line, and main's PAGER step loaded with ``git show``). Targets: one event < 2 s; the file < 60 s.

``python -m bench.bench_impact --ref main`` also times the same 4,118-event loop of another git ref's
chain (exported with ``git archive``, run in a subprocess right after ours, same data and machine).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.calibrate import baseline_pager_module
from bench.common import ROOT, SHARED_DATA, BenchResult
from expedition.decisions.response.assess import Context, assess, load_context, locate_many
from expedition.decisions.response.events import EventRow
from expedition.science.hazard.exposure import estimate_shaking
from expedition.science.hazard.pager import pager_estimate
from expedition.science.hazard.rupture import default_rupture
from expedition.settings import load_settings

COMCAT = "catalogs/usgs_csv/comcat_export_2022-2024_m5plus.csv"
GORKHA = EventRow(
    "us20002926",
    1,
    dt.datetime(2015, 4, 25, 6, 11, 25, tzinfo=dt.UTC),
    28.23,
    84.73,
    8.2,
    7.8,
    "Mww",
    "earthquake",
    "Nepal",
)


def _events(path: Path) -> list[EventRow]:
    with path.open(encoding="utf-8-sig") as fh:
        return [
            EventRow(
                r["id"],
                1,
                dt.datetime.fromisoformat(r["time"].replace("Z", "+00:00")),
                float(r["latitude"]),
                float(r["longitude"]),
                float(r["depth"]),
                float(r["mag"]),
                r["magType"],
                "earthquake",
                r["place"],
            )
            for r in csv.DictReader(fh)
        ]


def _baseline(ctx: Context, events: list[EventRow]) -> float:
    base = baseline_pager_module()
    n = 0.0
    for ev in events:
        assert ev.magnitude is not None
        depth = max(ev.depth_km or 0.0, 0.0)
        rup = default_rupture(ev.magnitude, ev.latitude_deg, ev.longitude_deg, depth)
        est = estimate_shaking(ev.magnitude, ev.latitude_deg, ev.longitude_deg, depth, rup, ctx.places, ctx.countries)
        n += (base.pager_estimate(est) if base is not None else pager_estimate(est)).expected_fatalities
    return n


def _ours(ctx: Context, events: list[EventRow]) -> float:
    locs = locate_many(ctx, events, [0.0] * len(events))
    return sum(
        a.pager.expected_fatalities for ev, loc in zip(events, locs) if (a := assess(ctx, ev, location=loc)).pager
    )


def run(quick: bool = False, *, gcmt: bool = False) -> list[BenchResult]:
    """One event and the ComCat file, ours vs today's chain in the same run; ``gcmt`` turns on the
    GCMT moment-tensor orientation (``Context.gcmt_mechanisms``, an option) for ours."""
    with tempfile.TemporaryDirectory(prefix="qe-bench-impact-") as home:
        ctx = load_context(load_settings(home=Path(home)))
    ctx.gcmt_mechanisms = gcmt or ctx.gcmt_mechanisms
    _ours(ctx, [GORKHA])  # warm caches (places KD-tree, reference data) for both sides
    _baseline(ctx, [GORKHA])
    out = []
    t0 = time.perf_counter()
    a = assess(ctx, GORKHA)
    one = time.perf_counter() - t0
    t0 = time.perf_counter()
    _baseline(ctx, [GORKHA])
    one_base = time.perf_counter() - t0
    grid = a.shaking.grid
    out.append(
        BenchResult(
            "impact: Gorkha M7.8 assessed on its MMI>=IV grid" + (" (GCMT orientation on)" if ctx.gcmt_mechanisms else ""),
            "today's place-based chain (Allen 2012, previous PAGER)",
            one,
            one_base,
            one_base / one,
            "ours < 2 s",
            one < 2.0,
            details={"grid": f"{grid.lons.size}x{grid.lats.size}" if grid is not None else "none"},
        )
    )
    path = SHARED_DATA / COMCAT
    if not path.is_file():
        return out
    events = _events(path)
    if quick:
        events = events[:500]
    t0 = time.perf_counter()
    _ours(ctx, events)
    ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    _baseline(ctx, events)
    base = time.perf_counter() - t0
    out.append(
        BenchResult(
            f"impact: {len(events)} ComCat 2022-2024 M5+ events assessed"
            + (" (GCMT orientation on)" if ctx.gcmt_mechanisms else ""),
            "today's place-based chain (Allen 2012, previous PAGER)",
            ours,
            base,
            base / ours,
            "ours < 60 s for the 4,118 events",
            (ours < 60.0) if not quick else None,
        )
    )
    return out


_REF_LOOP = """
import tempfile, time
from pathlib import Path
from bench.bench_impact import COMCAT, GORKHA, _events, _ours
from bench.common import SHARED_DATA
from expedition.decisions.response.assess import load_context
from expedition.settings import load_settings
with tempfile.TemporaryDirectory() as home:
    ctx = load_context(load_settings(home=Path(home)))
_ours(ctx, [GORKHA])
events = _events(SHARED_DATA / COMCAT)
t0 = time.perf_counter()
_ours(ctx, events)
print(time.perf_counter() - t0)
"""


def ref_seconds(ref: str) -> float:
    """Seconds the chain at git ``ref`` takes for the 4,118-event loop (its own ``_ours``, in an export)."""
    with tempfile.TemporaryDirectory(prefix="qe-bench-impact-ref-") as tmp:
        archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True, capture_output=True)
        env = {**os.environ, "PYTHONPATH": tmp, "QE_SHARED_DATA": str(SHARED_DATA)}
        res = subprocess.run(
            [sys.executable, "-c", _REF_LOOP], cwd=tmp, env=env, check=True, capture_output=True, text=True, timeout=1800
        )
    return float(res.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default=None, help="also time the 4,118-event loop of this git ref's chain")
    ap.add_argument("--gcmt", action="store_true", help="ours with the GCMT moment-tensor orientation on")
    args = ap.parse_args()
    for r in run(gcmt=args.gcmt):
        print(
            f"{r.what}: ours {r.ours_s:.2f} s, baseline {r.baseline_s:.2f} s, ratio {r.ratio:.2f} "
            f"({r.target}: {r.passed}) {r.details}"
        )
    if args.ref:
        print(f"impact: 4118 events, chain at git {args.ref}: {ref_seconds(args.ref):.2f} s")
