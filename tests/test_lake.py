from __future__ import annotations

import datetime as dt
import threading

import pyarrow as pa
import pytest

from warehouse.errors import LakeNotInitialised, SchemaMismatch, WarehouseBusy
from warehouse.lake import Lake

UTC = dt.UTC


def _events(ids: list[str], mags: list[float]) -> pa.Table:
    return pa.table(
        {
            "event_id": ids,
            "magnitude_value": mags,
            "origin_time_utc": pa.array([dt.datetime(2023, 2, 6, 1, 17, tzinfo=UTC)] * len(ids), pa.timestamp("us", tz="UTC")),
        }
    )


def test_uninitialised_lake_is_a_clear_error(settings) -> None:
    with pytest.raises(LakeNotInitialised, match="expedition init"):
        Lake.from_settings(settings).connect()


def test_init_is_idempotent(lake: Lake) -> None:
    assert lake.init() == []
    con = lake.connect(read_only=True)
    names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_catalog='lake'").fetchall()}
    con.close()
    assert {"events", "event_aliases", "event_revisions", "ingest_batches"} <= names


def test_write_modes_are_idempotent(lake: Lake) -> None:
    with lake.writer() as w:
        r = w.write("events", _events(["a", "b", "a"], [5.0, 6.0, 7.0]))
    assert (r.inserted, r.updated) == (2, 0)  # duplicate key inside a batch keeps the first row
    with lake.writer() as w:
        r1 = w.write("events", _events(["a", "c"], [5.5, 4.0]))
        r2 = w.write("events", _events(["a", "c"], [5.5, 4.0]))
    assert (r1.inserted, r1.updated) == (1, 1)
    assert (r2.inserted, r2.updated) == (0, 0)
    got = dict(zip(*lake.read_table("events").select(["event_id", "magnitude_value"]).to_pydict().values()))
    assert got == {"a": 5.5, "b": 6.0, "c": 4.0}


def test_insert_new_never_duplicates(lake: Lake) -> None:
    aliases = pa.table({"provider": ["USGS", "EMSC"], "provider_event_id": ["us1", "e1"], "event_id": ["a", "a"]})
    for _ in range(3):
        with lake.writer() as w:
            w.write("event_aliases", aliases)
    assert lake.read_table("event_aliases").num_rows == 2


def test_schema_mismatch_names_the_column(lake: Lake) -> None:
    with lake.writer() as w:
        with pytest.raises(SchemaMismatch, match="magnitude_value"):
            w.write("events", pa.table({"event_id": ["x"], "magnitude_value": ["big"]}))
        with pytest.raises(SchemaMismatch, match="not declared"):
            w.write("events", pa.table({"event_id": ["x"], "mag": [1.0]}))
        with pytest.raises(SchemaMismatch, match="event_id"):
            w.write("events", pa.table({"event_id": pa.array([None], pa.string())}))


def test_failed_transaction_writes_nothing(lake: Lake) -> None:
    with pytest.raises(RuntimeError):
        with lake.writer() as w:
            w.write("events", _events(["a"], [5.0]))
            w.write("event_aliases", pa.table({"provider": ["USGS"], "provider_event_id": ["us1"], "event_id": ["a"]}))
            raise RuntimeError("boom")
    assert lake.read_table("events").num_rows == 0
    assert lake.read_table("event_aliases").num_rows == 0


def test_second_writer_gets_clear_message_and_readers_continue(lake: Lake) -> None:
    with lake.writer() as w:
        w.write("events", _events(["a"], [5.0]))
    entered = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with lake.writer() as w2:
            w2.write("events", _events(["b"], [6.0]))
            entered.set()
            release.wait(20)

    t = threading.Thread(target=hold)
    t.start()
    assert entered.wait(20)
    try:
        with pytest.raises(WarehouseBusy, match="another writer"):
            with lake.writer(wait_s=0.3):
                pass
        # a reader sees the last committed state while the writer is busy
        assert lake.read_table("events").num_rows == 1
    finally:
        release.set()
        t.join(30)
    assert lake.read_table("events").num_rows == 2


def test_snapshots_give_time_travel(lake: Lake) -> None:
    with lake.writer() as w:
        w.write("events", _events(["a"], [5.0]))
    snap = lake.current_snapshot()
    with lake.writer() as w:
        w.write("events", _events(["a"], [6.5]))
    con = lake.connect(snapshot=snap)
    try:
        assert con.execute("SELECT magnitude_value FROM events").fetchall() == [(5.0,)]
    finally:
        con.close()
    assert lake.read_table("events").column("magnitude_value").to_pylist() == [6.5]


def test_geometry_roundtrip(lake: Lake) -> None:
    import shapely

    from warehouse.schema import TableSpec, geometry_field

    schema = pa.schema([pa.field("k", pa.string(), nullable=False), geometry_field("site_geometry")])
    spec = TableSpec("t_geom", schema, key=("k",))
    lake.init(tables=(spec,))
    wkb = shapely.to_wkb(shapely.points([85.3, 84.7], [27.7, 28.2]))
    import warehouse.tables as tables

    tables._BY_NAME[spec.name] = spec  # register the test table for this test only
    try:
        with lake.writer() as w:
            w.write("t_geom", pa.table({"k": ["a", "b"], "site_geometry": list(wkb)}))
        con = lake.connect(read_only=True, spatial=True)
        got = con.execute("SELECT typeof(site_geometry), ST_X(site_geometry) FROM t_geom WHERE k='a'").fetchone()
        assert got == ("GEOMETRY", 85.3)
        con.close()
        back = lake.read_table("t_geom")
        assert shapely.from_wkb(back.column("site_geometry").to_pylist()[1]).y == 28.2
    finally:
        del tables._BY_NAME[spec.name]
