"""Shared set-up of the partner service tests (imported by tests/test_api_*.py; holds no tests).

``api_world`` builds ONE lake per test session (memoised: the first module that asks builds it):
six real earthquakes (values from the USGS ComCat export), four expeditions written through the
records API (expedition.decisions.records.write_version / transition), survey building rows, and partners
with tokens issued by expedition.delivery.partners. ``api_server`` runs the real service with uvicorn on
127.0.0.1 (a free port) in a background thread for one test module.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

T = datetime(2024, 3, 1, tzinfo=UTC)  # the tests' "now" (the service clock; moved by some tests)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# (event_id, time, lat, lon, depth, mag, magtype, place, usgs id) — USGS ComCat, reviewed solutions.
EVENTS = [
    ("qe-tur-2023", "2023-02-06T01:17:34.342Z", 37.2256, 37.0143, 10.0, 7.8, "mww",
     "Pazarcik earthquake, Kahramanmaras earthquake sequence", "us6000jllz"),
    ("qe-tur-2023b", "2023-02-06T10:24:48.811Z", 38.0106, 37.1962, 7.432, 7.5, "mww",
     "Elbistan earthquake, Kahramanmaras earthquake sequence", "us6000jlqa"),
    ("qe-afg-2023", "2023-10-15T03:36:00.454Z", 34.6529, 62.1244, 9.0, 6.3, "mww",
     "34 km NNW of Herat, Afghanistan", "us6000lfn5"),
    ("qe-phl-2023", "2023-12-02T14:37:04.454Z", 8.5266, 126.4161, 40.0, 7.6, "mww",
     "19 km E of Gamut, Philippines", "us7000lff4"),
    ("qe-jpn-2024", "2024-01-01T07:10:09.476Z", 37.4874, 137.271, 10.0, 7.5, "mww",
     "2024 Noto Peninsula, Japan Earthquake", "us6000m0xl"),
    ("qe-chn-2024", "2024-01-22T18:09:04.340Z", 41.2555, 78.6538, 13.0, 7.0, "mww",
     "128 km WNW of Aykol, China", "us7000lsze"),
]

# expedition id -> (mainshock event, primary country, countries, final status)
EXPEDITIONS = {
    "EXP-2024-CHN-001": ("qe-chn-2024", "CHN", ["CHN", "KGZ"], "approved"),
    "EXP-2024-CHN-002": ("qe-jpn-2024", "CHN", ["CHN"], "deployed"),  # a second CHN one (publish test)
    "EXP-2023-AFG-001": ("qe-afg-2023", "AFG", ["AFG"], "deployed"),
    "EXP-2023-PHL-001": ("qe-phl-2023", "PHL", ["PHL"], "proposed"),  # not approved: hidden from partners
}


@dataclass
class World:
    home: Path
    settings: Any
    lake: Any
    tokens: dict[str, str]
    now: list[datetime] = field(default_factory=lambda: [T])

    def clock(self) -> datetime:
        return self.now[0]

    def auth(self, partner: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[partner]}"}


def _events_table() -> tuple[pa.Table, pa.Table]:
    from warehouse.tables import spec

    ev = [
        {"event_id": e[0], "origin_time_utc": utc(e[1]), "origin_latitude_deg": e[2], "origin_longitude_deg": e[3],
         "origin_depth_km": e[4], "magnitude_value": e[5], "magnitude_type": e[6], "magnitude_author": "us",
         "origin_agency": "us", "review_status": "reviewed", "event_type": "earthquake", "region_name": e[7],
         "preferred_provider": "USGS", "preferred_provider_event_id": e[8], "updated_time_utc": utc("2024-02-01T00:00:00Z"),
         "event_revision": 1}
        for e in EVENTS
    ]
    al = [{"provider": "USGS", "provider_event_id": e[8], "event_id": e[0]} for e in EVENTS]
    return (pa.Table.from_pylist(ev, schema=spec("events").schema),
            pa.Table.from_pylist(al, schema=spec("event_aliases").schema))


def _expedition(eid: str, event: tuple[Any, ...], primary: str, countries: list[str]) -> Any:
    from expedition.decisions.records import Expedition

    return Expedition(
        expedition_id=eid, expedition_version=1, recorded_utc=T, expedition_status="proposed",
        expedition_tier=2, expedition_priority=2, alert_level="orange", review_flag=False,
        review_reason="internal deliberation", expedition_title=f"{event[7]} M{event[5]}",
        primary_country_iso3=primary, country_iso3_list=countries, mainshock_event_id=event[0],
        mainshock_origin_time_utc=utc(event[1]), mainshock_latitude_deg=event[2], mainshock_longitude_deg=event[3],
        mainshock_depth_km=event[4], mainshock_magnitude_value=event[5], mainshock_magnitude_type=event[6],
        sequence_radius_km=100.0, sequence_window_days=300.0, sequence_event_count=1, team_members=["A. Lead"],
        objectives="damage survey", start_date=date(2024, 1, 25), end_date=None, opened_utc=T,
        opened_by="duty officer", opened_reason="test set-up", policy_version="test", policy_sha256="0" * 64,
        changed_by=None, change_note=None,
    )


def survey_rows(expedition_id: str, n: int, ingested: datetime, tag: str) -> pa.Table:
    """``n`` building observations of one expedition, all ingested at ``ingested``."""
    from warehouse.tables import spec

    s = spec("survey_buildings_obs")
    rows = []
    for i in range(n):
        rows.append({
            "expedition_id": expedition_id, "observation_id": f"{expedition_id}-{tag}-{i}",
            "observation_sha256": f"{tag}{i:062d}", "raw_sha256": f"{tag}".ljust(64, "0"), "raw_row_number": i + 2,
            "surveyor_name": "Surveyor Secret", "site_latitude_deg": 41.0 + i * 0.01, "site_longitude_deg": 78.0,
            "site_geometry": bytes.fromhex("0101000000") + pa.array([78.0, 41.0 + i * 0.01]).to_numpy().tobytes(),
            "building_id": f"{tag}-{i}", "damage_ems98_grade": i % 6, "typology_material": "masonry" if i % 2 else "rc",
            "ingest_batch_id": f"batch-{tag}", "ingested_time_utc": ingested,
        })
    return pa.Table.from_pylist(rows, schema=s.schema)


def build_world(home: Path) -> World:
    """The test lake, in ONE transaction after ``init`` (each lake connection costs about a second)."""
    from expedition.decisions.records import write_version
    from expedition.delivery.partners import add_partner_in, revoke_partner_in
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    home.mkdir(parents=True, exist_ok=True)
    settings = load_settings(home)
    lake = Lake.from_settings(settings)
    lake.init()
    events, aliases = _events_table()
    by_id = {e[0]: e for e in EVENTS}
    steps = {"approved": ["approved"], "deployed": ["approved", "deployed"], "proposed": []}
    with lake.writer() as w:
        w.write("events", events)
        w.write("event_aliases", aliases)
        for eid, (ev, primary, countries, status) in EXPEDITIONS.items():
            exp = write_version(w, _expedition(eid, by_id[ev], primary, countries), actor="duty officer",
                                action="open", reason="test set-up", previous=None)
            for st in steps[status]:  # the lifecycle path, version by version (as records.transition writes it)
                exp = write_version(w, exp.evolve(expedition_status=st), actor="duty officer",
                                    action="transition", reason=f"-> {st}", previous=exp)
        w.write("survey_buildings_obs", survey_rows("EXP-2024-CHN-001", 6, T - timedelta(days=2), "chnfresh"))
        w.write("survey_buildings_obs", survey_rows("EXP-2024-CHN-001", 4, T - timedelta(days=40), "chnold"))
        w.write("survey_buildings_obs", survey_rows("EXP-2024-CHN-002", 3, T - timedelta(days=1), "chn2"))
        w.write("survey_buildings_obs", survey_rows("EXP-2023-AFG-001", 5, T - timedelta(days=1), "afg"))
        tokens = {
            "chn": add_partner_in(w, "chn-partner", countries=["CHN"], embargo_days=30).token,
            "afg": add_partner_in(w, "afg-partner", countries=["AFG"], embargo_days=30).token,
            "phl": add_partner_in(w, "phl-partner", countries=["PHL"], embargo_days=0).token,
            "named": add_partner_in(w, "named-partner", expedition_ids=["EXP-2023-AFG-001"], embargo_days=0).token,
            "gone": add_partner_in(w, "gone-partner", countries=["CHN"]).token,
        }
        revoke_partner_in(w, "gone-partner")
    return World(home, settings, lake, tokens)


_WORLDS: dict[str, World] = {}
_SERVERS: dict[str, Any] = {}


@pytest.fixture(scope="module")
def api_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The shared test lake (built once per session, whichever module asks first)."""
    if "world" not in _WORLDS:
        _WORLDS["world"] = build_world(tmp_path_factory.mktemp("api-world") / "home")
    return _WORLDS["world"]


@pytest.fixture(scope="module")
def api_server(api_world: World, request: pytest.FixtureRequest) -> Any:
    """The real service (uvicorn, 127.0.0.1, free port) over ``api_world``: one per session, stopped
    when the session ends (every lake connection costs about a second, so modules share it)."""
    from expedition.delivery.api.app import create_app
    from expedition.delivery.api.config import ApiConfig
    from expedition.delivery.api.server import BackgroundServer

    if "server" not in _SERVERS:
        # a generous time limit: a loaded machine must not turn an ordinary query into a timeout
        # (the one test whose subject is the limit lowers it for itself: test_api_security)
        cfg = ApiConfig(row_limit=50, timeout_s=120.0, max_sql_chars=5_000, refresh_s=0.0, audit_flush_s=0.0,
                        fdsn_max_events=5, partner_rate_per_s=0.0)  # modules share it: no rate limit
        app = create_app(api_world.settings, config=cfg, clock=api_world.clock)
        srv = BackgroundServer(app).start()
        srv.app = app  # type: ignore[attr-defined]
        _SERVERS["server"] = srv
        request.config.add_cleanup(lambda: _SERVERS.pop("server").stop())
    return _SERVERS["server"]


@pytest.fixture(scope="module")
def http(api_server: Any) -> Iterator[Any]:
    import httpx

    with httpx.Client(base_url=api_server.url, timeout=30) as client:
        yield client
