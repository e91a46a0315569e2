"""The FDSN event service over the lake, used by ObsPy's real client against uvicorn on 127.0.0.1.

Real data: the USGS ComCat export 2022-2024 (M5+, 4,118 events) imported with
catalogs.ingest.import_file; expected answers are computed independently from the CSV with pandas
and ObsPy's own geodetics. Tests without ../shared use the six events of tests.api_world.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

COMCAT = "catalogs/usgs_csv/comcat_export_2022-2024_m5plus.csv"


@pytest.fixture(scope="module")
def comcat(shared_data: Path) -> pd.DataFrame:
    df = pd.read_csv(shared_data / COMCAT, encoding="utf-8-sig", dtype={"id": str})
    df["time"] = pd.to_datetime(df["time"], utc=True)
    return df


@pytest.fixture(scope="module")
def real_service(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service over a lake holding the whole ComCat export (imported by the catalog importer)."""
    from catalogs.ingest import import_file
    from expedition.delivery.api.app import create_app
    from expedition.delivery.api.config import ApiConfig
    from expedition.delivery.api.server import BackgroundServer
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    home = tmp_path_factory.mktemp("fdsn-real") / "home"
    home.mkdir()
    settings = load_settings(home)
    lake = Lake.from_settings(settings)
    lake.init()
    import_file(lake, settings, shared_data / COMCAT)
    app = create_app(settings, config=ApiConfig(audit_flush_s=0.0, fdsn_max_events=20_000))
    with BackgroundServer(app) as srv:
        yield srv.url


@pytest.fixture(scope="module")
def client(real_service: str) -> Any:
    from obspy.clients.fdsn import Client

    return Client(real_service, timeout=60)


@pytest.mark.slow
def test_obspy_discovers_the_event_service(client: Any) -> None:
    assert "event" in client.services
    assert "dataselect" not in client.services and "station" not in client.services
    assert client.services["available_event_catalogs"] == {"QE"}


@pytest.mark.slow
def test_obspy_get_events_by_time_and_magnitude(client: Any, comcat: pd.DataFrame) -> None:
    from obspy import UTCDateTime

    cat = client.get_events(starttime=UTCDateTime("2023-01-01"), endtime=UTCDateTime("2023-12-31T23:59:59"),
                            minmagnitude=6.5)
    want = comcat[(comcat.time >= "2023-01-01") & (comcat.time <= "2023-12-31T23:59:59") & (comcat.mag >= 6.5)]
    assert len(cat) == len(want) > 5
    got_mags = sorted(round(ev.preferred_magnitude().mag, 2) for ev in cat)
    assert got_mags == sorted(round(m, 2) for m in want.mag)
    # newest first (orderby=time is the default)
    times = [ev.preferred_origin().time for ev in cat]
    assert times == sorted(times, reverse=True)


def test_obspy_eventid_by_agency_id(client: Any, comcat: pd.DataFrame) -> None:
    cat = client.get_events(eventid="us6000jllz")
    row = comcat[comcat.id == "us6000jllz"].iloc[0]
    assert len(cat) == 1
    ev = cat[0]
    assert ev.preferred_magnitude().mag == pytest.approx(row.mag)
    assert ev.preferred_origin().latitude == pytest.approx(row.latitude)
    assert ev.preferred_origin().depth == pytest.approx(row.depth * 1000.0)


def test_obspy_radius_query_matches_obspy_geodetics(client: Any, comcat: pd.DataFrame) -> None:
    from obspy.geodetics import locations2degrees

    cat = client.get_events(latitude=37.2, longitude=37.0, maxradius=3.0, minmagnitude=5.5)
    dist = locations2degrees(37.2, 37.0, comcat.latitude.to_numpy(), comcat.longitude.to_numpy())
    want = comcat[(dist <= 3.0) & (comcat.mag >= 5.5)]
    assert len(cat) == len(want) > 3


def test_obspy_text_format_and_ordering(client: Any, comcat: pd.DataFrame) -> None:
    from obspy import read_events

    buf = io.BytesIO()
    client.get_events(minmagnitude=7.4, orderby="magnitude", limit=5, format="text", filename=buf)
    text = buf.getvalue().decode()
    cat = read_events(io.StringIO(text), format="EVENTTXT")
    top = comcat.sort_values(["mag", "time"], ascending=False).head(5)
    assert [round(ev.magnitudes[0].mag, 2) for ev in cat] == [round(m, 2) for m in top.mag]
    assert text.startswith("#EventID|Time|")


def test_obspy_no_data(client: Any) -> None:
    from obspy.clients.fdsn.header import FDSNNoDataException

    with pytest.raises(FDSNNoDataException):
        client.get_events(minmagnitude=9.5)


def test_too_many_events_is_413(http: Any) -> None:
    r = http.get("/fdsnws/event/1/query")  # six events, this test server answers at most five
    assert r.status_code == 413 and "limit" in r.text
    assert http.get("/fdsnws/event/1/query", params={"limit": 5}).status_code == 200


def test_bad_parameters_are_400_with_a_message(http: Any) -> None:
    for params in ({"minmagnitude": "big"}, {"starttime": "yesterday"}, {"minlatitude": "91"},
                   {"orderby": "size"}, {"format": "json"}, {"nosuch": "1"}, {"maxradius": "5"},
                   {"starttime": "2024-01-02", "endtime": "2024-01-01"}):
        r = http.get("/fdsnws/event/1/query", params=params)
        assert r.status_code == 400, params
        assert r.text.startswith("Error 400") and "Request:" in r.text


def test_nodata_404_and_short_names(http: Any) -> None:
    r = http.get("/fdsnws/event/1/query", params={"minmag": 9.9, "nodata": 404})
    assert r.status_code == 404
    r = http.get("/fdsnws/event/1/query", params={"minmag": 7.5, "start": "2023-02-06", "end": "2023-02-07",
                                                  "format": "text"})
    lines = r.text.strip().splitlines()[1:]
    assert sorted(line.split("|")[0] for line in lines) == ["qe-tur-2023", "qe-tur-2023b"]


def test_box_across_the_antimeridian(http: Any) -> None:
    r = http.get("/fdsnws/event/1/query", params={"minlon": 130, "maxlon": -170, "format": "text"})
    ids = [line.split("|")[0] for line in r.text.strip().splitlines()[1:]]
    assert ids == ["qe-jpn-2024"]


def test_service_documents(http: Any, api_server: Any) -> None:
    assert http.get("/fdsnws/event/1/version").text.startswith("1.")
    wadl = http.get("/fdsnws/event/1/application.wadl").text
    assert 'base="/fdsnws/event/1/"' in wadl  # relative: never the client's Host header
    assert "<Catalog>QE</Catalog>" in http.get("/fdsnws/event/1/catalogs").text
    assert "<Contributor>QE</Contributor>" in http.get("/fdsnws/event/1/contributors").text


def test_fdsn_is_public_by_default_but_can_require_tokens(api_world: Any) -> None:
    import httpx

    from expedition.delivery.api.app import create_app
    from expedition.delivery.api.config import ApiConfig
    from expedition.delivery.api.server import BackgroundServer

    app = create_app(api_world.settings, config=ApiConfig(fdsn_requires_token=True, audit_flush_s=0.0))
    with BackgroundServer(app) as srv, httpx.Client(base_url=srv.url, timeout=30) as c:  # httpx: 5 s by default
        assert c.get("/fdsnws/event/1/query", params={"limit": 1}).status_code == 401
        ok = c.get("/fdsnws/event/1/query", params={"limit": 1}, headers=api_world.auth("afg"))
        assert ok.status_code == 200 and "<q:quakeml" in ok.text
