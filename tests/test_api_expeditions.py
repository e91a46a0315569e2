"""Expeditions, survey downloads, embargo and publication, through the real service."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tests.api_world import T


def _ids(http: Any, world: Any, partner: str) -> list[str]:
    r = http.get("/v1/expeditions", headers=world.auth(partner))
    assert r.status_code == 200
    return sorted(row["expedition_id"] for row in r.json()["rows"])


@pytest.mark.slow
def test_partners_see_the_expeditions_of_their_countries(http: Any, api_world: Any) -> None:
    assert _ids(http, api_world, "chn") == ["EXP-2024-CHN-001", "EXP-2024-CHN-002"]
    assert _ids(http, api_world, "afg") == ["EXP-2023-AFG-001"]


def test_named_expeditions_extend_the_scope(http: Any, api_world: Any) -> None:
    assert _ids(http, api_world, "named") == ["EXP-2023-AFG-001"]


def test_expeditions_not_yet_approved_are_hidden(http: Any, api_world: Any) -> None:
    assert _ids(http, api_world, "phl") == []  # EXP-2023-PHL-001 is only proposed
    assert http.get("/v1/expeditions/EXP-2023-PHL-001", headers=api_world.auth("phl")).status_code == 404


def test_expedition_record_without_internal_columns(http: Any, api_world: Any) -> None:
    r = http.get("/v1/expeditions/EXP-2024-CHN-001", headers=api_world.auth("chn"))
    body = r.json()
    exp = body["expedition"]
    assert exp["expedition_status"] == "approved" and exp["country_iso3_list"] == ["CHN", "KGZ"]
    assert "review_reason" not in exp and "changed_by" not in exp
    assert body["surveys_visible"]["buildings"] == 4 and body["surveys_embargoed"] == 6
    assert body["surveys_published"] is False


def test_embargo_hides_recent_survey_rows(http: Any, api_world: Any) -> None:
    r = http.get("/v1/expeditions/EXP-2024-CHN-001/surveys/buildings", headers=api_world.auth("chn"),
                 params={"format": "csv"})
    tbl = pacsv.read_csv(io.BytesIO(r.content))
    assert sorted(tbl.column("building_id").to_pylist()) == [f"chnold-{i}" for i in range(4)]
    assert "surveyor_name" not in tbl.column_names


def test_embargo_ends_by_the_clock(http: Any, api_world: Any) -> None:
    url = "/v1/expeditions/EXP-2024-CHN-001/surveys/buildings"
    try:
        api_world.now[0] = T + timedelta(days=27, hours=23)  # fresh rows: ingested T-2 d, embargo 30 d
        assert len(http.get(url, headers=api_world.auth("chn")).json()["features"]) == 4
        api_world.now[0] = T + timedelta(days=28, seconds=1)
        assert len(http.get(url, headers=api_world.auth("chn")).json()["features"]) == 10
    finally:
        api_world.now[0] = T
    assert len(http.get(url, headers=api_world.auth("chn")).json()["features"]) == 4  # clock back: hidden again


def test_partner_without_embargo_sees_rows_at_once(http: Any, api_world: Any) -> None:
    r = http.get("/v1/expeditions/EXP-2023-AFG-001/surveys/buildings", headers=api_world.auth("named"))
    assert len(r.json()["features"]) == 5
    r = http.get("/v1/expeditions/EXP-2023-AFG-001/surveys/buildings", headers=api_world.auth("afg"))
    assert r.json()["features"] == []  # 30-day embargo, ingested a day ago


def test_publication_releases_surveys_before_the_embargo(http: Any, api_world: Any) -> None:
    from expedition.delivery.partners import publish_surveys

    url = "/v1/expeditions/EXP-2024-CHN-002/surveys/buildings"
    assert http.get(url, headers=api_world.auth("chn")).json()["features"] == []
    first = publish_surveys(api_world.lake, "EXP-2024-CHN-002", by="Expedition Lead", note="preliminary release")
    again = publish_surveys(api_world.lake, "EXP-2024-CHN-002", by="Someone Else")
    assert first.newly_published and not again.newly_published and again.published_by == "Expedition Lead"
    features = http.get(url, headers=api_world.auth("chn")).json()["features"]
    assert sorted(f["properties"]["building_id"] for f in features) == ["chn2-0", "chn2-1", "chn2-2"]
    body = http.get("/v1/expeditions/EXP-2024-CHN-002", headers=api_world.auth("chn")).json()
    assert body["surveys_published"] is True and body["surveys_embargoed"] == 0
    # publication of one expedition releases nothing else
    assert len(http.get("/v1/expeditions/EXP-2024-CHN-001/surveys/buildings",
                        headers=api_world.auth("chn")).json()["features"]) == 4


def test_geojson_download(http: Any, api_world: Any) -> None:
    r = http.get("/v1/expeditions/EXP-2023-AFG-001/surveys/buildings", headers=api_world.auth("named"))
    assert r.headers["content-type"] == "application/geo+json"
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    first = min(fc["features"], key=lambda f: f["properties"]["building_id"])
    assert first["geometry"] == {"type": "Point", "coordinates": [78.0, 41.0]}
    assert first["properties"]["site_latitude_deg"] == 41.0 and "surveyor_name" not in first["properties"]


def test_parquet_download(http: Any, api_world: Any) -> None:
    r = http.get("/v1/expeditions/EXP-2023-AFG-001/surveys/buildings", headers=api_world.auth("named"),
                 params={"format": "parquet"})
    tbl = pq.read_table(io.BytesIO(r.content))
    assert tbl.num_rows == 5 and set(tbl.column("expedition_id").to_pylist()) == {"EXP-2023-AFG-001"}
    geo = json.loads(tbl.schema.metadata[b"geo"])  # GeoParquet, as `expedition survey export` writes it
    assert geo["primary_column"] == "site_geometry" and geo["columns"]["site_geometry"]["encoding"] == "WKB"
    assert 'filename="EXP-2023-AFG-001_buildings.parquet"' in r.headers["content-disposition"]


def test_bad_survey_kind_or_format(http: Any, api_world: Any) -> None:
    base = "/v1/expeditions/EXP-2023-AFG-001/surveys/"
    assert http.get(base + "volcanoes", headers=api_world.auth("named")).status_code == 404
    assert http.get(base + "buildings", params={"format": "xlsx"}, headers=api_world.auth("named")).status_code == 400


def test_brief_withheld_while_surveys_are_under_embargo(http: Any, api_world: Any) -> None:
    r = http.get("/v1/expeditions/EXP-2024-CHN-001/brief", headers=api_world.auth("chn"))
    assert r.status_code == 403 and "embargo" in r.json()["detail"]
    assert http.get("/v1/expeditions/EXP-2024-CHN-001/brief", params={"lang": "fr"},
                    headers=api_world.auth("chn")).status_code == 400


@pytest.mark.slow
def test_brief_of_a_fully_visible_expedition(http: Any, api_world: Any) -> None:
    pytest.importorskip("expedition.outputs.briefs.generate", reason="the briefs package is not installed")
    r = http.get("/v1/expeditions/EXP-2023-AFG-001/brief", headers=api_world.auth("named"),
                 params={"format": "html", "lang": "en"}, timeout=300)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    assert "EXP-2023-AFG-001" in r.text and "<html" in r.text.lower()
    assert r.headers["x-qe-snapshot"].isdigit()
