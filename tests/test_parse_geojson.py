"""USGS GeoJSON summary feed reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalogs.errors import ParseError
from catalogs.geojson_feed import parse_geojson_feed
from catalogs.rows import SOLUTION_ROW_SCHEMA

FEED = Path(__file__).parent / "data" / "catalogs" / "usgs_feed.geojson"


def test_feed_fields_follow_the_documented_mapping() -> None:
    table = parse_geojson_feed(FEED)
    assert table.schema == SOLUTION_ROW_SCHEMA
    doc = json.loads(FEED.read_text())
    rows = table.to_pylist()
    assert len(rows) == len(doc["features"])
    for row, feature in zip(rows, doc["features"]):
        props = feature["properties"]
        lon, lat, depth = feature["geometry"]["coordinates"]
        assert row["provider"] == "USGS"
        assert (row["origin_longitude_deg"], row["origin_latitude_deg"], row["origin_depth_km"]) == (lon, lat, depth)
        assert int(row["origin_time_utc"].timestamp() * 1000) == props["time"]
        assert row["magnitude_value"] == props["mag"]
        assert (row["origin_agency"], row["magnitude_author"]) == (props["net"], props["net"])
        assert row["region_name"] == props["place"]
    first, second, third = rows
    assert first["provider_event_id"] == "us6000m0xl"
    assert first["alias_ids"] == ["pt24001000", "at00s6mxgd"]
    assert first["updated_time_utc"].isoformat() == "2024-05-29T16:26:40.123000+00:00"
    assert (first["review_status"], first["event_type"], first["magnitude_type"]) == ("reviewed", "earthquake", "mww")
    assert second["magnitude_value"] is None and second["event_type"] == "quarry blast"
    # no feature id: net + code; "Reviewed" lower-cased; ComCat's "ice_quake" in the QuakeML vocabulary
    assert (third["provider_event_id"], third["review_status"], third["event_type"]) == (
        "ak024abcd",
        "reviewed",
        "ice quake",
    )
    assert third["alias_ids"] == [] and third["updated_time_utc"] is None
    assert [r["source_ref"] for r in rows] == [f"usgs_feed.geojson#{i}" for i in (1, 2, 3)]


def test_single_feature_and_provider_argument() -> None:
    feature = json.loads(FEED.read_text())["features"][0]
    table = parse_geojson_feed(json.dumps(feature).encode(), provider="ComCat", source_name="detail.geojson")
    assert table.to_pylist()[0]["provider"] == "ComCat"
    assert table.column("source_ref").to_pylist() == ["detail.geojson#1"]


def _feed(*features: dict) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def _feature(
    lon: object = 10.0, lat: object = 20.0, depth: object = 5.0, mag: object = 5.0, time: object = 1_600_000_000_000
) -> dict:
    return {
        "type": "Feature",
        "id": "xx1",
        "properties": {"mag": mag, "time": time, "net": "xx", "code": "1"},
        "geometry": {"type": "Point", "coordinates": [lon, lat, depth]},
    }


@pytest.mark.parametrize(
    ("kwargs", "column"),
    [
        ({"lat": 90.5}, "geometry.coordinates[1]"),
        ({"lon": "east"}, "geometry.coordinates[0]"),
        ({"depth": 801}, "geometry.coordinates[2]"),
        ({"mag": 11}, "properties.mag"),
        ({"time": "soon"}, "properties.time"),
        ({"time": 99_999_999_999_999}, "properties.time"),
    ],
)
def test_bad_features(kwargs: dict, column: str) -> None:
    good = _feature()
    good["id"] = "ok1"
    data = _feed(good, _feature(**kwargs))
    with pytest.raises(ParseError) as err:
        parse_geojson_feed(data, source_name="feed.json")
    assert (err.value.source, err.value.row, err.value.column) == ("feed.json", 2, column)
    rows, problems = parse_geojson_feed(data, source_name="feed.json", strict=False)
    assert rows.column("provider_event_id").to_pylist() == ["ok1"]
    assert [(p.row, p.column) for p in problems] == [(2, column)]


def test_not_a_feed() -> None:
    for data, why in (
        (b"{", "malformed JSON at line 1"),
        (b"[1, 2]", "not a GeoJSON feed"),
        (b'{"type": "Point"}', "not a GeoJSON feed"),
        (b"\xff\xfe\x00", "not UTF-8|malformed"),
    ):
        with pytest.raises(ParseError, match=why):
            parse_geojson_feed(data, source_name="x.geojson")
