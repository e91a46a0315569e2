"""The package roots' own additions: ObsPy out and back, association without a lake, one event judged
without a lake (the step the evaluation takes), and the event mappings it accepts."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

import catalogs
import expedition
from expedition.decisions.response.judge import event_row
from tests.fdsn_fixtures import solution, table


def test_rows_to_obspy_and_back_keep_the_values() -> None:
    rows = table(
        solution("USGS", "us1", "2023-02-06T01:17:34", 37.23, 37.02, 7.8, depth=10.0),
        solution("USGS", "us2", "2023-02-06T10:24:48", 38.02, 37.20, 7.5, depth=7.4, mag_type="mww"),
    )
    cat = catalogs.to_obspy(rows)
    assert len(cat) == 2
    assert [e.magnitudes[0].mag for e in cat] == [7.8, 7.5]
    assert cat[1].origins[0].depth == pytest.approx(7400.0)  # QuakeML depths are metres
    back = catalogs.from_obspy(cat, provider="USGS")
    for name in ("provider_event_id", "origin_latitude_deg", "origin_longitude_deg", "magnitude_value", "origin_time_utc"):
        assert back.column(name).to_pylist() == rows.column(name).to_pylist(), name
    assert back.column("origin_depth_km").to_pylist() == pytest.approx([10.0, 7.4])


def test_associate_rows_joins_two_agencies_and_keeps_distinct_quakes_apart() -> None:
    rows = table(
        solution("USGS", "us1", "2023-02-06T01:17:34", 37.23, 37.02, 7.8),
        solution("EMSC", "em1", "2023-02-06T01:17:40", 37.30, 37.10, 7.7),  # 6 s, ~10 km: the same quake
        solution("USGS", "us2", "2023-02-06T10:24:48", 38.02, 37.20, 7.5),  # nine hours later: another
    )
    found = catalogs.associate_rows(rows)
    ids = found.event_ids.to_pylist()
    assert ids[0] == ids[1] != ids[2]
    assert ids[0].startswith("qe20230206T011734-")  # minted from the preferred (USGS) row
    assert found.is_new_event.tolist() == [True, True, True]


def test_event_row_takes_lake_and_catalog_columns() -> None:
    ev = event_row({"provider_event_id": "x1", "origin_time_utc": "2015-04-25T06:11:25Z", "origin_latitude_deg": 28.23,
                    "origin_longitude_deg": 84.73, "origin_depth_km": 8.2, "magnitude_value": 7.8})
    assert (ev.event_id, ev.event_revision, ev.depth_km, ev.magnitude) == ("x1", 0, 8.2, 7.8)
    assert ev.origin_time_utc == dt.datetime(2015, 4, 25, 6, 11, 25, tzinfo=dt.UTC)
    naive = event_row({"event_id": "e", "origin_time_utc": dt.datetime(2020, 1, 1), "latitude_deg": 1, "longitude_deg": 2})
    assert naive.origin_time_utc.tzinfo == dt.UTC and naive.magnitude is None
    with pytest.raises(expedition.ExpeditionError, match="needs origin_time_utc"):
        event_row({"origin_time_utc": "2020-01-01T00:00:00Z", "origin_latitude_deg": 1.0})


@pytest.mark.slow  # parses the shipped country boundaries and places in memory (no cache): ~5 s of CPU
def test_judge_refuses_an_event_below_the_floor_without_assessing_it() -> None:
    verdict = expedition.judge({"event_id": "small", "origin_time_utc": "2024-01-01T00:00:00Z",
                                "origin_latitude_deg": 27.7, "origin_longitude_deg": 85.3, "origin_depth_km": 10.0,
                                "magnitude_value": 4.2})
    assert not verdict.opens and verdict.countries == () and verdict.assessment is None
    assert not verdict.verdict.rule("gate_magnitude_floor").passed
    assert verdict.location.epicentre_iso3 == "NPL"
    assert "M 4.2 is below the magnitude floor 5.5" in verdict.reason


def test_package_roots_list_what_the_docs_use() -> None:
    assert {"read_events", "to_obspy", "from_obspy", "write_quakeml", "associate_rows", "pull_events"} <= set(catalogs.__all__)
    assert {"open", "judge", "DataRoot", "Judgement"} <= set(expedition.__all__)
    assert isinstance(catalogs.SOLUTION_ROW_SCHEMA, pa.Schema)
