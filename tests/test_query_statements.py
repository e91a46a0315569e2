"""Statement classification of query mode: DuckDB's parser decides, for every statement type.

A property test draws statements of every DuckDB statement type (templates filled with drawn
identifiers, literals, comments, letter case and whitespace), alone, after ``EXPLAIN``,
``EXPLAIN ANALYZE`` or ``EXPLAIN (ANALYZE, FORMAT json)``, or joined to a SELECT: each must be
refused, and refused *before* it runs (a witness table on a writable connection is unchanged). Drawn
SELECTs with the same decorations must pass. The parser's own type of each template is checked
too, so a template that stops meaning its type fails the test instead of passing for nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warehouse.errors import QueryRefused, WarehouseError
from warehouse.query import check_statement, run_query, statement_kinds

# statement kind -> templates ({t}: an identifier, {n}: an integer, {s}: a string literal body). The key
# is what the statement does; DuckDB's parser reports some under another type (PARSED_AS).
TEMPLATES: dict[str, list[str]] = {
    "INSERT": ["INSERT INTO witness VALUES ({n})", "INSERT INTO witness SELECT {n} RETURNING *",
               "INSERT OR REPLACE INTO witness VALUES ({n})"],
    "UPDATE": ["UPDATE witness SET x = {n}", "UPDATE witness SET x = x + {n} WHERE x > 0 RETURNING x"],
    "DELETE": ["DELETE FROM witness", "DELETE FROM witness WHERE x <> {n} RETURNING *"],
    "CREATE": ["CREATE TABLE {t} AS SELECT {n} AS a", "CREATE TEMP TABLE {t} (a INT)",
               "CREATE VIEW {t} AS SELECT 1", "CREATE SEQUENCE {t}", "CREATE SCHEMA {t}",
               "CREATE OR REPLACE TABLE witness AS SELECT 0 AS x", "CREATE SECRET {t} (TYPE s3, KEY_ID '{s}')"],
    "CREATE_FUNC": ["CREATE MACRO {t}(a) AS a + {n}", "CREATE FUNCTION {t}() AS TABLE SELECT {n}"],
    "DROP": ["DROP TABLE witness", "DROP TABLE IF EXISTS {t}", "DROP VIEW IF EXISTS {t}"],
    "ALTER": ["ALTER TABLE witness ADD COLUMN {t} INT", "ALTER TABLE witness RENAME TO {t}"],
    "COPY": ["COPY witness TO '/tmp/qe-{t}.csv'", "COPY (SELECT {n}) TO '/tmp/qe-{t}.parquet' (FORMAT parquet)",
             "COPY witness FROM '/tmp/qe-{t}.csv'"],
    "COPY_DATABASE": ["COPY FROM DATABASE memory TO {t}"],
    "EXPORT": ["EXPORT DATABASE '/tmp/qe-export-{t}'"],
    "ATTACH": ["ATTACH '/tmp/qe-{t}.duckdb' AS {t}", "ATTACH ':memory:' AS {t}"],
    "DETACH": ["DETACH {t}", "DETACH DATABASE IF EXISTS {t}"],
    "LOAD": ["LOAD {t}", "LOAD httpfs"],
    "EXTENSION": ["INSTALL {t}", "INSTALL httpfs FROM community", "FORCE INSTALL spatial"],
    "SET": ["SET threads = {n}", "SET enable_external_access = true", "RESET lock_configuration",
            "SET GLOBAL memory_limit = '{n}GB'"],
    "VARIABLE_SET": ["SET VARIABLE {t} = {n}"],
    "PRAGMA": ["PRAGMA enable_profiling", "PRAGMA disable_optimizer"],
    "CALL": ["CALL checkpoint()", "CALL pragma_table_info('witness')"],
    "TRANSACTION": ["BEGIN TRANSACTION", "COMMIT", "ROLLBACK", "ABORT"],
    "VACUUM": ["VACUUM", "VACUUM ANALYZE witness"],
    "ANALYZE": ["ANALYZE", "ANALYZE witness"],
    "PREPARE": ["PREPARE {t} AS DELETE FROM witness", "PREPARE {t} AS SELECT {n}"],
    "EXECUTE": ["EXECUTE {t}", "EXECUTE {t}({n})"],
    "MERGE_INTO": ["MERGE INTO witness USING (SELECT {n} AS x) s ON s.x = witness.x WHEN MATCHED THEN DELETE"],
}
PARSED_AS = {"CREATE_FUNC": "CREATE", "EXTENSION": "LOAD", "VARIABLE_SET": "SET", "ANALYZE": "VACUUM",
             "COPY_DATABASE": "TRANSACTION"}
SELECTS = ["SELECT {n} AS a", "FROM range({n})", "VALUES ({n}), ({n})", "WITH q AS (SELECT {n} AS a) SELECT * FROM q",
           "SELECT * FROM witness WHERE x <> {n}", "SUMMARIZE SELECT {n} AS a", "DESCRIBE SELECT '{s}' AS a",
           "SELECT '{s}' AS a UNION ALL SELECT 'b'", "(SELECT {n})"]
EXPLAINS = ["EXPLAIN {q}", "EXPLAIN ANALYZE {q}", "explain analyse {q}", "EXPLAIN (ANALYZE) {q}",
            "EXPLAIN (ANALYZE, FORMAT json) {q}", "EXPLAIN (FORMAT json) {q}"]

idents = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(lambda s: s not in ("witness", "memory"))
comments = st.sampled_from(["", " ", "\n", "/* x */ ", "-- c\n", "\t/* DELETE */ "])
case = st.sampled_from([str, str.lower, str.upper])


def fill(template: str, ident: str, n: int, s: str) -> str:
    return template.format(t=ident, n=n, s=s.replace("'", "''"))


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """A WRITABLE in-memory database: a refused statement must be refused before it runs."""
    c = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    c.execute("CREATE TABLE witness AS SELECT 7 AS x")
    yield c
    c.close()


def _witness(con: duckdb.DuckDBPyConnection) -> list[Any]:
    return con.execute("SELECT x FROM witness ORDER BY x").fetchall()


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
def test_templates_are_the_type_they_claim(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    for template in TEMPLATES[kind]:
        assert statement_kinds(con, fill(template, "abc", 3, "k"))[0] == PARSED_AS.get(kind, kind), template


def test_templates_cover_every_statement_type_but_select() -> None:
    """Every DuckDB statement type a text can parse to has templates (the internal ones cannot)."""
    internal = {"INVALID", "SELECT", "RELATION", "LOGICAL_PLAN", "MULTI"}
    covered = {PARSED_AS.get(k, k) for k in TEMPLATES} | set(TEMPLATES) | {"EXPLAIN"}  # EXPLAINS wrap them all
    assert set(duckdb.StatementType.__members__) - internal <= covered


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(sorted(TEMPLATES)), pick=st.integers(0, 10), ident=idents, n=st.integers(0, 10**6),
    s=st.text(max_size=8), pre=comments, post=comments, wrap=st.sampled_from(["", *EXPLAINS, "SELECT 1; {q}",
                                                                             "{q}; SELECT 1"]),
    casing=case,
)
@pytest.mark.slow
def test_every_statement_but_select_is_refused(
    con: duckdb.DuckDBPyConnection, kind: str, pick: int, ident: str, n: int, s: str, pre: str, post: str,
    wrap: str, casing: Any,
) -> None:
    templates = TEMPLATES[kind]
    stmt = casing(fill(templates[pick % len(templates)], ident, n, "k")) if casing is not str else fill(
        templates[pick % len(templates)], ident, n, s)
    sql = pre + (wrap.format(q=stmt) if wrap else stmt) + post
    before = _witness(con)
    with pytest.raises(QueryRefused):
        run_query(con, sql)
    assert _witness(con) == before


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pick=st.integers(0, len(SELECTS) - 1), n=st.integers(0, 1000), s=st.text(max_size=8), pre=comments,
       post=comments, explain=st.sampled_from([None, "plan", "analyze"]))
def test_selects_run_and_their_plans_are_explained(
    con: duckdb.DuckDBPyConnection, pick: int, n: int, s: str, pre: str, post: str, explain: Any
) -> None:
    sql = pre + fill(SELECTS[pick], "abc", n, s.replace("\x00", "")) + post
    res = run_query(con, sql, explain=explain, row_limit=10)
    if explain is None:
        assert res.table.num_rows >= 1
    else:
        assert res.table.column_names == ["explain_key", "explain_value"]
    assert _witness(con) == [(7,)]


@pytest.mark.parametrize("sql", [
    "EXPLAIN ANALYZE DELETE FROM witness",
    "EXPLAIN ANALYZE CREATE TABLE t2 AS SELECT 1",
    "EXPLAIN ANALYZE UPDATE witness SET x = 0",
    "EXPLAIN ANALYZE INSERT INTO witness VALUES (1)",
    "EXPLAIN ANALYZE DROP TABLE witness",
    "EXPLAIN SELECT 1",
    "SELECT * FROM query('DELETE FROM witness')",
    "SELECT * FROM query('SELECT 1')",
    "SELECT * FROM checkpoint()",
    "SELECT * FROM ducklake_cleanup_old_files('lake', cleanup_all => true)",
    "SELECT * FROM ducklake_expire_snapshots('lake', older_than => now())",
    "SELECT * FROM (SELECT 1) WHERE 1 IN (SELECT * FROM ducklake_merge_adjacent_files('lake'))",
    "PIVOT witness ON x",
])
def test_examples_refused_before_running(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    with pytest.raises(QueryRefused):
        run_query(con, sql)
    assert _witness(con) == [(7,)]
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 't2'").fetchall() == [(0,)]


@pytest.mark.parametrize("sql", ["SELECT '\ud800' AS a", "SELECT 1 -- \udfff", "SELECT 'a\x00b'", "\ud83d"])
def test_text_that_is_not_unicode_is_refused_with_a_message(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    with pytest.raises(QueryRefused, match="surrogate|NUL"):
        check_statement(con, sql)


def test_explain_with_a_plan_of_the_select_only(con: duckdb.DuckDBPyConnection) -> None:
    plan = run_query(con, "SELECT count(*) FROM witness", explain="plan").table.to_pylist()
    assert plan[0]["explain_key"] == "physical_plan"
    with pytest.raises(QueryRefused, match="plan"):
        check_statement(con, "SELECT 1", explain="everything")  # type: ignore[arg-type]


@pytest.mark.parametrize(("sql", "where"), [
    ("SELEC 1", "(at line 1, column 1)"),
    ("SELECT 1,\n  nosuch", "(at line 2, column 3)"),
    ("SELECT * FROM read_csv('/etc/passwd')", "(at line 1, column 15)"),
])
def test_errors_are_one_line_with_where_duckdb_points(sql: str, where: str) -> None:
    """DuckDB's ``LINE n: ...`` / ``^`` context becomes a position on the one error line."""
    con = duckdb.connect(config={"enable_external_access": False})
    try:
        with pytest.raises(WarehouseError) as caught:
            statement_kinds(con, sql)
            run_query(con, sql)
    finally:
        con.close()
    message = str(caught.value)
    assert "\n" not in message and message.endswith(where), message
    assert "LINE" not in message and "^" not in message
