"""Query mode opens only what a statement needs (warehouse.needs, warehouse.extensions, the CLI's fallback)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.conftest import run_cli
from warehouse import extensions
from warehouse.needs import EVERYTHING, statement_needs, view_closure


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    yield c
    c.close()


def test_view_closure_follows_views_that_read_views(con: duckdb.DuckDBPyConnection) -> None:
    assert view_closure(con, ["analytics_damage_grade_mean"]) == {"analytics_damage_grade_mean", "survey_buildings"}
    assert view_closure(con, ["analytics_damage_by_typology"]) == {
        "analytics_damage_by_typology", "analytics_building_grades", "survey_buildings",
        "analytics_expedition_source", "expeditions",
    }
    assert view_closure(con, ["events", "no_such_thing"]) == set()


def test_statement_needs_from_the_parse_tree(con: duckdb.DuckDBPyConnection) -> None:
    count = statement_needs(con, "SELECT count(*) FROM events")
    assert count.views == frozenset() and not count.spatial
    # a view named in a subquery and a CTE is found; the CTE's own name is no view
    nested = statement_needs(con, "WITH x AS (SELECT * FROM expeditions) SELECT (SELECT count(*) FROM x), "
                                  "(SELECT count(*) FROM trigger_decisions)")
    assert nested.views == frozenset({"expeditions", "trigger_decisions"})
    # a view name inside a string literal is no reference
    assert statement_needs(con, "SELECT 'FROM expeditions' AS s").views == frozenset()
    # what json_serialize_sql cannot serialise gets everything, as before
    assert statement_needs(con, "EXPLAIN SELECT 1") == EVERYTHING


@pytest.mark.slow
def test_extensions_from_the_wheels_with_and_without_signature_check(tmp_path: Path) -> None:
    for verify in (False, True):
        c = extensions.connect(("sqlite", "ducklake"), tmp_path / "ext", verify_signatures=verify)
        try:
            loaded = {r[0] for r in c.execute(
                "SELECT extension_name FROM duckdb_extensions() WHERE loaded").fetchall()}
            assert {"sqlite_scanner", "ducklake"} <= loaded
            assert "spatial" not in loaded
        finally:
            c.close()
    assert (tmp_path / "ext").is_dir()  # only the signature-checked way installs into the data root


@pytest.mark.slow
def test_cli_query_lean_then_spatial_when_the_binder_asks(qe_home: Path) -> None:
    assert run_cli(["init"]).returncode == 0
    r = run_cli(["query", "SELECT count(*) AS n FROM expeditions", "--format", "json"])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [{"n": 0}]
    # ST_Point and ST_Area are in the spatial extension only: the lean connection's binder refuses,
    # the command opens the full one and answers
    r = run_cli(["query", "SELECT ST_Area(ST_Buffer(ST_Point(0, 0), 1)) > 3 AS big", "--format", "json"])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [{"big": True}]
    # an unknown function fails once, with DuckDB's message, no traceback
    r = run_cli(["query", "SELECT no_such_function(1)"])
    assert r.returncode == 2 and "no_such_function" in r.stderr and "Traceback" not in r.stderr
    # query mode stays locked down on the lean connection
    r = run_cli(["query", "SELECT * FROM read_csv('/etc/passwd')"])
    assert r.returncode == 2 and "Traceback" not in r.stderr
