"""The local FDSN event service: ObsPy's real client against it, parameters, caps and faults."""

from __future__ import annotations

import datetime as dt
import http.client
import io
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from catalogs.errors import CatalogError
from catalogs.fdsntext import parse_fdsn_text
from catalogs.fdsnws_server import FDSNEventServer, serve_events
from catalogs.quakeml import parse_quakeml
from tests.fdsn_fixtures import comcat_rows, demo_rows, fdsn_service, window  # noqa: F401 - fixtures

Q = "/fdsnws/event/1/query"
DEMO_CAP = 10  # the demo sample holds 35 events of 2023: a request for all of them is over the cap


def get(server: FDSNEventServer, path: str, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(server.url + path, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, dict(e.headers), e.read()


def ids_of(body: bytes) -> list[str]:
    return parse_quakeml(body).column("provider_event_id").to_pylist()


@pytest.fixture(scope="module")
def open_service(comcat_rows: pa.Table) -> Iterator[FDSNEventServer]:  # noqa: F811
    """The real ComCat rows without a cap (for comparing filters with a reference)."""
    with serve_events(comcat_rows) as server:
        yield server


@pytest.fixture(scope="module")
def demo_service(demo_rows: pa.Table) -> Iterator[FDSNEventServer]:  # noqa: F811
    """The 40 bundled demo events, capped at 10 per request (413 mode): parameters, caps, the WADL
    and the client's discovery need no ../shared."""
    with serve_events(demo_rows, cap=DEMO_CAP, cap_mode="413") as server:
        yield server


@pytest.fixture
def small_service(demo_rows: pa.Table) -> Iterator[FDSNEventServer]:  # noqa: F811
    """A fresh service of two days of real events (the Kahramanmaraş M7.8 and M7.5 of the demo
    sample), for fault injection."""
    rows = window(demo_rows, "2023-02-06", "2023-02-08")
    assert sorted(rows.column("provider_event_id").to_pylist()) == ["us6000jllz", "us6000jlqa"]
    with serve_events(rows) as server:
        yield server


def test_the_demo_sample_is_what_its_readme_says(demo_rows: pa.Table) -> None:  # noqa: F811
    """40 events from 2023-01-08 to 2024-02-20, M 5.1 to 7.8 (flows/demo_data/README.md)."""
    times = demo_rows.column("origin_time_utc")
    mags = demo_rows.column("magnitude_value")
    assert demo_rows.num_rows == 40 and len(set(demo_rows.column("provider_event_id").to_pylist())) == 40
    assert (pc.min(times).as_py().date(), pc.max(times).as_py().date()) == (dt.date(2023, 1, 8), dt.date(2024, 2, 20))
    assert (pc.min(mags).as_py(), pc.max(mags).as_py()) == (5.1, 7.8)
    assert window(demo_rows, "2023-01-01", "2024-01-01").num_rows == 35


def test_obspy_client_discovers_only_the_event_service(demo_service: FDSNEventServer) -> None:
    from obspy import UTCDateTime
    from obspy.clients.fdsn import Client

    client = Client(demo_service.url, user_agent="qe-test")
    assert "event" in client.services and "station" not in client.services and "dataselect" not in client.services
    assert client.services["available_event_contributors"] == {"USGS"}
    cat = client.get_events(starttime=UTCDateTime(2023, 2, 6), endtime=UTCDateTime(2023, 2, 6, 12), minmagnitude=6)
    expected = window(comcat_rows_of(demo_service), "2023-02-06", "2023-02-06T12:00:00")
    expected = expected.filter(pc.greater_equal(expected.column("magnitude_value"), 6))
    assert sorted(expected.column("provider_event_id").to_pylist()) == ["us6000jllz", "us6000jlqa"]
    assert sorted(str(e.resource_id).split("eventid=")[-1] for e in cat) == sorted(expected.column("provider_event_id").to_pylist())
    # The text format parses with ObsPy's own EVENTTXT reader.
    from obspy import read_events

    buf = io.BytesIO()
    client.get_events(starttime=UTCDateTime(2023, 2, 6), endtime=UTCDateTime(2023, 2, 6, 12), minmagnitude=6,
                      format="text", filename=buf)
    assert len(read_events(io.StringIO(buf.getvalue().decode()), format="EVENTTXT")) == expected.num_rows
    assert {r.user_agent for r in demo_service.requests} >= {"qe-test"}


def comcat_rows_of(server: FDSNEventServer) -> pa.Table:
    return server.index.rows


@pytest.mark.parametrize(
    ("query", "predicate"),
    [
        ("minmag=6.5", lambda r: r["magnitude_value"] >= 6.5),
        ("maxmagnitude=5.0", lambda r: r["magnitude_value"] <= 5.0),
        ("minlatitude=30&maxlatitude=45&minlon=25&maxlongitude=50", lambda r: 30 <= r["origin_latitude_deg"] <= 45 and 25 <= r["origin_longitude_deg"] <= 50),
        ("minlongitude=170&maxlongitude=-170", lambda r: r["origin_longitude_deg"] >= 170 or r["origin_longitude_deg"] <= -170),
        ("mindepth=300&maxdepth=400", lambda r: 300 <= r["origin_depth_km"] <= 400),
        ("start=2023-02-06T01:00:00&end=2023-02-06T02:00:00",
         lambda r: dt.datetime(2023, 2, 6, 1, tzinfo=dt.UTC) <= r["origin_time_utc"] <= dt.datetime(2023, 2, 6, 2, tzinfo=dt.UTC)),
        ("magnitudetype=MWW&minmag=7", lambda r: r["magnitude_type"] == "mww" and r["magnitude_value"] >= 7),
        ("eventtype=volcanic%20eruption", lambda r: r["event_type"] == "volcanic eruption"),
    ],
)
def test_query_filters_match_a_row_by_row_reference(open_service: FDSNEventServer, query: str, predicate: Any) -> None:
    rows = comcat_rows_of(open_service).to_pylist()
    expected = sorted(r["provider_event_id"] for r in rows if predicate(r))
    status, _, body = get(open_service, f"{Q}?{query}&format=text")
    if not expected:
        assert status == 204
        return
    assert status == 200
    assert sorted(parse_fdsn_text(body).column("provider_event_id").to_pylist()) == expected


def test_radius_order_limit_offset_and_eventid(fdsn_service: FDSNEventServer) -> None:  # noqa: F811
    rows = comcat_rows_of(fdsn_service)
    lat, lon = rows.column("origin_latitude_deg").to_numpy(), rows.column("origin_longitude_deg").to_numpy()
    p0, p = np.radians(37.2), np.radians(lat)
    a = np.sin((p - p0) / 2) ** 2 + np.cos(p0) * np.cos(p) * np.sin(np.radians(lon - 37.0) / 2) ** 2
    within = np.degrees(2 * np.arcsin(np.sqrt(a))) <= 3.0
    _, _, body = get(fdsn_service, f"{Q}?latitude=37.2&longitude=37.0&maxradius=3&orderby=magnitude")
    got = parse_quakeml(body)
    assert sorted(got.column("provider_event_id").to_pylist()) == sorted(rows.filter(pa.array(within)).column("provider_event_id").to_pylist())
    mags = got.column("magnitude_value").to_pylist()
    assert mags == sorted(mags, reverse=True)
    _, _, asc = get(fdsn_service, f"{Q}?latitude=37.2&longitude=37.0&maxradius=3&orderby=time-asc&limit=5&offset=3")
    times = parse_quakeml(asc).column("origin_time_utc").to_pylist()
    all_times = sorted(got.column("origin_time_utc").to_pylist())
    assert times == all_times[2:7]
    one = rows.column("provider_event_id")[100].as_py()
    _, _, body = get(fdsn_service, f"{Q}?eventid={one}")
    assert ids_of(body) == [one]


def test_bad_parameters_are_400_with_a_message(demo_service: FDSNEventServer) -> None:
    for query, words in [("minlatitude=91", "minlatitude"), ("starttime=yesterday", "bad time"),
                         ("frobnicate=1", "unknown parameter"), ("orderby=size", "orderby"),
                         ("format=csv", "format"), ("maxradius=5", "latitude and longitude"),
                         ("start=2024-01-02&end=2024-01-01", "after endtime")]:
        status, _, body = get(demo_service, f"{Q}?{query}")
        assert status == 400 and words in body.decode(), (query, body)


def test_nodata_204_or_404_and_the_cap(demo_service: FDSNEventServer) -> None:
    assert get(demo_service, f"{Q}?start=1990-01-01&end=1990-02-01")[0] == 204
    assert get(demo_service, f"{Q}?start=1990-01-01&end=1990-02-01&nodata=404")[0] == 404
    status, _, body = get(demo_service, f"{Q}?start=2023-01-01&end=2024-01-01")  # 35 events
    assert status == 413 and str(DEMO_CAP).encode() in body  # capped at 10 per request
    status, _, body = get(demo_service, f"{Q}?start=2023-01-01&end=2024-01-01&limit=5&format=text")
    assert status == 200 and parse_fdsn_text(body).num_rows == 5
    status, _, body = get(demo_service, f"{Q}?start=2023-01-01&end=2023-03-22&format=text")  # 10 events: at the cap
    assert status == 200 and parse_fdsn_text(body).num_rows == DEMO_CAP
    rows = comcat_rows_of(demo_service)
    with serve_events(rows, cap=7, cap_mode="truncate") as trunc:
        status, _, body = get(trunc, f"{Q}?start=2023-01-01&end=2024-01-01&orderby=time-asc&format=text")
        assert status == 200
        first = sorted(window(rows, "2023-01-01", "2024-01-01").column("origin_time_utc").to_pylist())[:7]
        assert parse_fdsn_text(body).column("origin_time_utc").to_pylist() == first
    with pytest.raises(CatalogError, match="cap_mode"):
        serve_events(rows, cap_mode="drop")  # type: ignore[arg-type]


def test_version_wadl_catalogs_and_unknown_paths(demo_service: FDSNEventServer) -> None:
    assert get(demo_service, "/fdsnws/event/1/version")[2].decode().count(".") == 2
    wadl = get(demo_service, "/fdsnws/event/1/application.wadl")[2].decode()
    assert f'base="{demo_service.url}/fdsnws/event/1/"' in wadl
    assert b"<Catalog>" in get(demo_service, "/fdsnws/event/1/catalogs")[2]
    for path in ("/fdsnws/station/1/application.wadl", "/fdsnws/dataselect/1/query", "/nothing"):
        assert get(demo_service, path)[0] == 404


def test_geojson_feed_of_the_served_rows(small_service: FDSNEventServer) -> None:
    from catalogs.geojson_feed import parse_geojson_feed

    status, _, body = get(small_service, "/earthquakes/feed/v1.0/summary/4.5_day.geojson")
    assert status == 200
    feed = parse_geojson_feed(body)
    rows = small_service.index.rows
    newest = pc.max(rows.column("origin_time_utc")).as_py()
    expected = window(rows, (newest - dt.timedelta(days=1)).replace(tzinfo=None).isoformat(), "2100-01-01")
    assert sorted(feed.column("provider_event_id").to_pylist()) == sorted(expected.column("provider_event_id").to_pylist())
    assert json.loads(body)["metadata"]["count"] == feed.num_rows
    assert get(small_service, "/earthquakes/feed/v1.0/summary/7.0_day.geojson")[0] == 404


def test_faults_as_a_client_sees_them(small_service: FDSNEventServer) -> None:
    base = f"{Q}?start=2023-02-06&end=2023-02-07"
    normal = get(small_service, base)[2]
    small_service.faults.push("503", times=2, retry_after=7)
    for _ in range(2):
        status, headers, _ = get(small_service, base)
        assert status == 503 and headers["Retry-After"] == "7"
    assert get(small_service, base)[2] == normal  # the fault is used up
    small_service.faults.push("429", retry_after=3)
    assert get(small_service, base)[:2][0] == 429
    small_service.faults.push("500")
    small_service.faults.push("413")
    small_service.faults.push("400", message="starttime is not supported here")
    assert [get(small_service, base)[0] for _ in range(3)] == [500, 413, 400]
    small_service.faults.push("400", message="starttime is not supported here")
    assert b"starttime is not supported here" in get(small_service, base)[2]
    small_service.faults.push("html200")
    status, headers, body = get(small_service, base)
    assert status == 200 and headers["Content-Type"] == "text/html" and body.lower().startswith(b"<!doctype html")
    small_service.faults.push("empty200")
    assert get(small_service, base)[:3:2] == (200, b"")
    small_service.faults.push("truncated")
    status, _, body = get(small_service, base)
    assert status == 200 and len(body) < len(normal)
    with pytest.raises(CatalogError):  # half a QuakeML document does not parse
        parse_quakeml(body)
    small_service.faults.push("reset")
    with pytest.raises((http.client.IncompleteRead, ConnectionError, urllib.error.URLError)):
        get(small_service, base)
    small_service.faults.push("timeout", seconds=5)
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        get(small_service, base, timeout=0.5)
    assert small_service.faults.pending == 0
    # the server records a request after answering it, so a client can be a request ahead of the
    # record: the answers above show the order, the record shows each fault used once
    deadline = time.monotonic() + 60  # a safety net: the loop ends when the 12th record is there
    while sum(1 for r in small_service.requests if r.fault) < 12 and time.monotonic() < deadline:
        time.sleep(0.01)
    kinds = sorted(r.fault for r in small_service.requests if r.fault)
    assert kinds == sorted(["503", "503", "429", "500", "413", "400", "400", "html200", "empty200", "truncated", "reset",
                            "timeout"])
    with pytest.raises(CatalogError, match="unknown fault"):
        small_service.faults.push("teapot")


def test_faults_only_hit_their_path(small_service: FDSNEventServer) -> None:
    small_service.faults.push("500", path="application.wadl")
    assert get(small_service, f"{Q}?start=2023-02-06&end=2023-02-07")[0] == 200
    assert get(small_service, "/fdsnws/event/1/application.wadl")[0] == 500
    small_service.faults.clear()
