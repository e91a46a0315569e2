"""The data layer of partner scopes: filtering, the locked-down per-partner database, the cache key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from expedition.delivery.api.scopes import (
    Scope,
    ScopeCache,
    open_partner_database,
    scope_tables,
    visible_expeditions,
    visible_surveys,
)
from expedition.delivery.api.source import LakeData
from expedition.delivery.partners import Partner, TokenRegistry
from warehouse.tables import spec

NOW = datetime(2024, 3, 1, tzinfo=UTC)


def _expeditions() -> pa.Table:
    return pa.table({
        "expedition_id": ["E-CHN", "E-KGZ", "E-AFG", "E-PHL", "E-NPL-CANCELLED"],
        "expedition_status": ["approved", "Deployed", "closed", "proposed", "cancelled"],
        "primary_country_iso3": ["CHN", "KGZ", "AFG", "PHL", "NPL"],
        "country_iso3_list": [["CHN", "KGZ"], ["KGZ"], ["AFG"], ["PHL"], ["NPL"]],
        "review_reason": ["internal"] * 5,
    })


def _surveys() -> pa.Table:
    ingested = [NOW - timedelta(days=d) for d in (1, 10, 31, 1, 1)]
    return pa.table({
        "expedition_id": ["E-CHN", "E-CHN", "E-CHN", "E-AFG", "E-PHL"],
        "building_id": ["b1", "b2", "b3", "a1", "p1"],
        "surveyor_name": ["x"] * 5,
        "ingested_time_utc": pa.array(ingested, pa.timestamp("us", tz="UTC")),
    })


def _data(version: int = 1) -> LakeData:
    pubs = pa.table({"expedition_id": ["E-AFG"], "published_utc": [NOW], "published_by": ["lead"]})
    rel = {"events": pa.table({"event_id": ["e1"]}), "expeditions": _expeditions(),
           "survey_publications": pubs, "survey_buildings": _surveys()}
    registry = TokenRegistry(spec("partners").empty(), spec("partner_tokens").empty())
    return LakeData(version, version, rel, registry)


STATUSES = ("approved", "deployed", "reporting", "closed")


def test_country_scope_uses_every_country_of_an_expedition() -> None:
    got = visible_expeditions(_expeditions(), Scope(("KGZ",), (), 30, STATUSES))
    assert got.column("expedition_id").to_pylist() == ["E-CHN", "E-KGZ"]
    assert "review_reason" not in got.column_names


def test_named_expeditions_and_statuses() -> None:
    got = visible_expeditions(_expeditions(), Scope((), ("E-AFG", "E-PHL", "E-NPL-CANCELLED"), 30, STATUSES))
    assert got.column("expedition_id").to_pylist() == ["E-AFG"]  # proposed and cancelled stay hidden


def test_embargo_and_the_next_change() -> None:
    rows, until = visible_surveys(_surveys(), {"E-CHN"}, set(), 30, NOW)
    assert rows.column("building_id").to_pylist() == ["b3"]
    assert until == NOW - timedelta(days=10) + timedelta(days=30)  # b2 is released first
    assert "surveyor_name" not in rows.column_names
    rows, until = visible_surveys(_surveys(), {"E-CHN"}, {"E-CHN"}, 30, NOW)
    assert rows.num_rows == 3 and until is None


def test_scope_tables_filter_everything_per_expedition() -> None:
    tables, until = scope_tables(_data(), Scope(("AFG", "CHN"), (), 30, STATUSES), NOW)
    assert tables["expeditions"].column("expedition_id").to_pylist() == ["E-CHN", "E-AFG"]
    assert sorted(tables["survey_buildings"].column("building_id").to_pylist()) == ["a1", "b3"]  # a1 published
    assert tables["events"].num_rows == 1  # the catalog is public
    assert until == NOW - timedelta(days=10) + timedelta(days=30)


def test_partner_database_is_locked_down(tmp_path: Path) -> None:
    secret = tmp_path / "lake-data.parquet"
    pq.write_table(pa.table({"x": [1]}), secret)
    con, names = open_partner_database({"events": pa.table({"event_id": ["e1", "e2"]})})
    try:
        assert "events" in names and "events_latest" not in names  # its event_aliases table is absent
        cur = con.cursor()  # what each request uses
        assert cur.execute("SELECT count(*) FROM events").fetchall() == [(2,)]
        for sql in (f"SELECT * FROM read_parquet('{secret}')", f"SELECT * FROM read_text('{tmp_path}/x')",
                    "SELECT * FROM glob('/tmp/*')"):
            with pytest.raises(duckdb.PermissionException):
                cur.execute(sql).fetchall()
        with pytest.raises(duckdb.InvalidInputException, match="locked"):
            cur.execute("SET enable_external_access = true")
        settings = dict(cur.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('allowed_directories', 'temp_directory')"
        ).fetchall())
        assert settings == {"allowed_directories": "[]", "temp_directory": ""}
    finally:
        con.close()


def test_cache_rebuilds_only_when_something_changed() -> None:
    cache = ScopeCache(STATUSES)
    p = Partner("p", ("CHN",), (), 30, NOW)
    v1 = cache.view(p, _data(1), NOW)
    assert cache.view(p, _data(1), NOW + timedelta(days=1)) is v1 and cache.builds == 1
    assert cache.view(p, _data(2), NOW) is not v1 and cache.builds == 2  # new lake data
    v3 = cache.view(p, _data(2), NOW + timedelta(days=21))  # b2's embargo ended
    assert cache.builds == 3 and v3.tables["survey_buildings"].num_rows == 2
    wider = Partner("p", ("CHN", "AFG"), (), 30, NOW)
    assert cache.view(wider, _data(2), NOW + timedelta(days=21)).scope.countries == ("CHN", "AFG")
    assert cache.builds == 4


@pytest.mark.slow
def test_audit_commits_do_not_invalidate_partner_data(api_world: Any) -> None:
    from expedition.delivery.api.audit import AuditLog
    from expedition.delivery.api.source import LakeSource

    source = LakeSource(api_world.lake, refresh_s=0.0)
    try:
        before = source.current()
        audit = AuditLog(api_world.lake, flush_s=0.0)
        audit.record(route="/v1/query", outcome="ok", status=200, partner="chn-partner", sql="SELECT 1")
        assert audit.flush() == 1 and audit.pending() == 0
        assert source.refresh_now() is before  # only the audit writer committed: same data, no rebuild
        row = {"provider": "TEST", "last_error": "scope cache test"}
        with api_world.lake.writer() as w:
            w.write("provider_watermarks", pa.Table.from_pylist([row], schema=spec("provider_watermarks").schema))
        after = source.refresh_now()
        assert after.data_version > before.data_version and after.snapshot_id > before.snapshot_id
    finally:
        source.close()
