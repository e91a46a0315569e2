"""Security of the partner service, against the real server (uvicorn on 127.0.0.1).

Each refusal case is its own test: no or a revoked token (401), another partner's expedition
(404, not 403), SQL that reads files, writes, changes settings or reaches tables outside the
partner's views (a clear 4xx, and an audit row), oversized results and slow queries bounded.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest


def _audit_rows(api_server: Any, world: Any) -> list[dict[str, Any]]:
    api_server.app.state.qe.audit.flush()
    return world.lake.read_table("partner_query_audit").to_pylist()


def test_no_token_is_401(http: Any) -> None:
    for method, path in (("GET", "/v1/expeditions"), ("GET", "/v1/queries"), ("GET", "/v1/tables"),
                         ("POST", "/v1/query")):
        r = http.request(method, path, json={"sql": "SELECT 1"} if method == "POST" else None)
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"] == "Bearer"
        assert "token" in r.json()["detail"]


def test_bad_and_malformed_tokens_are_401(http: Any, api_world: Any) -> None:
    good = api_world.tokens["chn"]
    tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    for token in (tampered, "qe_0000000000000000_" + "x" * 43, "not-a-token", good + "x"):
        r = http.get("/v1/expeditions", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token


def test_revoked_partner_is_401(http: Any, api_world: Any) -> None:
    r = http.get("/v1/expeditions", headers=api_world.auth("gone"))
    assert r.status_code == 401
    assert "revoked" in r.json()["detail"]


@pytest.mark.slow
def test_revocation_takes_effect_on_a_running_service(http: Any, api_world: Any) -> None:
    from expedition.delivery.partners import add_partner, revoke_partner

    token = add_partner(api_world.lake, "short-lived", countries=["CHN"]).token
    hdr = {"Authorization": f"Bearer {token}"}
    assert http.get("/v1/expeditions", headers=hdr).status_code == 200
    revoke_partner(api_world.lake, "short-lived")
    assert http.get("/v1/expeditions", headers=hdr).status_code == 401


def test_other_partners_expedition_is_404_not_403(http: Any, api_world: Any) -> None:
    mine = http.get("/v1/expeditions/EXP-2024-CHN-001", headers=api_world.auth("chn"))
    assert mine.status_code == 200
    theirs = http.get("/v1/expeditions/EXP-2023-AFG-001", headers=api_world.auth("chn"))
    missing = http.get("/v1/expeditions/EXP-1999-XXX-001", headers=api_world.auth("chn"))
    assert theirs.status_code == missing.status_code == 404
    # same shape of answer whether it exists or not: nothing tells them apart
    assert theirs.json()["detail"].replace("EXP-2023-AFG-001", "X") == missing.json()["detail"].replace(
        "EXP-1999-XXX-001", "X"
    )
    for sub in ("/surveys/buildings", "/brief"):
        assert http.get("/v1/expeditions/EXP-2023-AFG-001" + sub, headers=api_world.auth("chn")).status_code == 404


def test_sql_cannot_see_other_partners_rows(http: Any, api_world: Any) -> None:
    r = http.post("/v1/query", headers=api_world.auth("chn"),
                  json={"sql": "SELECT DISTINCT expedition_id FROM survey_buildings ORDER BY 1"})
    assert r.status_code == 200
    ids = [row["expedition_id"] for row in r.json()["rows"]]
    assert ids and all(i.startswith("EXP-2024-CHN") for i in ids)
    r = http.post("/v1/query", headers=api_world.auth("chn"), json={"sql": "SELECT expedition_id FROM expeditions"})
    assert {row["expedition_id"] for row in r.json()["rows"]} == {"EXP-2024-CHN-001", "EXP-2024-CHN-002"}


REFUSED = {
    "read_csv": ("SELECT * FROM read_csv('/etc/passwd')", 403),
    "read_text": ("SELECT * FROM read_text('/etc/hostname')", 403),
    "glob": ("SELECT * FROM glob('/*')", 403),
    "copy": ("COPY (SELECT 1) TO '/tmp/qe-partner-copy.csv'", 403),
    "attach": ("ATTACH '/tmp/qe-partner.duckdb' AS x", 403),
    "install": ("INSTALL httpfs", 403),
    "load": ("LOAD spatial", 403),
    "set": ("SET enable_external_access = true", 403),
    "reset": ("RESET lock_configuration", 403),
    "pragma": ("PRAGMA threads = 1", 403),
    "create": ("CREATE TABLE x AS SELECT 1", 403),
    "insert": ("INSERT INTO events (event_id) VALUES ('x')", 403),
    "delete": ("DELETE FROM events", 403),
    "drop": ("DROP TABLE events", 403),
    "two_statements": ("SELECT 1; DROP TABLE events", 403),
    "partners_table": ("SELECT * FROM partners", 400),
    "tokens_table": ("SELECT * FROM partner_tokens", 400),
    "lake_catalog": ("SELECT * FROM lake.events", 400),
    "versions_table": ("SELECT * FROM expedition_versions", 400),
    "syntax": ("SELEC 1", 400),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_sql_refused_and_logged(http: Any, api_world: Any, case: str, caplog: pytest.LogCaptureFixture) -> None:
    sql, status = REFUSED[case]
    with caplog.at_level(logging.INFO, logger="expedition.delivery.api.audit"):
        r = http.post("/v1/query", headers=api_world.auth("afg"), json={"sql": sql})
    assert r.status_code == status, r.text
    assert r.json()["detail"]
    logged = [rec.getMessage() for rec in caplog.records if rec.name == "expedition.delivery.api.audit"]
    assert any("partner=afg-partner" in m and f"status={status}" in m for m in logged), logged
    # the database is untouched and still answers
    again = http.post("/v1/query", headers=api_world.auth("afg"), json={"sql": "SELECT count(*) AS n FROM events"})
    assert again.status_code == 200 and again.json()["rows"][0]["n"] > 0


def test_audit_rows_reach_the_lake(http: Any, api_world: Any, api_server: Any) -> None:
    refused = "SELECT * FROM read_csv('/etc/group')"
    fine = "SELECT 'audit me' AS note"
    assert http.post("/v1/query", headers=api_world.auth("named"), json={"sql": refused}).status_code == 403
    assert http.post("/v1/query", headers=api_world.auth("named"), json={"sql": fine}).status_code == 200
    assert http.get("/v1/queries/recent_events", headers=api_world.auth("named"),
                    params={"minmagnitude": 7.4, "starttime": "2023-01-01"}).status_code == 200
    rows = {(a["query_sql"] or a["query_name"]): a for a in _audit_rows(api_server, api_world)
            if a["partner_name"] == "named-partner"}
    assert rows[refused]["query_outcome"] == "refused" and rows[refused]["http_status_code"] == 403
    assert rows[fine]["query_outcome"] == "ok" and rows[fine]["result_row_count"] == 1
    assert rows["recent_events"]["request_route"] == "/v1/queries/recent_events"
    assert all(r["lake_snapshot_id"] and r["audit_time_utc"] for r in rows.values())


def test_lake_data_files_cannot_be_read(http: Any, api_world: Any) -> None:
    files = sorted(p for p in (api_world.home / "lake").rglob("*.parquet"))
    assert files, "the test lake has Parquet data files"
    catalog = api_world.home / "lake" / "catalog.sqlite"
    for target in (str(files[0]), str(api_world.home / "lake" / "data") + "/**/*.parquet"):
        r = http.post("/v1/query", headers=api_world.auth("chn"),
                      json={"sql": f"SELECT * FROM read_parquet('{target}')"})
        assert r.status_code == 403 and "disabled by configuration" in r.json()["detail"]
    r = http.post("/v1/query", headers=api_world.auth("chn"),
                  json={"sql": f"SELECT * FROM sqlite_scan('{catalog}', 'ducklake_snapshot')"})
    assert 400 <= r.status_code < 500


def test_oversized_result_is_truncated(http: Any, api_world: Any) -> None:
    r = http.post("/v1/query", headers=api_world.auth("chn"), json={"sql": "SELECT range AS i FROM range(100000)"})
    assert r.status_code == 200
    body = r.json()
    assert body["truncated"] is True and body["row_count"] == body["row_limit"] == len(body["rows"])
    assert r.headers["x-qe-truncated"] == "true"


def test_sql_text_too_long_is_413(http: Any, api_world: Any) -> None:
    sql = "SELECT 1 AS x" + " " * 6000
    r = http.post("/v1/query", headers=api_world.auth("chn"), json={"sql": sql})
    assert r.status_code == 413


def test_slow_query_is_cancelled(http: Any, api_world: Any, api_server: Any, caplog: pytest.LogCaptureFixture,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The time limit is this test's subject: 1 s for this test only (4e10 rows take far longer)."""
    state = api_server.app.state.qe
    monkeypatch.setattr(state, "config", dataclasses.replace(state.config, timeout_s=1.0))
    sql = "SELECT sum(a.range * b.range) AS s FROM range(200000) a, range(200000) b"
    with caplog.at_level(logging.INFO, logger="expedition.delivery.api.audit"):
        r = http.post("/v1/query", headers=api_world.auth("chn"), json={"sql": sql})
    assert r.status_code == 422
    assert "time limit" in r.json()["detail"]
    assert any("outcome=timeout" in rec.getMessage() for rec in caplog.records)
    # the partner's database is free again
    ok = http.post("/v1/query", headers=api_world.auth("chn"), json={"sql": "SELECT 42 AS answer"})
    assert ok.json()["rows"] == [{"answer": 42}]
