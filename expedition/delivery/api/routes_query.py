"""``POST /v1/query`` (read-only SQL) and ``GET /v1/queries[/{name}]`` (named queries).

Both run on the partner's own locked-down database (:mod:`expedition.delivery.api.scopes`) through
:func:`warehouse.query.run_query`: exactly one SELECT, a row limit (more rows are cut and the
``X-QE-Truncated`` header says so) and a time limit (the query is interrupted). Every call and
every refusal is audited (:mod:`expedition.delivery.api.audit`).

Status codes: 400 SQL that does not parse or names an unknown table/column, or a bad named-query
parameter; 403 a statement that is not a read (writes, COPY, ATTACH, INSTALL/LOAD, SET, PRAGMA)
or reads files; 413 SQL text too long, or a query needing more memory than a partner may use;
422 a query cancelled at the time limit.

Named queries are the ``warehouse/sql/queries/*.sql`` files whose header says
``-- audience: partners``; their ``-- param: NAME TYPE description`` lines declare the
parameters, which are cast to that type and bound (never formatted into the SQL).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Optional

import duckdb
from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from expedition.delivery.api.auth import CurrentPartner, get_state
from expedition.delivery.api.formats import FormatError, choose_format, table_response
from expedition.delivery.api.scopes import PartnerView
from warehouse import sqlfiles
from warehouse.errors import QueryRefused, WarehouseError
from warehouse.query import run_query

router = APIRouter(prefix="/v1", tags=["queries"])

_AUDIENCE = re.compile(r"^--\s*audience:\s*(.+)$", re.MULTILINE)
_RESERVED = {"format", "limit"}


class SqlRequest(BaseModel):
    sql: str = Field(..., description="Exactly one SELECT statement over your tables (see GET /v1/tables).")
    format: Optional[str] = Field(None, description="json (default), csv, parquet or arrow")
    limit: Optional[int] = Field(None, ge=1, description="At most this many rows (capped by the service limit).")


@dataclass(frozen=True)
class Outcome:
    status: int
    outcome: str
    detail: str


def classify(exc: WarehouseError, relations: list[str] | None = None) -> Outcome:
    """HTTP status and audit outcome of a failed query (``relations``: what the partner may read)."""
    cause = exc.__cause__
    if isinstance(cause, duckdb.InterruptException):
        return Outcome(422, "timeout", str(exc))
    if isinstance(cause, duckdb.OutOfMemoryException):
        return Outcome(413, "too_large", f"the query needs more memory than a partner may use: {exc}")
    if isinstance(exc, QueryRefused):
        if isinstance(cause, duckdb.ParserException) or str(exc).startswith("SQL does not parse"):
            return Outcome(400, "failed", str(exc))
        return Outcome(403, "refused", str(exc))
    if isinstance(cause, duckdb.CatalogException):
        first = str(cause).splitlines()[0]  # without DuckDB's "Did you mean" guesses at system tables
        yours = ", ".join(relations or []) or "see GET /v1/tables"
        return Outcome(400, "refused", f"query failed: {first} Your tables: {yours}")
    return Outcome(400, "failed", str(exc))


def execute(
    request: Request,
    view: PartnerView,
    sql: str,
    params: dict[str, Any] | None,
    fmt: str,
    limit: int | None,
    route: str,
    query_name: str | None = None,
) -> Response:
    """Run one partner query with limits, audit it, and answer in ``fmt`` (or raise HTTPException)."""
    state = get_state(request)
    cfg = state.config
    row_limit = min(limit or cfg.row_limit, cfg.row_limit)
    client = request.client.host if request.client else None
    t0 = time.perf_counter()
    cur = view.cursor()
    try:
        res = run_query(cur, sql, params, row_limit=row_limit, timeout_s=cfg.timeout_s)
    except WarehouseError as exc:
        out = classify(exc, view.relations)
        state.audit.record(
            route=route, outcome=out.outcome, status=out.status, partner=view.partner.name, client=client,
            query_name=query_name, sql=sql if query_name is None else None, detail=out.detail,
            duration_ms=(time.perf_counter() - t0) * 1e3, snapshot_id=view.snapshot_id,
        )
        raise HTTPException(status_code=out.status, detail=out.detail) from exc
    finally:
        cur.close()
    state.audit.record(
        route=route, outcome="truncated" if res.truncated else "ok", status=200, partner=view.partner.name,
        client=client, query_name=query_name, sql=sql if query_name is None else None,
        rows=res.table.num_rows, duration_ms=(time.perf_counter() - t0) * 1e3, snapshot_id=view.snapshot_id,
    )
    meta = {"row_count": res.table.num_rows, "truncated": res.truncated, "row_limit": row_limit,
            "snapshot_id": view.snapshot_id}
    headers = {"X-QE-Snapshot": str(view.snapshot_id), "X-QE-Row-Count": str(res.table.num_rows),
               "X-QE-Truncated": "true" if res.truncated else "false", "X-QE-Row-Limit": str(row_limit)}
    return table_response(res.table, fmt, meta, headers, filename=query_name or "query")


def _format(request: Request, explicit: str | None) -> str:
    try:
        return choose_format(explicit, request.headers.get("accept"))
    except FormatError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc


_RESULT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/csv": {}, "application/vnd.apache.parquet": {},
                      "application/vnd.apache.arrow.stream": {}}, "description": "The rows"},
    400: {"description": "SQL does not parse, unknown table or column, bad parameter"},
    401: {"description": "No valid partner token"},
    403: {"description": "Not a read-only SELECT, or it reads files"},
    413: {"description": "SQL text too long, or the query needs too much memory"},
    422: {"description": "Cancelled at the time limit"},
}


@router.post("/query", summary="Run read-only SQL over your tables", responses=_RESULT_RESPONSES,
             response_class=Response)
def post_query(
    request: Request,
    partner: CurrentPartner,
    body: Annotated[SqlRequest, Body()],
    format: Optional[str] = Query(None, description="json (default), csv, parquet or arrow; or use Accept"),
) -> Response:
    state = get_state(request)
    if len(body.sql) > state.config.max_sql_chars:
        state.audit.record(route="/v1/query", outcome="refused", status=413, partner=partner.name,
                           sql=body.sql[:2000], detail="SQL text too long")
        raise HTTPException(status_code=413, detail=f"SQL text longer than {state.config.max_sql_chars} characters")
    fmt = _format(request, format or body.format)
    return execute(request, state.view(partner), body.sql, None, fmt, body.limit, "/v1/query")


@router.get("/tables", summary="Your tables and views, with their columns")
def get_tables(request: Request, partner: CurrentPartner) -> dict[str, Any]:
    view = get_state(request).view(partner)
    out: dict[str, Any] = {"snapshot_id": view.snapshot_id, "tables": []}
    cur = view.cursor()
    try:
        for name in view.relations:
            cols = cur.execute(f'DESCRIBE "{name}"').fetchall()  # names from our own list
            count = view.tables[name].num_rows if name in view.tables else None
            out["tables"].append({"name": name, "row_count": count,
                                  "columns": [{"name": c[0], "type": c[1]} for c in cols]})
    finally:
        cur.close()
    return out


# -- named queries ---------------------------------------------------------------------------------
def partner_queries() -> dict[str, sqlfiles.NamedQuery]:
    """The named queries offered to partners (header ``-- audience: partners``)."""
    out = {}
    for name, q in sqlfiles.queries().items():
        m = _AUDIENCE.search(q.sql)
        if m and "partners" in m.group(1).lower():
            out[name] = q
    return out


def _description(q: sqlfiles.NamedQuery) -> str:
    return re.sub(r"\s*audience:\s*[\w, ]+", "", q.description).strip()


def cast_param(name: str, typ: str, raw: str) -> Any:
    """Cast a query-string value to the declared SQL type (400 naming the parameter otherwise)."""
    t = typ.upper()
    try:
        if t in ("DOUBLE", "FLOAT", "REAL", "DECIMAL", "NUMERIC"):
            v = float(raw)
            if v != v or v in (float("inf"), float("-inf")):
                raise ValueError(raw)
            return v
        if t in ("INTEGER", "INT", "BIGINT", "SMALLINT", "HUGEINT"):
            return int(raw)
        if t in ("BOOLEAN", "BOOL"):
            low = raw.strip().lower()
            if low not in ("true", "false", "1", "0"):
                raise ValueError(raw)
            return low in ("true", "1")
        if t in ("TIMESTAMPTZ", "TIMESTAMP"):
            ts = datetime.fromisoformat(raw.strip())
            return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts
        if t == "DATE":
            return date.fromisoformat(raw.strip())
        if t in ("VARCHAR", "TEXT", "STRING"):
            if "\x00" in raw:
                raise ValueError(raw)
            return raw
    except (ValueError, OverflowError):
        raise HTTPException(
            status_code=400, detail=f"parameter {name}={raw!r}: expected {t} ({_EXAMPLES.get(t, 'a value')})"
        ) from None
    return raw  # another declared type: DuckDB casts the bound text (and refuses it with a clear error)


_EXAMPLES = {
    "DOUBLE": "a number, e.g. 6.5", "INTEGER": "an integer, e.g. 10", "BIGINT": "an integer, e.g. 10",
    "TIMESTAMPTZ": "an ISO 8601 time, e.g. 2023-02-06T01:17:34Z", "DATE": "a date, e.g. 2023-02-06",
    "BOOLEAN": "true or false", "VARCHAR": "text",
}


def bind_params(q: sqlfiles.NamedQuery, given: dict[str, str]) -> dict[str, Any]:
    unknown = sorted(set(given) - set(q.params) - _RESERVED)
    if unknown:
        raise HTTPException(
            status_code=400,
            detail=f"query {q.name} has no parameter {unknown[0]!r}; its parameters: {', '.join(q.params) or 'none'}",
        )
    missing = [p for p in q.params if p not in given]
    if missing:
        raise HTTPException(status_code=400, detail=f"query {q.name} needs parameter(s) {', '.join(missing)}")
    return {p: cast_param(p, typ, given[p]) for p, (typ, _desc) in q.params.items()}


@router.get("/queries", summary="Named queries you can run")
def list_queries(request: Request, partner: CurrentPartner) -> list[dict[str, Any]]:
    return [
        {
            "name": q.name,
            "description": _description(q),
            "params": [{"name": p, "type": t.upper(), "description": d} for p, (t, d) in q.params.items()],
            "url": str(request.url_for("run_named_query", name=q.name)),
        }
        for q in partner_queries().values()
    ]


@router.get("/queries/{name}", name="run_named_query", summary="Run a named query", responses=_RESULT_RESPONSES,
            response_class=Response)
def run_named_query(
    request: Request,
    name: str,
    partner: CurrentPartner,
    format: Optional[str] = Query(None, description="json (default), csv, parquet or arrow; or use Accept"),
    limit: Optional[int] = Query(None, ge=1, description="At most this many rows (capped by the service limit)"),
) -> Response:
    q = partner_queries().get(name)
    if q is None:
        raise HTTPException(status_code=404, detail=f"no named query {name!r} (GET /v1/queries lists them)")
    params = bind_params(q, dict(request.query_params))
    fmt = _format(request, format)
    return execute(request, get_state(request).view(partner), q.sql, params, fmt, limit, f"/v1/queries/{name}", name)
