"""Cost growth with size, and the analytics views against pandas.

1. **Catalog ingest into the lake** (:func:`catalogs.ingest.ingest_solutions`: association, preferred
   solutions, revisions, one transaction) of 10k, 100k and 1M generated events. Baseline: a bare
   ``pyarrow.parquet.write_table`` of the same rows in the same run (what storing them costs at the
   least). Reported: our time per event at the largest size over the smallest (1.0 = linear) and our
   time over the baseline's.
2. **Survey analytics**: the ``analytics_damage_grade_mean`` view (DuckDB over the lake's Parquet) against
   the same statistics with pandas (``read_parquet`` of the same rows + ``groupby``), on 100k and 1M
   generated building rows; both answers are compared before the timings count.

Generated data (seeded) only; lakes live under ``bench/.work/`` and are removed afterwards.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.common import WORK, BenchResult, best_of

GROWTH_TARGET = 1.5  # per-event time at the largest size / at the smallest
RATE_TARGET = 5_000  # events per second through association, revisions and the lake transaction
#: Best of 7 on each side of the analytics comparison: at 100,000 rows both answers take 8-25 ms, where
#: one descheduling on the shared 2-core machine moved the ratio by 0.5 (best of 3: 1.35-2.09 in four
#: runs in a row); both sides are repeated alike.
REPEAT = 7
TARGET_ROWS = 1_000_000  # the analytics target (>= 2x pandas) is judged from this size on


def event_rows(n: int, seed: int = 7) -> pa.Table:
    """``n`` solution rows of one provider, at least 30 s apart (no two associate), vectorised."""
    from catalogs.rows import SOLUTION_ROW_SCHEMA

    rng = np.random.default_rng(seed)
    start = np.datetime64("1990-01-01T00:00:00", "us").astype(np.int64)
    t = start + np.cumsum(rng.integers(30, 600, n)).astype(np.int64) * 1_000_000
    ids = pc.binary_join_element_wise("bs", pa.array(np.arange(n).astype(str)), "")
    cols: dict[str, Any] = {
        "provider": pa.array(["BENCH"] * n), "provider_event_id": ids,
        "origin_time_utc": pa.array(t, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        "origin_latitude_deg": np.round(rng.uniform(-60, 70, n), 4),
        "origin_longitude_deg": np.round(rng.uniform(-180, 180, n), 4),
        "origin_depth_km": np.round(rng.uniform(0, 300, n), 1),
        "magnitude_value": np.round(rng.uniform(2.5, 7.5, n), 1),
        "magnitude_type": pa.array(["mb"] * n), "magnitude_author": pa.array(["us"] * n),
        "origin_agency": pa.array(["us"] * n), "review_status": pa.array(["reviewed"] * n),
        "event_type": pa.array(["earthquake"] * n), "region_name": pa.array(["bench region"] * n),
        "updated_time_utc": pa.array(t, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        "alias_ids": pa.array([[]] * n, pa.list_(pa.string())), "source_ref": ids,
    }
    return pa.table({f.name: pa.array(cols[f.name], f.type) if not isinstance(cols[f.name], pa.Array | pa.ChunkedArray)
                     else cols[f.name].cast(f.type) for f in SOLUTION_ROW_SCHEMA}, schema=SOLUTION_ROW_SCHEMA)


def _fresh_lake(root: Path) -> Any:
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    settings = load_settings(root)
    lake = Lake.from_settings(settings)
    lake.init()
    return lake, settings


def ingest_growth(sizes: tuple[int, ...], base: Path) -> list[BenchResult]:
    from catalogs.ingest import ingest_solutions

    ours: dict[int, float] = {}
    bare: dict[int, float] = {}
    for n in sizes:
        rows = event_rows(n)
        home = base / f"ingest-{n}"
        lake, settings = _fresh_lake(home)
        t0 = time.perf_counter()
        report = ingest_solutions(lake, rows, "bench", f"bench {n}", "bench://", None, settings)
        ours[n] = time.perf_counter() - t0
        assert report.new_events == n, report.summary()
        bare[n], _ = best_of(partial(pq.write_table, rows, home / "bare.parquet"), repeat=1)
        print(f"  ingest {n:,} events: {ours[n]:.1f} s (bare parquet {bare[n]:.2f} s)", file=sys.stderr)
        shutil.rmtree(home, ignore_errors=True)
    small, large = min(sizes), max(sizes)
    growth = (ours[large] / large) / (ours[small] / small)
    return [
        BenchResult(
            what=f"catalog ingest growth {small:,} -> {large:,} events",
            baseline=f"same code at {small:,} events",
            ours_s=ours[large], baseline_s=ours[small], ratio=growth,
            target=f"per-event time ratio <= {GROWTH_TARGET}", passed=growth <= GROWTH_TARGET,
            ratio_kind="per-event time at large n / at small n",
            details={f"{n}_events_s": round(s, 2) for n, s in ours.items()}
            | {f"{n}_events_per_s": round(n / s) for n, s in ours.items()},
        ),
        BenchResult(
            what=f"catalog ingest of {large:,} events (associate, revise, 1 txn)",
            baseline="bare pyarrow.parquet.write_table, same rows",
            ours_s=ours[large], baseline_s=bare[large], ratio=ours[large] / bare[large],
            target=f">= {RATE_TARGET:,} events/s", passed=large / ours[large] >= RATE_TARGET,
            ratio_kind="time ratio (ours / baseline): the cost of association, revisions and the lake",
            details={f"{n}_bare_write_s": round(s, 3) for n, s in bare.items()} | {"events_per_s": round(large / ours[large])},
        ),
    ]


#: The view's per-typology EMS-98 rows (the view itself is warehouse/sql/views/analytics_damage_grade_mean.sql).
VIEW_SQL = ("SELECT expedition_id, typology, building_count, damage_grade_mean, damage_grade_sd "
            "FROM analytics_damage_grade_mean WHERE damage_scale = 'EMS-98' AND typology <> '*' ORDER BY 1, 2")
DIRECT_SQL = ("SELECT expedition_id, coalesce(typology_gem_taxonomy, typology_material, 'unknown') AS typology, "
              "count(*), avg(damage_ems98_grade), stddev_samp(damage_ems98_grade) FROM survey_buildings_obs "
              "WHERE damage_ems98_grade IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2")
PANDAS_COLUMNS = ["expedition_id", "typology_gem_taxonomy", "typology_material", "damage_ems98_grade"]
MATERIALS = np.array(["MUR", "CR", "W", "MCF", "S", "E", "MR"])


def building_rows(n: int, seed: int = 11) -> pa.Table:
    """``n`` landed building observations of two expeditions, in the lake's own schema."""
    from warehouse.tables import spec

    table_spec = spec("survey_buildings_obs")
    rng = np.random.default_rng(seed)
    ids = np.arange(n).astype(str)
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    values: dict[str, Any] = {
        "expedition_id": np.where(rng.random(n) < 0.5, "EXP-2015-NPL-001", "EXP-2023-TUR-001"),
        "observation_id": np.char.add("obs-", ids), "observation_sha256": np.char.add("sha-", ids),
        "raw_sha256": np.full(n, "f" * 64), "raw_row_number": np.arange(2, n + 2),
        "building_id": np.char.add("B-", ids), "site_latitude_deg": rng.uniform(27.3, 28.6, n),
        "site_longitude_deg": rng.uniform(84.0, 86.0, n), "damage_ems98_grade": rng.integers(0, 6, n),
        "typology_material": MATERIALS[rng.integers(0, len(MATERIALS), n)],
        "typology_storeys_count": rng.integers(1, 8, n), "ingest_batch_id": np.full(n, "bench"),
        "ingested_time_utc": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
    }
    cols = []
    for f in table_spec.schema:
        v = values.get(f.name)
        cols.append(pa.nulls(n, f.type) if v is None else (v if isinstance(v, pa.Array) else pa.array(v)).cast(f.type))
    return pa.Table.from_arrays(cols, schema=table_spec.schema)


def _view_rows(con: Any) -> list[tuple[Any, ...]]:
    return list(con.execute(VIEW_SQL).fetchall())


def _direct_rows(con: Any) -> list[tuple[Any, ...]]:
    return list(con.execute(DIRECT_SQL).fetchall())


def _pandas_grade_stats(frame: Any) -> Any:
    """pandas' version of analytics_damage_grade_mean (per expedition and typology, EMS-98 grades)."""
    frame = frame[frame["damage_ems98_grade"].notna()]
    typology = frame["typology_gem_taxonomy"].fillna(frame["typology_material"]).fillna("unknown")
    grouped = frame.assign(typology=typology).groupby(["expedition_id", "typology"])["damage_ems98_grade"]
    out = grouped.agg(["count", "mean", "std"]).reset_index()
    out["ci95_low"] = out["mean"] - 1.96 * out["std"] / np.sqrt(out["count"])
    out["ci95_high"] = out["mean"] + 1.96 * out["std"] / np.sqrt(out["count"])
    return out


def analytics_vs_pandas(sizes: tuple[int, ...], base: Path) -> list[BenchResult]:
    import pandas as pd

    results = []
    for n in sizes:
        home = base / f"analytics-{n}"
        lake, _ = _fresh_lake(home)
        with lake.writer() as w:
            w.write("survey_buildings_obs", building_rows(n), mode="append")
        con = lake.connect(read_only=True)
        try:
            files = [r[0] for r in con.execute(
                "SELECT data_file FROM ducklake_list_files('lake', 'survey_buildings_obs')").fetchall()]
            ours_s, ours = best_of(partial(_view_rows, con), repeat=REPEAT)
        finally:
            con.close()
        def baseline(f: list[str] = files) -> Any:
            frame = pd.concat([pd.read_parquet(p, columns=PANDAS_COLUMNS) for p in f], ignore_index=True)
            return _pandas_grade_stats(frame)

        base_s, theirs = best_of(baseline, repeat=REPEAT)
        con = lake.connect(read_only=True)
        try:  # the same statistics straight from the table: separates the engine from the view's layers
            direct_s, _ = best_of(partial(_direct_rows, con), repeat=REPEAT)
        finally:
            con.close()
        frame_mem = pd.concat([pd.read_parquet(p, columns=PANDAS_COLUMNS) for p in files], ignore_index=True)
        mem_s, _ = best_of(partial(_pandas_grade_stats, frame_mem), repeat=REPEAT)
        theirs = theirs.sort_values(["expedition_id", "typology"]).reset_index(drop=True)
        agree = len(ours) == len(theirs) and all(
            (o[0], o[1], o[2]) == (t.expedition_id, t.typology, t["count"])
            and abs(o[3] - t["mean"]) < 1e-9 and abs(o[4] - t["std"]) < 1e-9
            for o, (_, t) in zip(ours, theirs.iterrows()))
        results.append(BenchResult(
            what=f"analytics_damage_grade_mean view, {n:,} buildings",
            baseline="pandas read_parquet + groupby, same rows",
            ours_s=ours_s, baseline_s=base_s, ratio=base_s / ours_s,
            # judged at 1M buildings (issue 18's size); at 100k the lake's fixed cost per query (DuckLake
            # reads its catalog: about 4 ms, the whole of a count(*)) is half of the view's time, so
            # the smaller size is information, as long as the answers agree (docs/reliability.md)
            target=">= 2x pandas, same numbers" if n >= TARGET_ROWS else "info (target at 1,000,000), same numbers",
            passed=(agree and base_s / ours_s >= 2.0) if n >= TARGET_ROWS else (None if agree else False),
            details={"answers_agree": agree, "groups": len(ours), "pandas_groupby_in_memory_s": round(mem_s, 4),
                     "duckdb_group_by_on_the_table_s": round(direct_s, 4), "parquet_files": len(files)},
        ))
        print(f"  analytics {n:,}: view {ours_s:.3f} s, DuckDB GROUP BY on the table {direct_s:.3f} s, pandas "
              f"{base_s:.3f} s (in memory {mem_s:.3f} s), agree {agree}", file=sys.stderr)
        shutil.rmtree(home, ignore_errors=True)
    return results


def run(quick: bool = False) -> list[BenchResult]:
    WORK.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="scaling-", dir=WORK))
    try:
        ingest_sizes = (10_000, 100_000) if quick else (10_000, 100_000, 1_000_000)
        analytic_sizes = (100_000,) if quick else (100_000, 1_000_000)
        return ingest_growth(ingest_sizes, base) + analytics_vs_pandas(analytic_sizes, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover
    for r in run(quick="--quick" in sys.argv):
        print(r)
