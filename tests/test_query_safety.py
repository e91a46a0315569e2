"""Query mode refuses everything that is not a read of the lake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from expedition.settings import load_settings
from warehouse.errors import QueryRefused
from warehouse.lake import Lake
from warehouse.query import open_query_connection, run_query


@pytest.fixture(scope="module")
def ro_con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One initialised lake and one locked-down connection for all the refusal cases."""
    lk = Lake.from_settings(load_settings(tmp_path_factory.mktemp("qhome")))
    lk.init()
    con = open_query_connection(lk)
    yield con
    con.close()

REFUSED = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "COPY (SELECT 1) TO '{tmp}/out.csv'",
    "ATTACH '{tmp}/other.duckdb' AS other",
    "INSTALL httpfs",
    "LOAD spatial",
    "SET threads = 1",
    "PRAGMA threads = 1",
    "RESET enable_external_access",
    "SET enable_external_access = true",
    "INSERT INTO events (event_id) VALUES ('x')",
    "DELETE FROM events",
    "UPDATE events SET magnitude_value = 9",
    "DROP TABLE events",
    "CREATE TABLE x AS SELECT 1",
    "CREATE TEMP TABLE x AS SELECT 1",
    "SELECT 1; DROP TABLE events",
    "DETACH lake",
    "CALL ducklake_expire_snapshots('lake')",
    "EXPORT DATABASE '{tmp}/exp'",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_refused(ro_con: Any, tmp_path: Path, sql: str) -> None:
    with pytest.raises(QueryRefused):
        run_query(ro_con, sql.format(tmp=tmp_path))
    # the lake is still attached, unchanged and readable afterwards
    assert run_query(ro_con, "SELECT count(*) AS n FROM events").table.column("n").to_pylist() == [0]
    assert not (tmp_path / "out.csv").exists()
    assert not (tmp_path / "other.duckdb").exists()


def test_select_works_with_limits(lake) -> None:
    con = open_query_connection(lake)
    try:
        res = run_query(con, "SELECT range AS i FROM range(1000)", row_limit=10)
        assert res.truncated and res.table.num_rows == 10
        assert run_query(con, "SELECT 42 AS answer").table.to_pylist() == [{"answer": 42}]
    finally:
        con.close()


def test_slow_query_is_cancelled(lake) -> None:
    con = open_query_connection(lake)
    try:
        with pytest.raises(QueryRefused, match="time limit"):
            run_query(con, "SELECT count(*) FROM range(100000000000) a", timeout_s=0.5)
    finally:
        con.close()


def test_spill_directory_is_not_readable(lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB allows <cwd>/.tmp/ by default even with external access off; query mode must not."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".tmp").mkdir()
    (tmp_path / ".tmp" / "secret.csv").write_text("a\n1\n")
    con = open_query_connection(lake)
    try:
        with pytest.raises(QueryRefused):
            run_query(con, f"SELECT * FROM read_csv('{tmp_path}/.tmp/secret.csv')")
        with pytest.raises(QueryRefused):
            run_query(con, "SELECT * FROM read_csv('.tmp/secret.csv')")
    finally:
        con.close()
