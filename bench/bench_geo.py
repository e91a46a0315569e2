"""Country assignment speed: ``CountryIndex.country_of`` vs a per-point shapely loop (Natural Earth 1:10m).

Same random points for both (uniform in longitude, latitude -60..75, seed 42). The baseline is the
obvious code: for each point, loop over the countries and test ``shapely.contains(geom, Point)``
(on the same prepared polygons), stopping at the first hit. It is timed on a few thousand points,
ours on 200,000; the ratio compares per-point rates. Growth: ours on 10k / 100k / 1M points.
"""

from __future__ import annotations

import time

import numpy as np
import shapely

from bench.common import BenchResult, best_of
from expedition.science.geo.countries import CountryIndex, load_countries

TARGET_POINTS_PER_S = 200_000


def _points(n: int, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-60.0, 75.0, n), rng.uniform(-180.0, 180.0, n)


def _baseline(index: CountryIndex, lat: np.ndarray, lon: np.ndarray) -> list[str]:
    out = []
    for la, lo in zip(lat.tolist(), lon.tolist()):
        p = shapely.Point(lo, la)
        code = ""
        for geom, iso in zip(index.geometries, index.feature_iso3):
            if shapely.contains(geom, p):
                code = str(iso)
                break
        out.append(code)
    return out


def run(quick: bool = False) -> list[BenchResult]:
    t0 = time.perf_counter()
    index = load_countries()
    load_s = time.perf_counter() - t0
    n_ours = 50_000 if quick else 200_000
    n_base = 500 if quick else 3_000
    lat, lon = _points(n_ours)
    ours_s, codes = best_of(lambda: index.country_of(lat, lon), repeat=3)
    base_s, base_codes = best_of(lambda: _baseline(index, lat[:n_base], lon[:n_base]), repeat=1)
    agree = float(np.mean(np.asarray(base_codes) == codes[:n_base]))
    ours_rate = n_ours / ours_s
    base_rate = n_base / base_s
    results = [
        BenchResult(
            what=f"country_of, Natural Earth 1:10m, {n_ours:,} random points",
            baseline=f"per-point shapely.contains loop ({n_base:,} pts)",
            ours_s=ours_s,
            baseline_s=base_s,
            ratio=ours_rate / base_rate,
            target=f">= {TARGET_POINTS_PER_S:,} points/s",
            passed=ours_rate >= TARGET_POINTS_PER_S and agree == 1.0,
            ratio_kind="speed-up (per-point rate ours / baseline)",
            details={
                "ours_points_per_s": round(ours_rate),
                "baseline_points_per_s": round(base_rate, 1),
                "agreement_on_baseline_points": agree,
                "load_countries_s": round(load_s, 3),
            },
        )
    ]
    sizes = (10_000, 100_000) if quick else (10_000, 100_000, 1_000_000)
    growth = {}
    for n in sizes:
        g_lat, g_lon = _points(n, seed=7)
        s, _ = best_of(lambda g_lat=g_lat, g_lon=g_lon: index.country_of(g_lat, g_lon), repeat=2)
        growth[n] = s
    small, large = sizes[0], sizes[-1]
    per_point_ratio = (growth[large] / large) / (growth[small] / small)
    results.append(
        BenchResult(
            what=f"country_of growth {small:,} -> {large:,} points",
            baseline=f"same code at {small:,} points",
            ours_s=growth[large],
            baseline_s=growth[small],
            ratio=per_point_ratio,
            target="per-point time ratio <= 1.5 (linear)",
            passed=per_point_ratio <= 1.5 and large / growth[large] >= TARGET_POINTS_PER_S,
            ratio_kind="per-point time at large n / at small n",
            details={f"{n}_points_s": round(s, 4) for n, s in growth.items()}
            | {f"{n}_points_per_s": round(n / s) for n, s in growth.items()},
        )
    )
    return results
