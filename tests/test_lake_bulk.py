"""Bulk append (pyarrow-written Parquet registered in the lake) against the ordinary INSERT."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from expedition.surveys.geometry import point_wkb
from warehouse import bulk
from warehouse.errors import SchemaMismatch
from warehouse.lake import Lake
from warehouse.maintain import maintain

TABLE = "survey_buildings_obs"
NOW = dt.datetime(2015, 5, 1, 12, 0, tzinfo=dt.UTC)


def _rows(n: int, prefix: str = "B") -> pa.Table:
    rng = np.random.default_rng(7)
    lat = pa.array(np.round(rng.uniform(27.5, 28.5, n), 5))
    lon = pa.array(np.round(rng.uniform(84.5, 86.0, n), 5))
    grade = pa.array(rng.integers(0, 6, n).astype(np.int8))
    return pa.table({
        "observation_id": [f"{prefix}{i}" for i in range(n)],
        "raw_row_number": pa.array(np.arange(2, n + 2, dtype=np.int64)),
        "building_id": [f"{prefix}{i}" for i in range(n)],
        "site_latitude_deg": lat,
        "site_longitude_deg": lon,
        "site_geometry": point_wkb(lon, lat),
        "damage_ems98_grade": grade,
        "typology_material": pa.array(np.array(["MUR", "CR", "W"])[rng.integers(0, 3, n)]),
        "surveyed_time_utc": pa.array([NOW] * n, pa.timestamp("us", tz="UTC")),
    })


def _consts(expedition: str) -> dict[str, object]:
    return {"expedition_id": expedition, "raw_sha256": "f" * 64, "ingest_batch_id": "b" * 32, "ingested_time_utc": NOW}


def _read(lake: Lake, expedition: str) -> pa.Table:
    t = lake.read_table(TABLE, "WHERE expedition_id = ? ORDER BY raw_row_number", [expedition])
    return t.drop_columns(["expedition_id"])


def _data_files(lake: Lake) -> list[str]:
    con = lake.connect(read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT data_file FROM ducklake_list_files('lake', ?)", [TABLE]).fetchall()]
    finally:
        con.close()


@pytest.mark.slow
def test_bulk_append_equals_insert_and_honours_the_mask(lake: Lake) -> None:
    rows = _rows(600_000)  # large enough for several files written in parallel
    keep = pa.array(np.arange(rows.num_rows) % 7 != 3)
    with lake.writer() as w:
        fast = w.append_bulk(TABLE, rows, _consts("EXP-A"), keep=keep)
        slow = w.write(TABLE, rows.filter(keep), mode="append", constants=_consts("EXP-B"))
    assert fast.inserted == slow.inserted == int(pc.sum(keep).as_py())
    a, b = _read(lake, "EXP-A"), _read(lake, "EXP-B")
    assert a.schema == b.schema and a.equals(b)
    files = _data_files(lake)
    bulk_files = [f for f in files if Path(f).name.startswith("qe-bulk-")]
    assert len(bulk_files) >= 2 and all("expedition_id=EXP-A" in f for f in bulk_files)
    con = lake.connect(read_only=True)
    try:  # partition pruning knows the files' expedition, and geometry is GEOMETRY
        n, kind = con.execute(
            f"SELECT count(*), any_value(typeof(site_geometry)) FROM lake.{TABLE} WHERE expedition_id = 'EXP-A'"
        ).fetchone()
    finally:
        con.close()
    assert n == fast.inserted and kind == "GEOMETRY"


def test_a_failed_transaction_removes_its_bulk_files(lake: Lake) -> None:
    before = set(Path(lake.data_path).rglob("*.parquet"))
    with pytest.raises(RuntimeError, match="boom"), lake.writer() as w:
        w.append_bulk(TABLE, _rows(1000), _consts("EXP-A"))
        raise RuntimeError("boom")
    assert set(Path(lake.data_path).rglob("*.parquet")) == before
    assert lake.read_table(TABLE).num_rows == 0


def test_fallbacks_give_the_same_rows(lake: Lake, settings) -> None:
    rows = _rows(500)
    with lake.writer() as w:  # a partition value that is not path-safe: the ordinary INSERT
        w.append_bulk(TABLE, rows, _consts("EXP/../odd"))
    off = Lake.from_settings(settings)
    off.bulk_append = False
    with off.writer() as w:
        w.append_bulk(TABLE, rows, _consts("EXP-C"))
    with lake.writer() as w:
        w.append_bulk(TABLE, rows, _consts("EXP-D"))
    assert not any(Path(f).name.startswith("qe-bulk-") and "EXP-C" in f for f in _data_files(lake))
    assert _read(lake, "EXP/../odd").equals(_read(lake, "EXP-D")) and _read(lake, "EXP-C").equals(_read(lake, "EXP-D"))


def test_coded_text_as_dictionaries_stores_the_same_values(lake: Lake) -> None:
    """Choice columns arrive dictionary-encoded from validation (with nulls, unused and repeated
    entries allowed): the bulk files store the values, the INSERT path decodes them, both read back
    alike as text; a directory looked up ahead gives the same files as one looked up when staging."""
    rows = _rows(5000)
    codes = pa.array(["MUR", "CR", "W", "MCF", "CR"])  # MCF unused, CR twice
    idx = pa.array(np.where(np.arange(5000) % 11 == 0, None, np.arange(5000) % 5), pa.int32())
    coded = rows.set_column(rows.schema.get_field_index("typology_material"), "typology_material",
                            pa.DictionaryArray.from_arrays(idx, codes))
    plain = rows.set_column(rows.schema.get_field_index("typology_material"), "typology_material",
                            coded["typology_material"].cast(pa.string()))
    ahead = lake.bulk_directory(TABLE, {"expedition_id": "EXP-A"})
    assert ahead is not None and ahead.name == "expedition_id=EXP-A"
    staged = lake.stage_bulk(TABLE, coded, _consts("EXP-A"), directory=ahead)
    assert staged is not None
    with lake.writer() as w:
        w.adopt(staged).finish()
        w.write(TABLE, coded, mode="append", constants=_consts("EXP-B"))
        w.append_bulk(TABLE, plain, _consts("EXP-C"))
    a, b, c = _read(lake, "EXP-A"), _read(lake, "EXP-B"), _read(lake, "EXP-C")
    assert a.schema.field("typology_material").type == pa.string()
    assert a.equals(b) and a.equals(c)
    assert a["typology_material"].null_count == 455
    assert all(Path(f).parent == ahead for f, _ in staged.files())


def test_bulk_rows_are_checked_like_any_write(lake: Lake) -> None:
    rows = _rows(10)
    missing = rows.set_column(rows.schema.get_field_index("building_id"), "building_id",
                              pa.array(["x"] * 9 + [None], pa.string()))
    with pytest.raises(SchemaMismatch, match="building_id.*null in a required column"), lake.writer() as w:
        w.append_bulk(TABLE, missing, _consts("EXP-A"))
    with lake.writer() as w:  # the same null on a row that is not kept is fine
        r = w.append_bulk(TABLE, missing, _consts("EXP-A"), keep=pa.array([True] * 9 + [False]))
    assert r.inserted == 9
    with pytest.raises(SchemaMismatch, match="constant"), lake.writer() as w:
        w.append_bulk(TABLE, rows.append_column("expedition_id", pa.array(["E"] * 10)), _consts("EXP-A"))


@pytest.mark.slow
def test_maintenance_merges_bulk_files(lake: Lake) -> None:
    for i in range(3):
        with lake.writer() as w:
            w.append_bulk(TABLE, _rows(2000, prefix=f"P{i}-"), _consts("EXP-A"))
    before = lake.read_table(TABLE).sort_by("observation_id")
    maintain(lake)
    assert lake.read_table(TABLE).sort_by("observation_id").equals(before)
    assert before.num_rows == 6000


def test_dictionary_columns_skip_unique_ids() -> None:
    cols = bulk.dictionary_columns(_rows(20_000))
    assert "typology_material" in cols and "observation_id" not in cols and "building_id" not in cols


@pytest.mark.parametrize("pattern", ["all", "none", "first", "last", "sparse", "fragmented"])
def test_kept_rows_equals_a_filter(pattern: str) -> None:
    t = _rows(5000)
    n = t.num_rows
    idx = np.arange(n)
    mask = {
        "all": np.ones(n, bool), "none": np.zeros(n, bool), "first": idx != 0, "last": idx != n - 1,
        "sparse": idx % 997 != 5, "fragmented": idx % 2 == 0,
    }[pattern]
    want = t.filter(pa.array(mask))
    kept = bulk.KeptRows(t, pa.array(mask), max_runs=1000)
    got = kept.slice(0, n)
    assert got.equals(want)
    # taken a range at a time, as the writing threads take row groups: every range, run edges included
    assert kept.num_rows == want.num_rows
    for length in (1, 7, 997, 1024, 5000):
        for offset in range(0, want.num_rows + length, length):
            assert kept.slice(offset, length).equals(want.slice(offset, length)), (offset, length)


@pytest.mark.slow
def test_maintenance_leaves_fresh_staged_files_and_removes_old_orphans(lake: Lake) -> None:
    import os
    import time

    staged = lake.stage_bulk(TABLE, _rows(300), _consts("EXP-A"))
    assert staged is not None
    staged.files()
    stray = Path(lake.data_path) / "main" / TABLE / "expedition_id=EXP-Z" / "stray.parquet"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"PAR1")  # what a writer killed two hours ago left behind
    os.utime(stray, (time.time() - 7200, time.time() - 7200))
    report = maintain(lake)  # runs while the ingest that staged the files is still going
    assert report.orphans_deleted == 1 and not stray.exists()
    with lake.writer() as w:
        assert w.adopt(staged).finish().inserted == 300
    assert lake.read_table(TABLE).num_rows == 300
