"""Read-only SQL and named queries over HTTP: answer formats, parameters, limits."""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tests.api_world import EVENTS

SQL = "SELECT event_id, origin_time_utc, magnitude_value FROM events ORDER BY magnitude_value DESC, event_id"


def _expected() -> list[tuple[str, float]]:
    return sorted(((e[0], e[5]) for e in EVENTS), key=lambda t: (-t[1], t[0]))


def test_json_answer(http: Any, api_world: Any) -> None:
    r = http.post("/v1/query", headers=api_world.auth("chn"), json={"sql": SQL})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert [(row["event_id"], row["magnitude_value"]) for row in body["rows"]] == _expected()
    assert body["columns"][1] == {"name": "origin_time_utc", "type": "timestamp[us, tz=Etc/UTC]"}
    assert body["truncated"] is False and body["snapshot_id"] == int(r.headers["x-qe-snapshot"])


@pytest.mark.parametrize("how", ["param", "accept", "body"])
def test_parquet_answer(http: Any, api_world: Any, how: str) -> None:
    kwargs: dict[str, Any] = {"headers": dict(api_world.auth("chn")), "json": {"sql": SQL}}
    if how == "param":
        kwargs["params"] = {"format": "parquet"}
    elif how == "accept":
        kwargs["headers"]["Accept"] = "application/vnd.apache.parquet"
    else:
        kwargs["json"]["format"] = "parquet"
    r = http.post("/v1/query", **kwargs)
    assert r.headers["content-type"] == "application/vnd.apache.parquet"
    tbl = pq.read_table(io.BytesIO(r.content))
    assert list(zip(tbl.column("event_id").to_pylist(), tbl.column("magnitude_value").to_pylist())) == _expected()
    assert pa.types.is_timestamp(tbl.schema.field("origin_time_utc").type)


def test_arrow_and_csv_answers(http: Any, api_world: Any) -> None:
    r = http.post("/v1/query", headers=api_world.auth("chn"), params={"format": "arrow"}, json={"sql": SQL})
    tbl = pa.ipc.open_stream(r.content).read_all()
    assert tbl.column("event_id").to_pylist() == [e for e, _ in _expected()]
    r = http.post("/v1/query", headers={**api_world.auth("chn"), "Accept": "text/csv"}, json={"sql": SQL})
    assert r.headers["content-type"].startswith("text/csv")
    csv = pacsv.read_csv(io.BytesIO(r.content))
    assert csv.column("magnitude_value").to_pylist() == [m for _, m in _expected()]


def test_lists_and_geometry_survive_csv_and_json(http: Any, api_world: Any) -> None:
    sql = "SELECT expedition_id, country_iso3_list FROM expeditions WHERE expedition_id = 'EXP-2024-CHN-001'"
    r = http.post("/v1/query", headers=api_world.auth("chn"), params={"format": "csv"}, json={"sql": sql})
    assert r.status_code == 200 and '"[""CHN"", ""KGZ""]"' in r.text
    sql = "SELECT site_geometry FROM survey_buildings LIMIT 1"
    r = http.post("/v1/query", headers=api_world.auth("chn"), json={"sql": sql})
    assert r.json()["rows"][0]["site_geometry"].startswith("0101000000")  # WKB point, hex


def test_bad_format_is_400(http: Any, api_world: Any) -> None:
    r = http.post("/v1/query", headers=api_world.auth("chn"), params={"format": "xlsx"}, json={"sql": SQL})
    assert r.status_code == 400 and "format" in r.json()["detail"]


def test_request_limit_is_capped_by_the_service(http: Any, api_world: Any) -> None:
    r = http.post("/v1/query", headers=api_world.auth("chn"), json={"sql": "SELECT * FROM range(1000)", "limit": 7})
    assert r.json()["row_count"] == 7 and r.json()["truncated"] is True
    r = http.post("/v1/query", headers=api_world.auth("chn"), json={"sql": "SELECT * FROM range(1000)", "limit": 10**6})
    assert r.json()["row_limit"] == 50  # the test service's row_limit


def test_tables_lists_only_partner_relations(http: Any, api_world: Any) -> None:
    r = http.get("/v1/tables", headers=api_world.auth("afg"))
    names = {t["name"] for t in r.json()["tables"]}
    assert {"events", "event_aliases", "events_latest", "expeditions", "survey_buildings"} <= names
    assert not names & {"partners", "partner_tokens", "partner_query_audit", "expedition_versions", "raw_files"}
    exp = next(t for t in r.json()["tables"] if t["name"] == "expeditions")
    cols = {c["name"] for c in exp["columns"]}
    assert "expedition_status" in cols and "review_reason" not in cols
    sb = next(t for t in r.json()["tables"] if t["name"] == "survey_buildings")
    assert "surveyor_name" not in {c["name"] for c in sb["columns"]}


def test_named_queries_listed_with_their_parameters(http: Any, api_world: Any) -> None:
    r = http.get("/v1/queries", headers=api_world.auth("chn"))
    by_name = {q["name"]: q for q in r.json()}
    assert "recent_events" in by_name and "events_near" in by_name
    assert "partner_by_name" not in by_name and "lake_data_version" not in by_name  # internal queries
    params = {p["name"]: p["type"] for p in by_name["recent_events"]["params"]}
    assert params == {"minmagnitude": "DOUBLE", "starttime": "TIMESTAMPTZ"}
    assert "audience" not in by_name["recent_events"]["description"]


def test_named_query_runs_with_bound_parameters(http: Any, api_world: Any) -> None:
    r = http.get("/v1/queries/recent_events", headers=api_world.auth("chn"),
                 params={"minmagnitude": "7.5", "starttime": "2023-06-01T00:00:00Z"})
    assert r.status_code == 200
    want = sorted((e for e in EVENTS if e[5] >= 7.5 and e[1] >= "2023-06-01"), key=lambda e: e[1], reverse=True)
    assert [row["event_id"] for row in r.json()["rows"]] == [e[0] for e in want]
    r = http.get("/v1/queries/event_lookup", headers=api_world.auth("chn"), params={"eventid": "us7000lsze"})
    assert [row["event_id"] for row in r.json()["rows"]] == ["qe-chn-2024"]
    assert r.json()["rows"][0]["aliases"] == ["USGS:us7000lsze"]


def test_named_query_parameters_are_values_not_sql(http: Any, api_world: Any) -> None:
    r = http.get("/v1/queries/event_lookup", headers=api_world.auth("chn"),
                 params={"eventid": "x' OR '1'='1"})
    assert r.status_code == 200 and r.json()["rows"] == []


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"minmagnitude": "seven", "starttime": "2023-01-01"}, "minmagnitude"),
        ({"minmagnitude": "7", "starttime": "last week"}, "starttime"),
        ({"minmagnitude": "7"}, "needs parameter"),
        ({"minmagnitude": "7", "starttime": "2023-01-01", "drop": "x"}, "no parameter"),
        ({"minmagnitude": "nan", "starttime": "2023-01-01"}, "minmagnitude"),
    ],
)
def test_named_query_bad_parameters_are_400(http: Any, api_world: Any, params: dict[str, str], needle: str) -> None:
    r = http.get("/v1/queries/recent_events", headers=api_world.auth("chn"), params=params)
    assert r.status_code == 400 and needle in r.json()["detail"]


def test_unknown_named_query_is_404(http: Any, api_world: Any) -> None:
    assert http.get("/v1/queries/partner_by_name", headers=api_world.auth("chn"),
                    params={"partner_name": "afg-partner"}).status_code == 404
