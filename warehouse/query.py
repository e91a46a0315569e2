"""Query mode: read-only SQL for users and partners, with no reach outside the lake.

Defence in depth:

1. the statement is parsed by DuckDB and must be exactly one ``SELECT`` (or ``EXPLAIN``):
   ``INSTALL``/``LOAD``/``ATTACH``/``COPY``/``SET``/``PRAGMA``/``CREATE``/``INSERT``... are refused;
2. the lake is attached ``READ_ONLY``;
3. DuckDB's own settings: ``enable_external_access = false`` with ``allowed_directories`` limited
   to the lake's own directories, then ``lock_configuration = true`` so no statement can undo it;
4. a row limit and a time limit (the query is interrupted, not left running).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from warehouse.errors import QueryRefused, WarehouseError
from warehouse.lake import Lake

log = logging.getLogger(__name__)

__all__ = ["ALLOWED_STATEMENTS", "QueryResult", "check_statement", "lock_down", "open_query_connection", "query_lake",
           "run_query"]

ALLOWED_STATEMENTS = {"SELECT", "EXPLAIN"}


@dataclass(frozen=True)
class QueryResult:
    """Rows of a query (at most ``row_limit``; ``truncated`` when more were there)."""

    table: pa.Table
    truncated: bool
    row_limit: int


def lock_down(con: duckdb.DuckDBPyConnection, allowed_dirs: list[str]) -> None:
    """Forbid file access outside ``allowed_dirs`` and freeze the configuration."""
    # No spill directory: DuckDB would otherwise allow reading <cwd>/.tmp/ even with external access off.
    con.execute("SET temp_directory = ''")
    con.execute("SET allowed_directories = ?", [allowed_dirs])
    con.execute("SET enable_external_access = false")
    con.execute("SET allow_community_extensions = false")
    con.execute("SET lock_configuration = true")


def open_query_connection(lake: Lake, snapshot: int | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only, locked-down connection to ``lake`` (optionally at a snapshot)."""
    con = lake.connect(read_only=True, snapshot=snapshot, spatial=True)
    lock_down(con, lake.local_dirs())
    return con


def check_statement(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """Return the single read-only statement in ``sql`` or raise :class:`QueryRefused`."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryRefused(f"SQL does not parse: {exc}") from exc
    if len(statements) != 1:
        raise QueryRefused(f"query mode runs exactly one statement; got {len(statements)}")
    kind = str(statements[0].type).rsplit(".", 1)[-1]
    if kind not in ALLOWED_STATEMENTS:
        raise QueryRefused(
            f"query mode is read-only: only SELECT is allowed, not {kind} "
            "(no INSTALL/LOAD/ATTACH/COPY/SET/PRAGMA or writes)"
        )
    return sql


def run_query(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: list[Any] | dict[str, Any] | None = None,
    row_limit: int = 100_000,
    timeout_s: float = 30.0,
) -> QueryResult:
    """Run one read-only statement with a row limit and a time limit."""
    check_statement(con, sql)
    timer = threading.Timer(timeout_s, con.interrupt)
    timer.start()
    try:
        reader = con.execute(sql, params or []).to_arrow_reader(min(row_limit + 1, 65_536))
        batches: list[pa.RecordBatch] = []
        n = 0
        truncated = False
        for batch in reader:
            batches.append(batch)
            n += batch.num_rows
            if n > row_limit:
                truncated = True
                break
        table = pa.Table.from_batches(batches, schema=reader.schema).slice(0, row_limit)
    except duckdb.InterruptException as exc:
        raise QueryRefused(f"query cancelled after the {timeout_s:g} s time limit") from exc
    except duckdb.PermissionException as exc:
        raise QueryRefused(f"refused: {exc}") from exc
    except duckdb.InvalidInputException as exc:
        if "read-only" in str(exc) or "locked" in str(exc):
            raise QueryRefused(f"refused: {exc}") from exc
        raise WarehouseError(f"query failed: {exc}") from exc
    except duckdb.Error as exc:
        raise WarehouseError(f"query failed: {exc}") from exc
    finally:
        timer.cancel()
    if truncated:
        log.info("query result truncated at %d rows", row_limit)
    return QueryResult(table, truncated, row_limit)


def query_lake(
    lake: Lake,
    sql: str,
    params: list[Any] | dict[str, Any] | None = None,
    *,
    snapshot: int | None = None,
    row_limit: int = 100_000,
    timeout_s: float = 30.0,
) -> QueryResult:
    """Run one read-only statement on ``lake`` (optionally as of ``snapshot``) on a locked-down connection.

    Example: ``query_lake(lake, "SELECT count(*) AS n FROM events").table``.
    Raises :class:`QueryRefused` for anything but one ``SELECT``/``EXPLAIN``.
    """
    con = open_query_connection(lake, snapshot=snapshot)
    try:
        return run_query(con, sql, params, row_limit=row_limit, timeout_s=timeout_s)
    finally:
        con.close()
