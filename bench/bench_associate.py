"""Cross-agency association speed: ``catalogs.associate.associate`` vs two pure-Python baselines.

Data: multi-agency catalogs synthesised from the 4,118 real ComCat rows
(``../shared/data/catalogs/usgs_csv/comcat_export_2022-2024_m5plus.csv``): every quake is reported
by USGS (the real row), EMSC and ISC (the real row jittered inside the association windows: time
uniform within +-8 s, position N(0, 0.1 deg) per axis, magnitude uniform within +-0.3), with new
ids; the catalog is repeated, shifted by its span, until the size is reached (seed 11).
A size counts solution rows (3 per quake); everything is associated in one call, against an empty
lake (the hardest case: no alias resolves anything).

Baselines, measured in the same run on the same rows, with the same windows, the same libcomcat
score and the same one-id-per-provider rule:

* ``naive scan``: for each row (in time order), scan every event formed so far -- the obvious
  per-event loop; quadratic, so timed only where affordable;
* ``bisect scan``: the same loop, but the events are kept in time order and only those within
  16 s are scanned (``bisect``): a good pure-Python implementation, affordable at every size. It
  does less than ours (no alias resolution, no preferred-solution ranking, no event ids) and, being
  greedy in time order, splits more quakes in two (its event count is in the details).

Ratios are speed-ups at equal size (baseline time / our time).
"""

from __future__ import annotations

import bisect
import math
import sys
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bench.common import BenchResult, best_of, shared
from catalogs.associate import AssociationParams, associate
from catalogs.distance import EARTH_RADIUS_KM

COMCAT = "catalogs/usgs_csv/comcat_export_2022-2024_m5plus.csv"
AGENCIES = ("USGS", "EMSC", "ISC")
PARAMS = AssociationParams(priority={"USGS": 10, "EMSC": 20, "ISC": 40})
TARGET_300K_S = 10.0


def synthesise(base: pa.Table, n_rows: int, seed: int = 11) -> pa.Table:
    """``n_rows`` solution rows: ``n_rows // 3`` quakes from the real rows, three agencies each."""
    rng = np.random.default_rng(seed)
    quakes = n_rows // len(AGENCIES)
    t_real = pc.cast(base.column("origin_time_utc"), pa.int64()).to_numpy()
    span = int(t_real.max() - t_real.min()) + 86_400_000_000
    idx = np.arange(quakes) % base.num_rows
    rep = np.arange(quakes) // base.num_rows
    src = base.take(pa.array(idx))
    t = t_real[idx] + rep * span
    lat, lon = src.column("origin_latitude_deg").to_numpy(), src.column("origin_longitude_deg").to_numpy()
    mag = src.column("magnitude_value").to_numpy(zero_copy_only=False)
    ids = src.column("provider_event_id").to_pylist()
    parts = []
    for k, agency in enumerate(AGENCIES):
        jit = k > 0
        t_k = t + (rng.integers(-8_000_000, 8_000_001, quakes) if jit else 0)
        lat_k = np.clip(lat + (rng.normal(0, 0.1, quakes) if jit else 0), -90, 90)
        lon_k = (lon + (rng.normal(0, 0.1, quakes) if jit else 0) + 180) % 360 - 180
        mag_k = mag + (rng.uniform(-0.3, 0.3, quakes) if jit else 0)
        part = src
        for name, values in (
            ("provider", pa.array([agency] * quakes)),
            ("provider_event_id", pa.array([f"{agency.lower()}{r}-{i}" for r, i in zip(rep.tolist(), ids)])),
            ("origin_time_utc", pa.array(t_k, pa.int64()).cast(pa.timestamp("us", tz="UTC"))),
            ("origin_latitude_deg", pa.array(lat_k)),
            ("origin_longitude_deg", pa.array(lon_k)),
            ("magnitude_value", pa.array(mag_k)),
        ):
            part = part.set_column(part.schema.get_field_index(name), name, values)
        parts.append(part)
    return pa.concat_tables(parts).slice(0, n_rows)


def _python_baseline(rows: pa.Table, use_bisect: bool) -> int:
    """Greedy per-row association in pure Python; returns the number of events formed."""
    dt_max, dd_max, dm_max = PARAMS.dt_s, PARAMS.distance_km, PARAMS.dmag
    t = (pc.cast(rows.column("origin_time_utc"), pa.int64()).to_numpy() / 1e6).tolist()
    lat = rows.column("origin_latitude_deg").to_pylist()
    lon = rows.column("origin_longitude_deg").to_pylist()
    mag = rows.column("magnitude_value").to_pylist()
    prov = rows.column("provider").to_pylist()
    order = sorted(range(len(t)), key=t.__getitem__)
    ev_t: list[float] = []
    ev: list[list[Any]] = []  # [time, lat, lon, mag, providers]
    for i in order:
        lo = bisect.bisect_left(ev_t, t[i] - dt_max) if use_bisect else 0
        cands = []
        for e in ev[lo:]:
            dt = abs(t[i] - e[0])
            if dt > dt_max or prov[i] in e[4]:
                continue
            p1, p2 = math.radians(lat[i]), math.radians(e[1])
            a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(e[2] - lon[i]) / 2) ** 2
            dd = 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))
            dm = abs(mag[i] - e[3]) if mag[i] is not None and e[3] is not None else 0.0
            if dd <= dd_max and dm <= dm_max + 1e-9:
                cands.append((dt, dd, dm, e))
        if cands:  # libcomcat score: each term normalised by its maximum among the candidates
            mx = [max(c[j] for c in cands) or 1.0 for j in range(3)]
            best = min(cands, key=lambda c: math.sqrt(sum((c[j] / mx[j]) ** 2 for j in range(3))))
            best[3][4].add(prov[i])
        else:
            ev.append([t[i], lat[i], lon[i], mag[i], {prov[i]}])
            ev_t.append(t[i])
    return len(ev)


def run(quick: bool = False) -> list[BenchResult]:
    src = shared(COMCAT)
    if src is None:
        print(f"bench_associate: {COMCAT} absent, skipped", file=sys.stderr)
        return []
    from catalogs.comcat_csv import parse_comcat_csv

    base = parse_comcat_csv(src)
    sizes = (10_000, 30_000) if quick else (10_000, 100_000, 300_000)
    naive_sizes = (5_000,) if quick else (10_000,)
    empty_events = pa.table({"event_id": pa.array([], pa.string()), "origin_time_utc": pa.array([], pa.timestamp("us", tz="UTC")),
                             "origin_latitude_deg": pa.array([], pa.float64()), "origin_longitude_deg": pa.array([], pa.float64()),
                             "magnitude_value": pa.array([], pa.float64())})
    empty_aliases = pa.table({"provider": pa.array([], pa.string()), "provider_event_id": pa.array([], pa.string()),
                              "event_id": pa.array([], pa.string())})

    def ours(rows: pa.Table) -> Any:
        return associate(rows, empty_events, empty_aliases, PARAMS)

    results: list[BenchResult] = []
    per_row: dict[int, float] = {}
    for n in sorted(set(sizes) | set(naive_sizes)):
        rows = synthesise(base, n)
        # the same number of runs for both sides (more when a run takes milliseconds)
        reps = 7 if n <= 10_000 else 3
        ours_s, res = best_of(lambda r=rows: ours(r), repeat=reps)
        per_row[n] = ours_s / n
        n_events = len(set(res.event_ids.to_pylist()))
        quakes = n // len(AGENCIES)
        bis_s, bis_events = best_of(lambda r=rows: _python_baseline(r, use_bisect=True), repeat=reps)
        details = {"rows": n, "quakes": quakes, "events_ours": n_events, "events_bisect_baseline": bis_events,
                   "candidate_pairs": res.candidate_pairs, "rows_per_s_ours": round(n / ours_s)}
        if n in naive_sizes:
            naive_s, naive_events = best_of(lambda r=rows: _python_baseline(r, use_bisect=False), repeat=1)
            results.append(BenchResult(
                what=f"associate {n:,} rows ({quakes:,} quakes x 3 agencies)",
                baseline="naive per-event Python scan, same size",
                ours_s=ours_s, baseline_s=naive_s, ratio=naive_s / ours_s, target=">= 20x",
                passed=naive_s / ours_s >= 20, details={**details, "events_naive_baseline": naive_events},
            ))
        if n in sizes:
            target = f"<= {TARGET_300K_S:.0f} s at 300k, >= 2x" if n == 300_000 else ">= 2x"
            ok = bis_s / ours_s >= 2 and (n != 300_000 or ours_s <= TARGET_300K_S)
            results.append(BenchResult(
                what=f"associate {n:,} rows ({quakes:,} quakes x 3 agencies)",
                baseline="bisect time-window Python loop, same size",
                ours_s=ours_s, baseline_s=bis_s, ratio=bis_s / ours_s, target=target, passed=ok,
                details={**details, "growth_time_per_row_vs_smallest": round(per_row[n] / per_row[min(per_row)], 2)},
            ))
        print(f"  associate {n:,}: ours {ours_s:.2f} s ({n_events:,} events for {quakes:,} quakes), "
              f"bisect baseline {bis_s:.2f} s ({bis_events:,} events)", file=sys.stderr)
    return results


if __name__ == "__main__":  # pragma: no cover
    for r in run(quick="--quick" in sys.argv):
        print(r)
