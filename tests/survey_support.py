"""Shared helpers of the survey tests, a pytest plugin (registered in tests/conftest.py; no tests here):
small data files, one session-scoped lake (fixture ``survey_lake``),
expeditions made through the records API (as the trigger evaluator makes them), and a survey context for
the 2015 Gorkha mainshock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from warehouse.lake import Lake

DATA = Path(__file__).parent / "data" / "surveys"

# 2015-04-25 Gorkha mainshock (USGS ComCat us20002926): origin time, epicentre, magnitude.
GORKHA_TIME = dt.datetime(2015, 4, 25, 6, 11, 25, tzinfo=dt.UTC)
GORKHA_LAT, GORKHA_LON, GORKHA_MW = 28.231, 84.731, 7.8


@pytest.fixture(scope="session")
def survey_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """One initialised lake for all survey tests (each test works in its own expedition)."""
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    lake = Lake.from_settings(load_settings(tmp_path_factory.mktemp("surveys") / "home"))
    lake.init()
    return lake


def seed_expedition(lake: Any, end_date: dt.date | None = None) -> str:
    """Open a Nepal expedition for the Gorkha mainshock through :mod:`expedition.decisions.records`; returns its id."""
    from expedition.decisions import records
    from expedition.decisions.records import Expedition

    with lake.writer() as w:
        exp_id = records.next_expedition_id(w.con, 2015, "NPL")
        exp = Expedition(
            expedition_id=exp_id, expedition_version=0, recorded_utc=GORKHA_TIME, expedition_status="approved",
            expedition_tier=3, expedition_priority=1, alert_level="red", review_flag=False, review_reason=None,
            expedition_title="Gorkha earthquake", primary_country_iso3="NPL", country_iso3_list=["NPL"],
            mainshock_event_id="us20002926", mainshock_origin_time_utc=GORKHA_TIME,
            mainshock_latitude_deg=GORKHA_LAT, mainshock_longitude_deg=GORKHA_LON, mainshock_depth_km=8.2,
            mainshock_magnitude_value=GORKHA_MW, mainshock_magnitude_type="mww", sequence_radius_km=89.0,
            sequence_window_days=960.0, sequence_event_count=1, team_members=["A. Surveyor"], objectives=None,
            start_date=None, end_date=end_date, opened_utc=GORKHA_TIME, opened_by="policy", opened_reason="test",
            policy_version="test", policy_sha256="0" * 64, changed_by=None, change_note=None,
        )
        records.write_version(w, exp, actor="policy", action="open", reason="survey test seed", previous=None)
    return exp_id


def gorkha_context(expedition_id: str = "EXP-2015-NPL-900", radius_km: float | None = None) -> Any:
    """A survey context for the Gorkha mainshock without a lake (pure validation tests)."""
    from expedition.surveys.context import SurveyContext, affected_radius_km

    return SurveyContext(
        expedition_id=expedition_id,
        window_start_utc=GORKHA_TIME,
        window_end_utc=dt.datetime.now(dt.UTC),
        epicentre_latitude_deg=GORKHA_LAT,
        epicentre_longitude_deg=GORKHA_LON,
        affected_radius_km=radius_km if radius_km is not None else affected_radius_km(GORKHA_MW),
    )


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path
