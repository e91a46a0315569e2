"""The partner service against a determined partner: each class of attack, against the real server.

One lake seeded with real rows (tests/api_world.build_world) and one service (uvicorn on
127.0.0.1, two query workers, small limits) for the module. The audit stays in memory
(``audit_flush_s = 0``), so the last test can require the lake to be byte-for-byte what it was
before the first: same snapshot id, same catalog and data file hashes.
"""

from __future__ import annotations

import hashlib
import http.client as httplib
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api_world import World, build_world

TIMEOUT_S = 1.0
MAX_ANSWER = 200_000
MAX_BODY = 64 * 1024
SLOW_SQL = ("SELECT max(levenshtein(repeat('a', 2000) || range::VARCHAR, repeat('b', 2000))) AS d "
            "FROM range(2000)")  # ~75 s in one vector: DuckDB's interrupt is not seen until it ends


def _lake_state(home: Path) -> tuple[int, dict[str, str]]:
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    snap = Lake.from_settings(load_settings(home)).current_snapshot()
    files = {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted((home / "lake").rglob("*")) if p.is_file()}
    return snap, files


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("hostile") / "home")


@pytest.fixture(scope="module")
def before(world: World) -> tuple[int, dict[str, str]]:
    return _lake_state(world.home)


@pytest.fixture(scope="module")
def server(world: World, before: Any) -> Iterator[Any]:
    from expedition.delivery.api.app import create_app
    from expedition.delivery.api.config import ApiConfig
    from expedition.delivery.api.server import BackgroundServer

    cfg = ApiConfig(row_limit=100_000, timeout_s=TIMEOUT_S, refresh_s=0.0, audit_flush_s=0.0, query_workers=2,
                    worker_memory="768MB", partner_memory_limit="256MB", max_answer_bytes=MAX_ANSWER,
                    max_body_bytes=MAX_BODY, partner_concurrency=1, queue_wait_s=0.3, partner_rate_per_s=0.0,
                    auth_max_failures=5, auth_window_s=60.0, audit_sql_chars=100)
    app = create_app(world.settings, config=cfg, clock=world.clock)
    with BackgroundServer(app) as srv:
        srv.app = app  # type: ignore[attr-defined]
        yield srv


@pytest.fixture(scope="module")
def http(server: Any) -> Iterator[Any]:
    import httpx

    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def _q(http: Any, world: World, sql: str, partner: str = "chn", **extra: Any) -> Any:
    return http.post("/v1/query", headers=world.auth(partner), json={"sql": sql, **extra})


def _alive(http: Any, world: World, partner: str = "chn") -> None:
    r = _q(http, world, "SELECT count(*) AS n FROM events", partner)
    assert r.status_code == 200 and r.json()["rows"] == [{"n": 6}], r.text


def _audit(server: Any) -> list[Any]:
    return list(server.app.state.qe.audit._buffer)


# -- 1. statements: only a plain SELECT runs -----------------------------------------------------------
@pytest.mark.parametrize("sql", [
    "EXPLAIN ANALYZE DELETE FROM events", "EXPLAIN ANALYZE DROP TABLE events",
    "EXPLAIN ANALYZE UPDATE events SET magnitude_value = 9",
    "EXPLAIN ANALYZE INSERT INTO expeditions (expedition_id) VALUES ('EXP-FAKE')",
    "EXPLAIN ANALYZE CREATE TABLE fake AS SELECT 1", "explain (analyze) delete from events",
    "/* SELECT */ EXPLAIN ANALYZE DELETE FROM events", "EXPLAIN SELECT 1", "SELECT * FROM query('SELECT 1')",
    "CALL checkpoint()", "PIVOT events ON magnitude_type",
])
def test_every_statement_but_select_is_refused_and_audited(http: Any, world: World, server: Any, sql: str) -> None:
    r = _q(http, world, sql)
    assert r.status_code == 403, r.text
    assert any(w in r.json()["detail"] for w in ("only SELECT", "not allowed", "exactly one statement"))
    rec = [a for a in _audit(server) if a.query_sql == sql[:100]][-1]
    assert rec.query_outcome == "refused" and rec.http_status_code == 403
    _alive(http, world)
    assert http.get("/v1/tables", headers=world.auth("chn")).status_code == 200


def test_a_plan_is_asked_for_not_written(http: Any, world: World) -> None:
    r = _q(http, world, "SELECT count(*) FROM events", explain="plan")
    assert r.status_code == 200 and r.json()["rows"][0]["explain_key"] == "physical_plan"
    assert _q(http, world, "DELETE FROM events", explain="analyze").status_code == 403


# -- 2. OS bounds: memory, time, answer size, concurrency ----------------------------------------------
def _rss() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096


@pytest.mark.parametrize("sql", [
    "SELECT len(range(400000000)) AS n",
    "SELECT len(list(range)) AS n FROM range(100000000)",
    "SELECT length(string_agg(repeat('x', 1000), '')) AS n FROM range(2000000)",
    "SELECT len(range(40000000)) AS n",
])
def test_memory_attacks_are_bounded_in_the_worker(http: Any, world: World, server: Any, sql: str) -> None:
    rss0 = _rss()
    r = _q(http, world, sql)
    assert r.status_code in (200, 413, 422), r.text  # bounded: by memory, or by the 1 s limit first
    if r.status_code == 413:
        assert "memory" in r.json()["detail"]
    assert _rss() - rss0 < 200 * 2**20  # the service itself did not grow (it holds no query memory)
    _alive(http, world)


@pytest.mark.slow
def test_slow_per_row_function_is_ended_at_the_deadline(http: Any, world: World, server: Any) -> None:
    pool = server.app.state.qe.pool
    pids = set(pool.worker_pids())
    t0 = time.monotonic()
    r = _q(http, world, SLOW_SQL)
    elapsed = time.monotonic() - t0
    assert r.status_code == 422 and "time limit" in r.json()["detail"], r.text
    assert elapsed < TIMEOUT_S + 2 * 2.0 + 1.0 + 5.0  # vs ~75 s if left to run
    deadline = time.monotonic() + 30
    while len(pool.worker_pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(pool.worker_pids()) == 2 and set(pool.worker_pids()) != pids  # replaced
    assert [a for a in _audit(server) if a.query_sql == SLOW_SQL[:100]][-1].query_outcome == "timeout"
    _alive(http, world)


def test_answer_larger_than_the_cap_is_413(http: Any, world: World) -> None:
    for fmt in ("json", "csv", "parquet", "arrow"):
        r = _q(http, world, "SELECT range AS i, md5(range::VARCHAR) || md5((-range)::VARCHAR) || md5((range + 1)::"
                            "VARCHAR) || md5((range * 7)::VARCHAR) AS pad FROM range(4000)", format=fmt)  # incompressible
        assert r.status_code == 413 and str(MAX_ANSWER) in r.json()["detail"], (fmt, r.text)
    assert _q(http, world, "SELECT range AS i FROM range(10)", format="arrow").status_code == 200


@pytest.mark.slow
def test_one_partner_runs_one_query_at_a_time(http: Any, world: World, server: Any) -> None:
    import httpx

    results: list[int] = []

    def slow() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            results.append(c.post("/v1/query", headers=world.auth("afg"), json={"sql": SLOW_SQL}).status_code)

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.5)
    second = _q(http, world, "SELECT 1 AS a", "afg")
    other = _q(http, world, "SELECT 1 AS a", "chn")  # another partner is not held up
    t.join()
    assert second.status_code == 429 and int(second.headers["retry-after"]) >= 1
    assert other.status_code == 200
    assert results == [422]


# -- 3. bodies: capped at the edge, never read before authentication ----------------------------------
def _raw(server: Any, head: str, body: bytes = b"", wait_s: float = 10.0) -> tuple[int, bytes]:
    conn = httplib.HTTPConnection(server.host, server.port, timeout=wait_s)
    conn.putrequest("POST", "/v1/query", skip_accept_encoding=True)
    for line in head.strip().splitlines():
        k, _, v = line.partition(":")
        conn.putheader(k.strip(), v.strip())
    conn.endheaders()
    if body:
        conn.send(body)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def test_declared_large_body_is_413_before_it_is_sent(server: Any, world: World) -> None:
    status, data = _raw(server, f"Content-Type: application/json\nContent-Length: {200 * 2**20}\n"
                                f"Authorization: {world.auth('chn')['Authorization']}")
    assert status == 413 and b"larger than" in data


def test_body_of_a_request_without_a_valid_token_is_not_read(server: Any) -> None:
    # The body is announced but never sent: a server that read it first would wait (and time out).
    status, data = _raw(server, "Content-Type: application/json\nContent-Length: 60000")
    assert status == 401
    status, _ = _raw(server, "Content-Type: application/json\nContent-Length: 60000\nAuthorization: Bearer qe_x")
    assert status == 401


def test_chunked_body_over_the_cap_is_413(server: Any, world: World) -> None:
    chunk = b"x" * 32_000
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(3)) + b"0\r\n\r\n"
    status, _ = _raw(server, f"Content-Type: application/json\nTransfer-Encoding: chunked\n"
                             f"Authorization: {world.auth('chn')['Authorization']}", body)
    assert status == 413


# -- 4. audit: bounded rows, undecodable text -------------------------------------------------------
def test_audit_rows_are_bounded_and_hash_the_whole_text(http: Any, world: World, server: Any) -> None:
    sql = "SELECT 1 AS a /* " + "z" * 20_000 + " */"
    r = _q(http, world, sql)
    assert r.status_code == 413  # longer than max_sql_chars
    rec = _audit(server)[-1]
    assert len(rec.query_sql) == 100 and rec.query_sql_chars == len(sql)
    assert rec.query_sql_sha256 == hashlib.sha256(sql.encode()).hexdigest()


@pytest.mark.parametrize("raw", [b'{"sql": "SELECT \'\\ud800\' AS a"}', b'{"sql": "SELECT 1 -- \\udfff"}'])
def test_lone_surrogate_sql_is_400_and_audited(server: Any, world: World, raw: bytes) -> None:
    status, data = _raw(server, f"Content-Type: application/json\nContent-Length: {len(raw)}\n"
                                f"Authorization: {world.auth('chn')['Authorization']}", raw)
    assert status == 400 and b"surrogate" in data
    rec = _audit(server)[-1]
    assert rec.http_status_code == 400 and "\\ud800" in rec.query_sql or "\\udfff" in rec.query_sql
    rec.query_sql.encode("utf-8")  # storable


# -- 6. malformed input: 4xx with a message --------------------------------------------------------
@pytest.mark.parametrize("raw,status", [
    (b'{"sql": "SELECT 1", "limit": NaN}', 422), (b'{"sql": "SELECT 1", "limit": Infinity}', 422),
    (b'{"sql": "SELECT 1", "limit": -1}', 422), (b'{"sql": "SELECT 1", "limit": "\\ud800"}', 422),
    (b'{"sql": 5}', 422), (b'{"sql": "SELECT 1", "format": "xls"}', 400), (b'{"sql": "SELECT 1", "explain": 1}', 422),
    (b'not json', 422), (b'{"sql": "SELECT 1", "format": "\\ud800"}', 400), (b'', 422), (b'{"sql": "\\u0000"}', 400),
])
def test_malformed_bodies_are_4xx_with_a_message(server: Any, world: World, raw: bytes, status: int) -> None:
    got, data = _raw(server, f"Content-Type: application/json\nContent-Length: {len(raw)}\n"
                             f"Authorization: {world.auth('chn')['Authorization']}", raw)
    assert got == status, data
    assert json.loads(data)["detail"]


TYPES = {
    "interval": ("INTERVAL 3 MONTH + INTERVAL 2 DAY + INTERVAL 5 SECOND", "P3M2DT5S"),
    "union": ("union_value(a := 1)::UNION(a INT, b VARCHAR)", 1),
    "bignum": ("(-123456789012345678901234567890)::BIGNUM", "-123456789012345678901234567890"),
    "inf_ts": ("'infinity'::TIMESTAMP", "infinity"),
    "ninf_tstz": ("'-infinity'::TIMESTAMPTZ", "-infinity"),
    "inf_date": ("'infinity'::DATE", "infinity"),
    "bc_ts": ("'0044-03-15 (BC) 12:00:00'::TIMESTAMP", "-0043-03-15T12:00:00.000000"),
    "bc_date": ("'1000-01-01 (BC)'::DATE", "-0999-01-01"),
    "hugeint": ("170141183460469231731687303715884105727::HUGEINT", 170141183460469231731687303715884105727),
    "map": ("MAP {'k': [1, 2]}", [["k", [1, 2]]]),
    "array": ("[1, 2, 3]::INT[3]", [1, 2, 3]),
    "nested": ("{'a': [{'b': MAP {1: INTERVAL 1 DAY}}]}", {"a": [{"b": [[1, "P0M1DT0S"]]}]}),
    "list_union": ("[union_value(b := 'x')::UNION(a INT, b VARCHAR)]", ["x"]),
    "bit": ("'0101'::BIT", "04f5"),
    "enum": ("'a'::ENUM('a', 'b')", "a"),
    "list_inf": ("['infinity'::TIMESTAMP, '2020-01-01']", ["infinity", "2020-01-01T00:00:00.000000"]),
}


@pytest.mark.parametrize("name", sorted(TYPES))
@pytest.mark.slow
def test_every_type_in_every_format(http: Any, world: World, name: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    expr, want = TYPES[name]
    sql = f"SELECT {expr} AS v FROM range(2)"
    r = _q(http, world, sql)
    assert r.status_code == 200, r.text
    assert r.json()["rows"][0]["v"] == want
    csv = _q(http, world, sql, format="csv")
    assert csv.status_code == 200 and len(csv.text.strip().splitlines()) == 3
    par = _q(http, world, sql, format="parquet")
    assert par.status_code == 200 and pq.read_table(pa.BufferReader(par.content)).num_rows == 2
    arrow = _q(http, world, sql, format="arrow")
    assert arrow.status_code == 200 and pa.ipc.open_stream(arrow.content).read_all().num_rows == 2


def test_variant_is_refused_naming_the_type(http: Any, world: World) -> None:
    r = _q(http, world, "SELECT 42::VARIANT AS v")
    assert r.status_code == 400 and "VARIANT" in r.json()["detail"]


# -- 7. disclosure ---------------------------------------------------------------------------------
def test_errors_do_not_show_the_server_home(http: Any, world: World) -> None:
    target = world.home / "lake" / "catalog.sqlite"
    r = _q(http, world, f"SELECT * FROM read_text('{target}')")
    assert r.status_code == 403
    assert str(world.home) not in r.text and str(Path.home()) not in r.text


def test_host_header_is_not_echoed(http: Any, world: World) -> None:
    evil = {"Host": "evil.example"}
    wadl = http.get("/fdsnws/event/1/application.wadl", headers=evil).text
    assert "evil" not in wadl and 'base="/fdsnws/event/1/"' in wadl
    err = http.get("/fdsnws/event/1/query", params={"minmag": "x"}, headers=evil)
    assert err.status_code == 400 and "evil" not in err.text
    listed = http.get("/v1/queries", headers={**evil, **world.auth("chn")}).json()
    assert listed and all(q["url"].startswith("/v1/queries/") for q in listed)


# -- 5. throttling of bad tokens (last: it locks this client out) -----------------------------------
def test_repeated_bad_tokens_are_throttled_and_logged(http: Any, world: World,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    good = world.tokens["phl"]
    token_id = good.split("_")[1]
    wrong = f"qe_{token_id}_" + "A" * (len(good) - len(token_id) - 4)
    with caplog.at_level(logging.WARNING, logger="expedition.delivery.api.throttle"):
        codes = [http.get("/v1/tables", headers={"Authorization": f"Bearer {wrong}"}).status_code for _ in range(8)]
    first = codes.index(429)  # at most auth_max_failures (5) failures per client, earlier tests' included
    assert 1 <= first <= 5 and set(codes[:first]) == {401} and set(codes[first:]) == {429}
    locked = http.get("/v1/tables", headers={"Authorization": f"Bearer {good}"})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
    logged = [r.getMessage() for r in caplog.records]
    assert any("bad tokens from client 127.0.0.1" in m for m in logged), logged
    assert any(f"bad tokens from token id {token_id}" in m for m in logged), logged


def test_zz_lake_unchanged_after_the_hostile_suite(server: Any, world: World, before: Any) -> None:
    server.app.state.qe.source.close()
    assert _lake_state(world.home) == before
