"""Query mode: read-only SQL for users and partners, with no reach outside the lake.

Defence in depth:

1. the statement is classified by DuckDB's own parser (``con.extract_statements``: the statement
   type), never by text patterns, and must be exactly one ``SELECT`` (which includes ``FROM``,
   ``VALUES``, ``WITH ... SELECT``, ``DESCRIBE``/``SUMMARIZE``/``SHOW`` of a query). Every other
   statement type is refused, ``EXPLAIN`` included: ``EXPLAIN ANALYZE`` *runs* the statement it
   explains (``EXPLAIN ANALYZE COPY ... TO`` wrote into the lake directory), and DuckDB's Python
   parser API gives an ``EXPLAIN`` statement's type only, not whether it is ``ANALYZE`` nor what it
   explains (``Statement`` exposes ``type``, ``query``, ``named_parameters``,
   ``expected_result_type``, identical for both; ``json_serialize_sql`` serialises SELECT only).
   A plan is asked for with ``explain="plan"`` (or ``"analyze"``) instead: the statement is checked
   to be one SELECT first, so what is explained is a SELECT by construction. A SELECT can still
   call a table function that acts (``ducklake_cleanup_old_files`` deletes files, ``query('...')``
   runs SQL text the parser did not see): the SELECT's parse tree (``json_serialize_sql``, DuckDB's
   own serialisation of it) is walked and such functions are refused (:data:`ACTING_FUNCTIONS`,
   and every ``ducklake_*`` function but the read-only ones in :data:`READ_ONLY_DUCKLAKE`);
2. the lake is attached ``READ_ONLY``;
3. DuckDB's own settings: ``enable_external_access = false`` with ``allowed_directories`` limited
   to the lake's own directories, then ``lock_configuration = true`` so no statement can undo it;
4. a row limit and a time limit (the query is interrupted, not left running), and the OS bounds of
   :mod:`warehouse.limits` around the process that runs it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast, overload

import duckdb

from warehouse.errors import QueryLimitExceeded, QueryRefused, WarehouseError
from warehouse.lake import Lake, sql_literal
from warehouse.limits import Watchdog
from warehouse.needs import EVERYTHING, parse_tree, statement_needs, tree_nodes

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

__all__ = [
    "ALLOWED_STATEMENTS",
    "PLAIN_TYPES",
    "QueryResult",
    "QueryRows",
    "check_statement",
    "lock_down",
    "open_query_connection",
    "query_lake",
    "run_query",
]

#: The only statement type that runs (DuckDB's ``StatementType`` names).
ALLOWED_STATEMENTS = frozenset({"SELECT"})
#: Table functions a read-only query may not call: they act, or run SQL text the check never saw.
ACTING_FUNCTIONS = frozenset({"query", "checkpoint", "force_checkpoint"})
#: The ``ducklake_*`` table functions that only read the catalog; every other one is refused.
READ_ONLY_DUCKLAKE = frozenset({
    "ducklake_snapshots", "ducklake_table_info", "ducklake_list_files", "ducklake_table_changes",
    "ducklake_table_insertions", "ducklake_table_deletions", "ducklake_current_snapshot",
    "ducklake_last_committed_snapshot", "ducklake_options", "ducklake_settings",
})
Explain = Literal["plan", "analyze"]
#: How long an interrupted query may take to stop before its process is ended (:class:`Watchdog`).
GRACE_S = 2.0
_EXPLAIN_PREFIX = {"plan": "EXPLAIN ", "analyze": "EXPLAIN ANALYZE "}


@dataclass(frozen=True)
class QueryResult:
    """Rows of a query (at most ``row_limit``; ``truncated`` when more were there)."""

    table: pa.Table
    truncated: bool
    row_limit: int


#: DuckDB column types (``DuckDBPyType.id``) whose Python values are the ones Arrow's ``to_pylist``
#: gives (numbers, text, booleans, decimals): a result of only these needs no Arrow to be printed.
#: Not here: HUGEINT (Arrow: Decimal, DuckDB: int), dates and times (infinite values), nested types.
PLAIN_TYPES = frozenset({
    "boolean", "tinyint", "smallint", "integer", "bigint", "utinyint", "usmallint", "uinteger", "ubigint",
    "float", "double", "decimal", "varchar",
})


@dataclass(frozen=True)
class QueryRows:
    """Rows of a query whose columns are all :data:`PLAIN_TYPES`, as DuckDB's Python values (at most
    ``row_limit``; ``truncated`` when more were there): what a shell needs to print, without Arrow."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    truncated: bool
    row_limit: int


def lock_down(con: duckdb.DuckDBPyConnection, allowed_dirs: list[str]) -> None:
    """Forbid file access outside ``allowed_dirs`` and freeze the configuration."""
    # No spill directory: DuckDB would otherwise allow reading <cwd>/.tmp/ even with external access off.
    con.execute("SET temp_directory = ''")
    # A literal list, not a bound parameter: binding any parameter makes DuckDB 1.5's Python client
    # import pandas (0.4-0.6 s of an `expedition query`); the paths come from the settings.
    con.execute(f"SET allowed_directories = [{', '.join(sql_literal(d) for d in allowed_dirs)}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET allow_community_extensions = false")
    con.execute("SET lock_configuration = true")


def open_query_connection(lake: Lake, snapshot: int | None = None, sql: str | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only, locked-down connection to ``lake`` (optionally at a snapshot).

    With ``sql``, only what that statement needs (:func:`warehouse.needs.statement_needs`: the views
    it reads, no spatial extension); without, everything (every view, the spatial extension)."""
    con = lake.connect(read_only=True, snapshot=snapshot, views=False, own=True)
    try:
        need = statement_needs(con, sql) if sql is not None else EVERYTHING
        if need.spatial:
            con.close()
            con = lake.connect(read_only=True, snapshot=snapshot, spatial=True, views=False, own=True)
        lake.define_views(con, need.views)
        lock_down(con, lake.local_dirs())
    except BaseException:
        con.close()
        raise
    return con


def check_text(sql: object) -> str:
    """``sql`` as text DuckDB can take: a str with no lone surrogate or NUL (else :class:`QueryRefused`)."""
    if not isinstance(sql, str):
        raise QueryRefused(f"SQL must be text, got {type(sql).__name__}")
    try:
        sql.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise QueryRefused(
            f"SQL is not valid Unicode text: a lone surrogate at character {exc.start} (send UTF-8 text)"
        ) from exc
    if "\x00" in sql:
        raise QueryRefused(f"SQL contains a NUL character at character {sql.index(chr(0))}")
    return sql


def statement_kinds(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    """DuckDB's statement types of ``sql`` (``["SELECT"]``, ``["EXPLAIN"]``...), from its own parser."""
    try:
        statements = con.extract_statements(check_text(sql))
    except duckdb.Error as exc:
        raise QueryRefused(f"SQL does not parse: {_one_line(exc)}") from exc
    return [str(s.type).rsplit(".", 1)[-1] for s in statements]


def table_functions(con: duckdb.DuckDBPyConnection, sql: str) -> set[str]:
    """Names (lower case) of the table functions a SELECT calls, from DuckDB's parse tree of it."""
    try:
        tree = parse_tree(con, sql)
    except ValueError as exc:
        raise QueryRefused(f"the statement cannot be checked: {exc}") from exc
    return {
        str(node["function"].get("function_name", "")).lower() for node in tree_nodes(tree)
        if node.get("type") == "TABLE_FUNCTION" and isinstance(node.get("function"), dict)
    }


_CHECKED: OrderedDict[tuple[str, str | None], str] = OrderedDict()
_CHECKED_LOCK = threading.Lock()
CHECKED_KEPT = 512


def check_statement(con: duckdb.DuckDBPyConnection, sql: str, explain: Explain | None = None) -> str:
    """The SQL to run for ``sql``: its single SELECT, or that SELECT's plan; else :class:`QueryRefused`.

    The verdict depends on the text alone (DuckDB's parser), so texts that passed are remembered
    (the last :data:`CHECKED_KEPT`): named queries repeat, and the check costs two parses."""
    key = (sql, explain)
    with _CHECKED_LOCK:
        hit = _CHECKED.get(key)
        if hit is not None:
            _CHECKED.move_to_end(key)
            return hit
    to_run = _check(con, sql, explain)
    with _CHECKED_LOCK:
        _CHECKED[key] = to_run
        while len(_CHECKED) > CHECKED_KEPT:
            _CHECKED.popitem(last=False)
    return to_run


def _check(con: duckdb.DuckDBPyConnection, sql: str, explain: Explain | None) -> str:
    kinds = statement_kinds(con, sql)
    if len(kinds) != 1:
        raise QueryRefused(f"query mode runs exactly one statement; got {len(kinds)} ({', '.join(kinds) or 'none'})")
    kind = kinds[0]
    if kind not in ALLOWED_STATEMENTS:
        hint = (
            " (write the SELECT itself and ask for its plan: `expedition query --explain plan` or "
            '"explain": "plan" in the request; EXPLAIN ANALYZE would run the statement it explains)'
            if kind == "EXPLAIN" else " (no INSTALL/LOAD/ATTACH/COPY/SET/PRAGMA/CALL or writes)"
        )
        raise QueryRefused(f"query mode is read-only: only SELECT is allowed, not {kind}{hint}")
    acting = sorted(f for f in table_functions(con, sql)
                    if f in ACTING_FUNCTIONS or (f.startswith("ducklake_") and f not in READ_ONLY_DUCKLAKE))
    if acting:
        raise QueryRefused(f"query mode is read-only: the table function {acting[0]}() is not allowed")
    if explain is None:
        return sql
    if explain not in _EXPLAIN_PREFIX:
        raise QueryRefused(f"explain must be 'plan' or 'analyze', got {explain!r}")
    # The SELECT was verified above, so the composed text is EXPLAIN [ANALYZE] of that SELECT;
    # checked once more by the parser all the same.
    composed = _EXPLAIN_PREFIX[explain] + sql
    if statement_kinds(con, composed) != ["EXPLAIN"]:
        raise QueryRefused("the plan of this statement cannot be shown")
    return composed


def run_query(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: list[Any] | dict[str, Any] | None = None,
    row_limit: int = 100_000,
    timeout_s: float = 30.0,
    explain: Explain | None = None,
    cpu_s: float | None = None,
    grace_s: float = GRACE_S,
) -> QueryResult:
    """Run one read-only statement with a row limit and a time limit.

    Past ``timeout_s`` (or ``cpu_s`` CPU seconds) the query is interrupted; if it does not stop
    within ``grace_s`` the process ends (:class:`~warehouse.limits.Watchdog`): call this in a
    process that may end (the CLI, a service worker)."""
    limits = _Limits(row_limit, timeout_s, cpu_s, grace_s)
    return cast(QueryResult, _run(con, sql, params, explain, limits, plain=False))


@dataclass(frozen=True)
class _Limits:
    rows: int
    timeout_s: float
    cpu_s: float | None
    grace_s: float


def _run(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | dict[str, Any] | None, explain: Explain | None,
    limits: _Limits, *, plain: bool,
) -> QueryResult | QueryRows:
    """:func:`run_query`; with ``plain``, a result of :data:`PLAIN_TYPES` only comes back as :class:`QueryRows`."""
    to_run = check_statement(con, sql, explain)
    timeout_s, cpu_s = limits.timeout_s, limits.cpu_s
    dog = Watchdog(con.interrupt, wall_s=timeout_s, cpu_s=cpu_s, grace_s=limits.grace_s,
                   message=f"query ended: it passed its {timeout_s:g} s time limit and did not stop when interrupted")
    try:
        with dog:
            result = con.execute(to_run, params or [])
            if plain and all(d[1].id in PLAIN_TYPES for d in result.description or ()):
                rows = result.fetchmany(limits.rows + 1)
                truncated = len(rows) > limits.rows
                found: QueryResult | QueryRows = QueryRows(
                    tuple(str(d[0]) for d in result.description or ()), rows[:limits.rows], truncated, limits.rows)
            else:
                table, truncated = _fetch_arrow(result, limits.rows)
                found = QueryResult(table, truncated, limits.rows)
    except duckdb.InterruptException as exc:
        what = "CPU" if dog.reason == "cpu" else "time"
        budget = cpu_s if dog.reason == "cpu" else timeout_s
        raise QueryLimitExceeded("time", f"query cancelled after the {budget:g} s {what} limit") from exc
    except duckdb.OutOfMemoryException as exc:
        raise QueryLimitExceeded("memory", f"the query needs more memory than allowed: {_first_line(exc)}") from exc
    except MemoryError as exc:
        raise QueryLimitExceeded("memory", "the answer needs more memory than allowed") from exc
    except duckdb.PermissionException as exc:
        raise QueryRefused(f"refused: {_one_line(exc)}") from exc
    except duckdb.InvalidInputException as exc:
        if "read-only" in str(exc) or "locked" in str(exc):
            raise QueryRefused(f"refused: {_one_line(exc)}") from exc
        raise WarehouseError(f"query failed: {_one_line(exc)}") from exc
    except duckdb.Error as exc:
        raise WarehouseError(f"query failed: {_one_line(exc)}") from exc
    if truncated:
        log.info("query result truncated at %d rows", limits.rows)
    return found


def _fetch_arrow(result: duckdb.DuckDBPyConnection, row_limit: int) -> tuple[pa.Table, bool]:
    """At most ``row_limit`` rows of ``result`` as Arrow, and whether more were there."""
    import pyarrow as pa

    try:
        reader = result.to_arrow_reader(min(row_limit + 1, 65_536))
    except (pa.ArrowException, OSError) as exc:
        raise WarehouseError(_unsendable(result, exc)) from exc
    batches: list[pa.RecordBatch] = []
    n = 0
    truncated = False
    for batch in reader:
        batches.append(batch)
        n += batch.num_rows
        if n > row_limit:
            truncated = True
            break
    return pa.Table.from_batches(batches, schema=reader.schema).slice(0, row_limit), truncated


def _unsendable(result: duckdb.DuckDBPyConnection, exc: BaseException) -> str:
    """The message for a result DuckDB cannot hand over as Arrow, naming the column(s) concerned."""
    message = _first_line(exc).removeprefix("Not implemented Error: ")
    cols = [(str(d[0]), str(d[1])) for d in (result.description or [])]
    named = [f"{name} ({typ})" for name, typ in cols if typ.split("(")[0].upper() in message.upper()]
    which = ", ".join(named) if named else ", ".join(f"{n} ({t})" for n, t in cols)
    return f"result column {which} cannot be sent: {message}; cast it in the query (e.g. to VARCHAR)"


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


_CONTEXT = re.compile(r"^LINE (\d+): (.*)$")


def _one_line(exc: BaseException) -> str:
    """DuckDB's message on one line: its ``LINE n: <sql>`` / ``^`` context becomes "(at line n, column
    c)" (column left out when DuckDB shortened the quoted SQL), other lines are joined with "; "."""
    lines = [ln.rstrip() for ln in str(exc).splitlines()]
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _CONTEXT.match(lines[i])
        caret = lines[i + 1] if i + 1 < len(lines) else ""
        if m and caret.strip() == "^":
            column = len(caret) - len(f"LINE {m.group(1)}: ")  # the caret's 1-based column in the SQL
            where = f"line {m.group(1)}" + ("" if m.group(2).startswith("...") else f", column {column}")
            out.append(f"(at {where})")
            i += 2
            continue
        if lines[i].strip():
            out.append(lines[i].strip())
        i += 1
    text = "; ".join(out).replace("; (at ", " (at ")
    return text or type(exc).__name__


@overload
def query_lake(
    lake: Lake, sql: str, params: list[Any] | dict[str, Any] | None = None, *, snapshot: int | None = None,
    row_limit: int = 100_000, timeout_s: float = 30.0, explain: Explain | None = None, cpu_s: float | None = None,
    plain_rows: Literal[False] = False,
) -> QueryResult: ...


@overload
def query_lake(
    lake: Lake, sql: str, params: list[Any] | dict[str, Any] | None = None, *, snapshot: int | None = None,
    row_limit: int = 100_000, timeout_s: float = 30.0, explain: Explain | None = None, cpu_s: float | None = None,
    plain_rows: bool,
) -> QueryResult | QueryRows: ...


def query_lake(  # noqa: PLR0913  (keyword-only options of one statement)
    lake: Lake,
    sql: str,
    params: list[Any] | dict[str, Any] | None = None,
    *,
    snapshot: int | None = None,
    row_limit: int = 100_000,
    timeout_s: float = 30.0,
    explain: Explain | None = None,
    cpu_s: float | None = None,
    plain_rows: bool = False,
) -> QueryResult | QueryRows:
    """Run one read-only statement on ``lake`` (optionally as of ``snapshot``) on a locked-down connection.

    The connection first holds only what the statement needs (the views it reads, no spatial
    extension: :func:`warehouse.needs.statement_needs`); a function or type DuckDB's binder cannot
    find then gets the full connection, once.

    ``plain_rows``: a result whose columns are all :data:`PLAIN_TYPES` comes back as
    :class:`QueryRows` (Python values; Arrow is not loaded), any other as :class:`QueryResult`.

    Example: ``query_lake(lake, "SELECT count(*) AS n FROM events").table``.
    Raises :class:`QueryRefused` for anything but one plain ``SELECT`` (decided by DuckDB's parser).
    """
    for statement in (sql, None):
        con = open_query_connection(lake, snapshot=snapshot, sql=statement)
        try:
            return _run(con, sql, params, explain, _Limits(row_limit, timeout_s, cpu_s, GRACE_S), plain=plain_rows)
        except WarehouseError as exc:
            if statement is None or not isinstance(exc.__cause__, duckdb.CatalogException | duckdb.BinderException):
                raise
        finally:
            con.close()
    raise AssertionError("unreachable: the full connection either answers or raises")
