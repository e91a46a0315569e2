"""``POST /v1/query`` (read-only SQL) and ``GET /v1/queries[/{name}]`` (named queries).

Both run on a copy of the partner's own locked-down database (:mod:`expedition.delivery.api.scopes`) in a
query worker process (:mod:`expedition.delivery.api.pool`, :mod:`expedition.delivery.api.worker`) through
:func:`warehouse.query.run_query`: exactly one SELECT (DuckDB's parser decides), a row limit (more
rows are cut and the ``X-QE-Truncated`` header says so), a time limit (interrupted, and the worker
killed if it does not stop), the worker's memory limit and an answer-size cap. At most
``partner_concurrency`` queries of one partner run at once. Every call and every refusal is
audited (:mod:`expedition.delivery.api.audit`).

Status codes: 400 SQL that does not parse or names an unknown table/column, a bad named-query
parameter, or a result column no format can encode; 403 a statement that is not a plain SELECT
(writes, EXPLAIN, COPY, ATTACH, INSTALL/LOAD, SET, PRAGMA, CALL...) or reads files; 413 SQL text
too long, a query needing more memory than a partner may use, or an answer over
``max_answer_bytes``; 422 a query cancelled at the time limit; 429 the partner's rate or
concurrency limit (``Retry-After``); 503 every worker busy (``Retry-After``).

Named queries are the ``warehouse/sql/queries/*.sql`` files whose header says
``-- audience: partners``; their ``-- param: NAME TYPE description`` lines declare the
parameters, which are cast to that type and bound (never formatted into the SQL).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, Optional

from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from expedition.delivery.api.auth import CurrentPartner, get_state, limited
from expedition.delivery.api.formats import MEDIA_TYPES, FormatError, choose_format, encode
from expedition.delivery.api.outcomes import classify
from expedition.delivery.api.pool import PoolBusy
from expedition.delivery.api.scopes import PartnerView
from expedition.delivery.api.throttle import Limited
from expedition.delivery.api.worker import Answer, Job
from warehouse import sqlfiles
from warehouse.errors import WarehouseError
from warehouse.query import run_query

router = APIRouter(prefix="/v1", tags=["queries"])

_AUDIENCE = re.compile(r"^--\s*audience:\s*(.+)$", re.MULTILINE)
_RESERVED = {"format", "limit"}


class SqlRequest(BaseModel):
    sql: str = Field(..., description="Exactly one SELECT statement over your tables (see GET /v1/tables).")
    format: Optional[str] = Field(None, description="json (default), csv, parquet or arrow")
    limit: Optional[int] = Field(None, ge=1, description="At most this many rows (capped by the service limit).")
    explain: Optional[Literal["plan", "analyze"]] = Field(
        None, description="Answer the plan of the SELECT instead of its rows ('analyze': run it and show timings)."
    )


def _in_process(view: PartnerView, job: Job, max_answer_bytes: int) -> Answer:
    """Run ``job`` in this process ([api] query_workers = 0: tests and embedding only, no OS bounds)."""
    cur = view.cursor()
    try:
        res = run_query(cur, job.sql, job.params, row_limit=job.row_limit, timeout_s=job.timeout_s,
                        explain=job.explain)  # type: ignore[arg-type]  # checked by run_query
    except WarehouseError as exc:
        out = classify(exc, view.relations)
        return Answer(out.status, out.outcome, out.detail)
    finally:
        cur.close()
    meta = {**job.meta, "row_count": res.table.num_rows, "truncated": res.truncated, "row_limit": job.row_limit}
    try:
        body = encode(res.table, job.fmt, meta, max_bytes=max_answer_bytes)
    except FormatError as exc:
        return Answer(exc.status, "too_large" if exc.status == 413 else "failed", str(exc))
    return Answer(200, "truncated" if res.truncated else "ok", None, body, res.table.num_rows, res.truncated)


def execute(
    request: Request,
    view: PartnerView,
    sql: str,
    params: dict[str, Any] | None,
    fmt: str,
    limit: int | None,
    route: str,
    query_name: str | None = None,
    explain: str | None = None,
) -> Response:
    """Run one partner query with limits, audit it, and answer in ``fmt`` (or raise HTTPException)."""
    state = get_state(request)
    cfg = state.config
    row_limit = min(limit or cfg.row_limit, cfg.row_limit)
    client = request.client.host if request.client else None
    t0 = time.perf_counter()
    job = Job(view.view_id, sql, params, fmt, row_limit, cfg.timeout_s, {"snapshot_id": view.snapshot_id}, explain)
    audit_sql = sql if query_name is None else None
    try:
        with state.concurrency.slot(view.partner.name):
            pool = state.ensure_pool()
            if pool is None:
                answer = _in_process(view, job, cfg.max_answer_bytes)
            else:
                answer = pool.run(view, job, wait_s=cfg.queue_wait_s)
    except Limited as exc:
        state.audit.record(route=route, outcome="refused", status=429, partner=view.partner.name, client=client,
                           query_name=query_name, sql=audit_sql, detail=str(exc), snapshot_id=view.snapshot_id)
        raise limited(exc) from None
    except PoolBusy as exc:
        state.audit.record(route=route, outcome="refused", status=503, partner=view.partner.name, client=client,
                           query_name=query_name, sql=audit_sql, detail=str(exc), snapshot_id=view.snapshot_id)
        raise HTTPException(status_code=503, detail=str(exc), headers={"Retry-After": "5"}) from None
    state.audit.record(
        route=route, outcome=answer.outcome, status=answer.status, partner=view.partner.name, client=client,
        query_name=query_name, sql=audit_sql, detail=answer.detail, rows=answer.rows,
        duration_ms=(time.perf_counter() - t0) * 1e3, snapshot_id=view.snapshot_id,
    )
    if answer.status != 200:
        raise HTTPException(status_code=answer.status, detail=answer.detail)
    headers = {"X-QE-Snapshot": str(view.snapshot_id), "X-QE-Row-Count": str(answer.rows),
               "X-QE-Truncated": "true" if answer.truncated else "false", "X-QE-Row-Limit": str(row_limit)}
    if fmt != "json":
        ext = {"csv": "csv", "parquet": "parquet", "arrow": "arrows"}[fmt]
        headers["Content-Disposition"] = f'attachment; filename="{query_name or "query"}.{ext}"'
    return Response(answer.body, media_type=MEDIA_TYPES[fmt], headers=headers)


def _format(request: Request, explicit: str | None) -> str:
    try:
        return choose_format(explicit, request.headers.get("accept"))
    except FormatError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc


_RESULT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/csv": {}, "application/vnd.apache.parquet": {},
                      "application/vnd.apache.arrow.stream": {}}, "description": "The rows"},
    400: {"description": "SQL does not parse, unknown table or column, bad parameter, a column no format encodes"},
    401: {"description": "No valid partner token"},
    403: {"description": "Not a plain SELECT, or it reads files"},
    413: {"description": "Body or SQL text too long, the query needs too much memory, or the answer is too large"},
    422: {"description": "Cancelled at the time limit"},
    429: {"description": "Rate or concurrency limit of your partner account, or too many bad tokens (Retry-After)"},
    503: {"description": "Every query worker is busy (Retry-After)"},
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
    client = request.client.host if request.client else None
    if len(body.sql) > state.config.max_sql_chars:
        state.audit.record(route="/v1/query", outcome="refused", status=413, partner=partner.name, client=client,
                           sql=body.sql, detail="SQL text too long")
        raise HTTPException(status_code=413, detail=f"SQL text longer than {state.config.max_sql_chars} characters")
    fmt = _format(request, format or body.format)
    return execute(request, state.view(partner), body.sql, None, fmt, body.limit, "/v1/query", explain=body.explain)


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
            "url": get_state(request).config.link(request.app.url_path_for("run_named_query", name=q.name)),
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
