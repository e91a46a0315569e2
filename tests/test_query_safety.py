"""Query mode refuses everything that is not a read of the lake.

Every refusal runs against a lake that holds real rows (the bundled sample of 40 ComCat events), and
after each one the lake must be exactly as before: the same snapshot, the same row counts, the same
bytes in every catalog and data file."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from expedition.settings import load_settings
from warehouse.errors import QueryRefused
from warehouse.lake import Lake
from warehouse.query import open_query_connection, run_query

# The tables the seed fills, counted in one statement (one catalog read); a change to any other
# table shows in the catalog file's hash.
SEEDED_TABLES = ("events", "event_aliases", "event_solutions", "event_revisions", "ingest_batches", "raw_files")
COUNT_SEEDED = "SELECT " + ", ".join(f'(SELECT count(*) FROM lake."{n}")' for n in SEEDED_TABLES)


SAMPLE_EVENTS = 40  # the bundled demo sample of real ComCat events (flows/demo_data/README.md)


@dataclass(frozen=True)
class LakeState:
    snapshot: int
    rows: dict[str, int]
    files: dict[str, str]  # every file under the lake directory (catalog and data) -> sha256


def lake_state(lk: Lake, observer: Any) -> LakeState:
    """The snapshot id, the row counts of the seeded tables, and a hash of every file of the lake, read
    through ``observer`` (a DuckDB instance of its own, not the connection under test)."""
    snapshot = lk.current_snapshot(observer)
    rows = dict(zip(SEEDED_TABLES, observer.execute(COUNT_SEEDED).fetchall()[0], strict=True))
    files = {str(p.relative_to(lk.lake_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(lk.lake_dir.rglob("*")) if p.is_file() and not p.name.startswith("writer.lock")}
    return LakeState(snapshot, rows, files)


@dataclass(frozen=True)
class Seeded:
    lake: Lake
    observer: Any
    state: LakeState


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """A lake holding the 40 sample events (imported by the catalog importer), its state, and an
    observer connection to read it with."""
    from catalogs.ingest import import_file
    from flows.demo import SAMPLE_CATALOG, demo_file

    settings = load_settings(tmp_path_factory.mktemp("qhome"))
    lk = Lake.from_settings(settings)
    lk.init()
    import_file(lk, settings, demo_file(SAMPLE_CATALOG), provider="USGS")
    observer = lk.connect(read_only=True, spatial=True, views=False)  # its own DuckDB instance
    state = lake_state(lk, observer)
    assert state.rows["events"] == state.rows["event_aliases"] == state.rows["event_solutions"] == SAMPLE_EVENTS
    assert state.rows["ingest_batches"] == state.rows["raw_files"] == 1
    assert sum(f.endswith(".parquet") for f in state.files) >= 1, "the rows live in data files"
    yield Seeded(lk, observer, state)
    observer.close()


@pytest.fixture(scope="module")
def ro_con(seeded: Seeded) -> Iterator[Any]:
    """One locked-down connection to the seeded lake for all the refusal cases."""
    con = open_query_connection(seeded.lake)
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
    "DELETE FROM lake.events WHERE magnitude_value < 6",
    "TRUNCATE events",
    "ALTER TABLE events ADD COLUMN x INTEGER",
    "CALL ducklake_merge_adjacent_files('lake')",
    "CALL ducklake_delete_orphaned_files('lake', older_than => now())",
    "CALL ducklake_expire_snapshots('lake')",
    "EXPORT DATABASE '{tmp}/exp'",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_refused(seeded: Seeded, ro_con: Any, tmp_path: Path, sql: str) -> None:
    with pytest.raises(QueryRefused):
        run_query(ro_con, sql.format(tmp=tmp_path))
    # the lake is still attached, readable, and unchanged: same snapshot, rows and bytes
    assert run_query(ro_con, "SELECT count(*) AS n FROM events").table.column("n").to_pylist() == [SAMPLE_EVENTS]
    assert lake_state(seeded.lake, seeded.observer) == seeded.state
    assert not (tmp_path / "out.csv").exists()
    assert not (tmp_path / "other.duckdb").exists()


def test_reads_see_the_seeded_rows(ro_con: Any) -> None:
    """The refusal cases run against real rows: the sample's largest event is there."""
    res = run_query(ro_con, "SELECT preferred_provider_event_id AS id, magnitude_value FROM events "
                    "ORDER BY magnitude_value DESC, id LIMIT 1")
    assert res.table.to_pylist() == [{"id": "us6000jllz", "magnitude_value": 7.8}]


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


HOSTILE_ON_THE_LAKE = [
    "EXPLAIN ANALYZE COPY (SELECT 1) TO '{lake}/catalog.sqlite'",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO '{lake}/data/evil.parquet' (FORMAT parquet)",
    "EXPLAIN (ANALYZE) DELETE FROM events",
    "EXPLAIN ANALYZE DROP TABLE events",
    "SELECT * FROM ducklake_cleanup_old_files('lake', cleanup_all => true)",
    "SELECT * FROM ducklake_expire_snapshots('lake', older_than => now())",
    "SELECT * FROM ducklake_merge_adjacent_files('lake')",
    "SELECT * FROM query('DELETE FROM events')",
    "COPY (SELECT 1) TO '{lake}/catalog.sqlite'",
]


def test_lake_unchanged_after_hostile_statements(lake: Any, tmp_path: Path) -> None:
    """Rows first (an event written, then replaced: old files to clean up), then every hostile
    statement: same snapshot, same bytes in every file of the lake directory."""
    import hashlib

    import pyarrow as pa

    from warehouse.tables import spec

    row = {"event_id": "e1", "origin_time_utc": datetime(2023, 2, 6, 1, 17, tzinfo=UTC), "magnitude_value": 7.8,
           "event_revision": 1}
    for mag in (7.8, 7.9):
        with lake.writer() as w:
            w.write("events", pa.Table.from_pylist([{**row, "magnitude_value": mag}], schema=spec("events").schema))
    lake_dir = lake.lake_dir

    def state() -> tuple[int, dict[str, str]]:
        files = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(lake_dir.rglob("*")) if p.is_file()}
        return lake.current_snapshot(), files

    before = state()
    con = open_query_connection(lake)
    try:
        for sql in HOSTILE_ON_THE_LAKE:
            with pytest.raises(QueryRefused):
                run_query(con, sql.format(lake=lake_dir))
        assert run_query(con, "SELECT magnitude_value FROM events").table.to_pylist() == [{"magnitude_value": 7.9}]
    finally:
        con.close()
    assert state() == before
