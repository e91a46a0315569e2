"""Survey ingest speed: building rows archived, read, validated and written to the lake, against a bare
``pyarrow.csv.read_csv`` + ``pyarrow.parquet.write_table`` of the same file in the same run.

Target: our time <= 2x the baseline at 1,000,000 rows (the 100,000-row line is for information: there
the fixed cost of opening the lake and committing, about 0.3 s, dominates a 0.05 s baseline). Also
reported: the growth of our time per row from 100,000 to 1,000,000 rows (1.0 = linear), and the
1,000,000-row ratio with pyarrow's default memory pool instead of the one the application selects
(see ``expedition.process``). Both sides run in the same process under the same pool. The CSV is generated (seeded) under ``bench/.work/``;
0.1% of its rows carry an error (grade 7 or a date outside the window) so quarantine is exercised.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bench.common import WORK, BenchResult, best_of

TARGET_RATIO = 2.0  # issue 18 (was 3.0)
TARGET_ROWS = 1_000_000
MAINSHOCK = dt.datetime(2015, 4, 25, 6, 11, 25, tzinfo=dt.UTC)


def make_csv(n: int, path: Path) -> Path:
    """A tidy building-survey CSV of ``n`` rows (deterministic)."""
    if path.is_file():
        return path
    rng = np.random.default_rng(2015)
    grade = rng.integers(0, 6, n).astype(str)
    grade[rng.random(n) < 0.0005] = "7"
    seconds = rng.integers(0, 60 * 86400, n)
    when = (np.datetime64("2015-04-26T00:00:00") + seconds.astype("timedelta64[s]")).astype(str)
    when[rng.random(n) < 0.0005] = "2031-01-01T00:00:00"
    table = pa.table({
        "building_id": pa.array(np.char.add("NPL-", np.arange(n).astype(str))),
        "latitude": np.round(rng.uniform(27.3, 28.6, n), 5),
        "longitude": np.round(rng.uniform(84.2, 86.2, n), 5),
        "damage_grade": pa.array(grade),
        "action": pa.array(np.array(["none", "minor_repair", "major_repair", "reconstruction"])[rng.integers(0, 4, n)]),
        "material": pa.array(np.array(["MUR", "CR", "W", "MCF"])[rng.integers(0, 4, n)]),
        "storeys": rng.integers(1, 6, n),
        "plinth_area_m2": np.round(rng.uniform(20, 250, n), 1),
        "occupancy": pa.array(np.array(["RES", "COM", "MIX"])[rng.integers(0, 3, n)]),
        "surveyor": pa.array(np.array(["Anita", "Bikash", "Chandra", "Dipa"])[rng.integers(0, 4, n)]),
        "surveyed_time": pa.array(when),
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pacsv.write_csv(table, tmp)
    tmp.replace(path)
    return path


def _baseline(src: Path, out: Path) -> None:
    pq.write_table(pacsv.read_csv(src), out)


def _ours(src: Path, work: Path) -> tuple[float, int]:
    """Time one ingest into a fresh, empty lake (creating it is not timed) in a data root whose
    DuckDB extensions are installed already, as on a user's machine after ``expedition init``.
    Returns (seconds, rows landed)."""
    from expedition.settings import load_settings
    from expedition.surveys.context import SurveyContext, affected_radius_km
    from expedition.surveys.ingest import ingest_file
    from warehouse.lake import Lake, close_shared_connections

    home = work / "survey-home"
    for sub in ("lake", "raw"):  # a new lake and archive each time; the installed extensions stay
        shutil.rmtree(home / sub, ignore_errors=True)
    try:
        lake = Lake.from_settings(load_settings(home))
        lake.init()
        ctx = SurveyContext("EXP-2015-NPL-001", MAINSHOCK, dt.datetime.now(dt.UTC), 28.231, 84.731,
                            affected_radius_km(7.8))
        t0 = time.perf_counter()
        report = ingest_file(lake, src, ctx)
        return time.perf_counter() - t0, report.rows_landed
    finally:
        close_shared_connections()
        for sub in ("lake", "raw"):
            shutil.rmtree(home / sub, ignore_errors=True)


def measure(n: int, repeat: int) -> tuple[float, float, int]:
    src = make_csv(n, WORK / f"survey_buildings_{n}.csv")
    base_s, _ = best_of(lambda: _baseline(src, WORK / f"survey_baseline_{n}.parquet"), repeat=repeat)
    ours = [_ours(src, WORK) for _ in range(repeat)]
    return min(t for t, _ in ours), base_s, ours[0][1]


def _with_arrow_default_pool(n: int) -> float:
    """The same ratio with pyarrow's own default pool (mimalloc on Linux), for the record."""
    current = pa.default_memory_pool()
    try:
        pa.set_memory_pool(pa.mimalloc_memory_pool())
        ours_s, base_s, _ = measure(n, repeat=2)
    except NotImplementedError:
        return float("nan")
    finally:
        pa.set_memory_pool(current)
    return ours_s / base_s


def run(quick: bool = False) -> list[BenchResult]:
    WORK.mkdir(parents=True, exist_ok=True)
    sizes = (10_000, 100_000) if quick else (100_000, 1_000_000)
    results: list[BenchResult] = []
    per_row: dict[int, float] = {}
    for n in sizes:
        # best of 5: on the reference VM the first touch of never-used memory (page cache included)
        # costs ~15 us per page, so single runs swing by +-20 %; the minimum is the code's own cost
        ours_s, base_s, landed = measure(n, repeat=5)
        per_row[n] = ours_s / n
        ratio = ours_s / base_s
        at_target = n == TARGET_ROWS
        results.append(BenchResult(
            what=f"survey ingest: {n:,} building rows (archive, read, validate, quarantine, lake write)",
            baseline="pyarrow read_csv + parquet write_table",
            ours_s=ours_s, baseline_s=base_s, ratio=ratio,
            target=f"<= {TARGET_RATIO:g}x baseline time" if at_target else f"info (target at {TARGET_ROWS:,})",
            passed=(ratio <= TARGET_RATIO) if at_target else None,
            ratio_kind="time ratio (our time / baseline time)",
            details={"rows": n, "rows_landed": landed, "rows_per_s": n / ours_s,
                     "arrow_memory_pool": pa.default_memory_pool().backend_name},
        ))
    small, large = sizes
    growth = per_row[large] / per_row[small]
    results[-1].details["per_row_growth_vs_" + f"{small}"] = growth
    if not quick:
        results[-1].details["ratio_with_arrow_default_pool"] = _with_arrow_default_pool(large)
    return results
