"""Products pulled from the real local FDSN service: detail GeoJSON and grid.xml, versions, faults."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catalogs.errors import PermanentProviderError
from catalogs.fdsn import Provider
from catalogs.fdsnws_server import FDSNEventServer, serve_events
from catalogs.ingest import ingest_solutions
from catalogs.products_pull import UnknownEvent, pull_event_products, pull_events_products, pull_products_since
from catalogs.pull import pull_provider
from tests.fdsn_fixtures import QUICK_RETRY, counts, provider_for, solution, table
from tests.products_fixtures import EVENT, synthetic_detail, synthetic_grid

TABLES = ("event_details", "event_products", "shakemap_grids")
LATER = EVENT.time + dt.timedelta(hours=3)


ROWS = table(
    solution("USGS", EVENT.id, "2025-03-28T06:20:52", EVENT.lat, EVENT.lon, EVENT.mag),
    solution("USGS", "us6000none", "2025-03-29T01:00:00", 20.0, 94.0, 5.0),
)


@pytest.fixture
def server() -> Iterator[FDSNEventServer]:
    with serve_events(ROWS) as srv:
        yield srv


@pytest.fixture
def prov(server: FDSNEventServer) -> Provider:
    return provider_for(server)


@pytest.fixture
def pulled(lake: Any, settings: Any) -> Any:
    """The lake holding the two served events (ingested directly; the pull path has its own test)."""
    ingest_solutions(lake, ROWS, "test", "rows", "test://rows", None, settings)
    return lake


def _pull(lake: Any, settings: Any, prov: Provider, event: str = EVENT.id) -> Any:
    return pull_event_products(lake, settings, event, prov, retry=QUICK_RETRY)


def _query(lake: Any, sql: str) -> list[tuple[Any, ...]]:
    con = lake.connect(read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_every_product_version_is_kept_once(pulled: Any, settings: Any, server: FDSNEventServer, prov: Provider) -> None:
    server.publish_detail(synthetic_detail(), {"download/grid.xml": synthetic_grid()})
    first = _pull(pulled, settings, prov)
    assert first.detail_found and first.alert_level == "orange" and first.problems == []
    assert first.changed and first.grid_product_id is not None and len(first.new_products) == 4
    assert counts(pulled, *TABLES) == {"event_details": 1, "event_products": 4, "shakemap_grids": 1}
    again = _pull(pulled, settings, prov)
    assert not again.changed and again.new_products == [] and again.grid_product_id is None
    assert again.requests == 1  # the grid of a version already stored is not downloaded again
    assert counts(pulled, *TABLES) == {"event_details": 1, "event_products": 4, "shakemap_grids": 1}
    # a new PAGER and ShakeMap version: both kept beside the first ones
    server.publish_detail(synthetic_detail(alert="red", pager_update=LATER, shakemap_version=2, shakemap_update=LATER),
                          {"download/grid.xml": synthetic_grid(version=2, peak=9.5)})
    third = _pull(pulled, settings, prov)
    assert third.changed and third.alert_level == "red" and len(third.new_products) == 2
    assert counts(pulled, *TABLES) == {"event_details": 2, "event_products": 6, "shakemap_grids": 2}
    rows = _query(pulled, "SELECT product_type, product_version, alert_level FROM event_products "
                          "WHERE product_type IN ('losspager', 'shakemap') ORDER BY product_type, product_update_time_utc")
    assert rows == [("losspager", None, "orange"), ("losspager", None, "red"), ("shakemap", "1", None), ("shakemap", "2", None)]
    grids = _query(pulled, "SELECT shakemap_version, shakemap_agency, mmi_max, grid_lon_count FROM shakemap_grids ORDER BY 1")
    assert grids == [("1", "USGS", 9.0, 61), ("2", "USGS", 9.5, 61)]
    fault = _query(pulled, "SELECT fault_strike_deg, fault_dip_deg, fault_length_km, fault_segment_count, fault_segments_json "
                           "FROM event_products WHERE product_type = 'finite-fault'")
    assert fault[0][:4] == (5.0, 80.0, 150.0, 2)
    assert [s["strike_deg"] for s in json.loads(fault[0][4])] == [5.0, 355.0]
    planes = _query(pulled, "SELECT nodal_plane1_strike_deg, nodal_plane2_strike_deg FROM event_products WHERE product_type = 'moment-tensor'")
    assert planes == [(95.0, 5.5)]


@pytest.mark.slow
def test_bad_grid_is_one_line_and_stores_nothing(pulled: Any, settings: Any, server: FDSNEventServer, prov: Provider) -> None:
    server.publish_detail(synthetic_detail(), {"download/grid.xml": synthetic_grid(event_id="us6000other")})
    rep = _pull(pulled, settings, prov)
    assert len(rep.problems) == 1
    assert "ShakeMap grid refused, event judged by our own model" in rep.problems[0]
    assert "grid of event us6000other: expected event" in rep.problems[0] and "/download/grid.xml" in rep.problems[0]
    assert rep.grid_product_id is None
    assert counts(pulled, *TABLES) == {"event_details": 1, "event_products": 4, "shakemap_grids": 0}


@pytest.mark.slow
def test_transient_faults_are_retried_permanent_ones_are_not(pulled: Any, settings: Any, server: FDSNEventServer,
                                                            prov: Provider) -> None:
    server.publish_detail(synthetic_detail(), {"download/grid.xml": synthetic_grid()})
    server.faults.push("503", times=2, path="query", retry_after=0)
    server.faults.push("truncated", times=1, path="/product/")
    rep = _pull(pulled, settings, prov)
    assert rep.detail_found and rep.grid_product_id is not None and rep.problems == []
    assert rep.requests == 5  # detail: 2 x 503 then 200; grid: a truncated body (retried), then 200
    assert [r.status for r in server.requests if "/query" in r.path] == [503, 503, 200]
    server.faults.push("400", times=1, path="query", message="bad eventid")
    with pytest.raises(PermanentProviderError, match="HTTP 400: .*bad eventid"):
        _pull(pulled, settings, prov)
    assert server.faults.pending == 0


@pytest.mark.slow
def test_grid_that_keeps_failing_is_reported_not_stored(pulled: Any, settings: Any, server: FDSNEventServer,
                                                        prov: Provider) -> None:
    server.publish_detail(synthetic_detail(), {"download/grid.xml": synthetic_grid()})
    server.faults.push("503", times=QUICK_RETRY.attempts, path="/product/", retry_after=0)
    rep = _pull(pulled, settings, prov)
    assert rep.detail_found and rep.grid_product_id is None
    assert len(rep.problems) == 1 and rep.problems[0].startswith("ShakeMap grid not downloaded: USGS: ShakeMap grid of us6000test")
    assert counts(pulled, *TABLES) == {"event_details": 1, "event_products": 4, "shakemap_grids": 0}


@pytest.mark.slow
def test_one_pull_of_several_events_is_one_transaction(pulled: Any, settings: Any, server: FDSNEventServer,
                                                      prov: Provider) -> None:
    server.publish_detail(synthetic_detail(), {"download/grid.xml": synthetic_grid()})
    server.faults.push("400", times=1, path="query", message="bad eventid")  # the first event's detail
    before = pulled.current_snapshot()
    with pytest.raises(PermanentProviderError, match="bad eventid"):
        pull_events_products(pulled, settings, [EVENT.id, "us6000none"], prov, retry=QUICK_RETRY)
    assert pulled.current_snapshot() == before and counts(pulled, *TABLES) == dict.fromkeys(TABLES, 0)
    reports = pull_events_products(pulled, settings, [EVENT.id, "us6000none"], prov, retry=QUICK_RETRY)
    assert [(r.detail_found, len(r.new_products)) for r in reports] == [(True, 4), (True, 0)]
    assert pulled.current_snapshot() == before + 1, "both events' rows in one lake transaction"
    assert counts(pulled, *TABLES) == {"event_details": 2, "event_products": 4, "shakemap_grids": 1}
    again = pull_events_products(pulled, settings, [EVENT.id, "us6000none"], prov, retry=QUICK_RETRY)
    assert [r.new_products for r in again] == [[], []] and not any(r.changed for r in again)
    assert counts(pulled, *TABLES) == {"event_details": 2, "event_products": 4, "shakemap_grids": 1}


@pytest.mark.slow
def test_detail_without_products_and_unknown_event(pulled: Any, settings: Any, prov: Provider) -> None:
    rep = _pull(pulled, settings, prov, "us6000none")  # served without a published detail: no products
    assert rep.detail_found and rep.new_products == [] and rep.alert_level is None and not rep.changed
    assert counts(pulled, *TABLES) == {"event_details": 1, "event_products": 0, "shakemap_grids": 0}
    with pytest.raises(UnknownEvent, match="no event 'us9999zzzz' in the lake"):
        _pull(pulled, settings, prov, "us9999zzzz")


@pytest.mark.slow
def test_the_detail_is_asked_for_by_the_id_given_first(lake: Any, settings: Any, server: FDSNEventServer,
                                                       prov: Provider) -> None:
    """An event known by several ComCat ids (an imported detail lists them all) was asked for by the first
    alias in name order ('products pull us7000pn9s' fetched 'at00sttln4'): the id given comes first,
    then the preferred one."""
    rows = table(solution("USGS", EVENT.id, "2025-03-28T06:20:52", EVENT.lat, EVENT.lon, EVENT.mag,
                          aliases=["at00aaaa", "pt00bbbb"]))
    ingest_solutions(lake, rows, "test", "rows", "test://rows", None, settings)
    server.publish_detail(synthetic_detail(extra_ids=("at00aaaa", "pt00bbbb")), {"download/grid.xml": synthetic_grid()})

    def asked() -> list[str]:
        return [r.params.get("eventid", "") for r in server.query_requests() if r.params.get("format") == "geojson"]

    assert _pull(lake, settings, prov, "pt00bbbb").detail_found
    assert asked() == ["pt00bbbb"]
    (our_id,) = lake.read_table("events").column("event_id").to_pylist()
    assert _pull(lake, settings, prov, our_id).detail_found
    assert asked() == ["pt00bbbb", EVENT.id]  # our id: the preferred ComCat id, not the first alias


@pytest.mark.slow
def test_products_follow_a_pull_above_the_magnitude_floor(lake: Any, settings: Any, server: FDSNEventServer,
                                                          prov: Provider) -> None:
    server.publish_detail(synthetic_detail(), {"download/grid.xml": synthetic_grid()})
    since = dt.datetime.now(dt.UTC)
    pull_provider(lake, settings, prov, "2025-03-01", "2025-04-01", retry=QUICK_RETRY, initial_window=dt.timedelta(days=31))
    reports = pull_products_since(lake, settings, since, provider=prov, retry=QUICK_RETRY)
    assert [r.provider_event_id for r in reports] == [EVENT.id]  # the M5.0 is below the 5.5 floor
    assert reports[0].changed and counts(lake, "shakemap_grids") == {"shakemap_grids": 1}


@pytest.mark.slow
def test_real_mandalay_detail_refuses_a_grid_of_another_event(lake: Any, settings: Any, shared_data: Path) -> None:
    rows = table(solution("USGS", "us7000pn9s", "2025-03-28T06:20:52.709", 22.0014, 95.9247, 7.7))
    detail = json.loads((shared_data / "usgs_products/comcat_detail_us7000pn9s.geojson").read_bytes())
    loma = (shared_data / "shakemap/usgs_lomaprieta_1989_grid.xml").read_bytes()
    with serve_events(rows) as srv:
        prov = provider_for(srv)
        pull_provider(lake, settings, prov, "2025-03-28", "2025-03-29", retry=QUICK_RETRY, initial_window=dt.timedelta(days=1))
        srv.publish_detail(detail, {"download/grid.xml": loma})
        rep = pull_event_products(lake, settings, "us7000pn9s", prov, retry=QUICK_RETRY)
    assert rep.alert_level == "red" and rep.grid_product_id is None
    assert len(rep.problems) == 1 and "grid of event 19891018000415: expected event" in rep.problems[0]
    n = sum(len(v) for v in detail["properties"]["products"].values())
    assert counts(lake, *TABLES) == {"event_details": 1, "event_products": n, "shakemap_grids": 0}
    fault = _query(lake, "SELECT fault_strike_deg, fault_dip_deg, fault_length_km, fault_segment_count FROM event_products "
                         "WHERE product_type = 'finite-fault'")
    assert fault == [(358.0, 82.0, 200.0, 4)]
    pager = _query(lake, "SELECT alert_level, product_source FROM event_products WHERE product_type = 'losspager'")
    assert pager == [("red", "us")]


@pytest.mark.slow
def test_quakeml_focal_mechanisms_are_stored_as_product_versions(lake: Any, settings: Any) -> None:
    from catalogs.focal import parse_focal_mechanisms
    from catalogs.focal_store import store_focal_mechanisms

    ingest_solutions(lake, table(solution("ISC", "ev1", "2025-01-01T00:00:00", 10.0, 20.0, 6.1)), "test", "rows", "t://", None,
                     settings)
    doc = b"""<?xml version="1.0"?><q:quakeml xmlns:q="http://quakeml.org/xmlns/quakeml/1.2" xmlns="http://quakeml.org/xmlns/bed/1.2">
<eventParameters publicID="smi:x/ep"><event publicID="smi:x/event?eventid=ev1"><preferredFocalMechanismID>smi:x/fm1</preferredFocalMechanismID>
<focalMechanism publicID="smi:x/fm1"><nodalPlanes><nodalPlane1><strike><value>30</value></strike><dip><value>60</value></dip>
<rake><value>90</value></rake></nodalPlane1><nodalPlane2><strike><value>210</value></strike><dip><value>30</value></dip>
<rake><value>90</value></rake></nodalPlane2></nodalPlanes></focalMechanism></event>
<event publicID="smi:x/event?eventid=unknown"><focalMechanism publicID="smi:x/fm9"><nodalPlanes><nodalPlane1><strike><value>1</value></strike>
<dip><value>2</value></dip></nodalPlane1></nodalPlanes></focalMechanism></event></eventParameters></q:quakeml>"""
    fms = parse_focal_mechanisms(doc, "fm.xml")
    assert store_focal_mechanisms(lake, "ISC", fms) == 1  # the event the lake does not know is skipped
    assert store_focal_mechanisms(lake, "ISC", fms) == 0
    rows = _query(lake, "SELECT product_type, product_code, product_preferred_weight, nodal_plane1_strike_deg, "
                        "nodal_plane2_strike_deg FROM event_products")
    assert rows == [("focal-mechanism", "smi:x/fm1", 1, 30.0, 210.0)]
