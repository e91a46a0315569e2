"""The partner service application (FastAPI) and its uvicorn runner.

Usage::

    from expedition.delivery.api.app import create_app
    app = create_app(load_settings())          # an ASGI app; run it with expedition.delivery.api.server

Routes: ``/v1/query``, ``/v1/tables``, ``/v1/queries[/{name}]``, ``/v1/expeditions[...]`` (partner
token required), ``/fdsnws/event/1/...`` (public by default), ``/health``, ``/openapi.json`` and
``/docs``; the reviewers' web pages under ``/web/`` (:mod:`expedition.delivery.api.web`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from expedition.delivery.api import fdsnws, routes_expeditions, routes_query, web
from expedition.delivery.api.audit import AuditLog, safe_text
from expedition.delivery.api.auth import ApiState, get_state
from expedition.delivery.api.config import ApiConfig
from expedition.delivery.api.edge import EdgeGuard
from expedition.delivery.api.formats import jsonable
from expedition.delivery.api.scopes import ScopeCache
from expedition.delivery.api.source import LakeSource, ServiceUnavailable
from expedition.delivery.api.throttle import ConcurrencyLimiter, FailureThrottle, RateLimiter
from expedition.errors import NotFound
from expedition.settings import Settings
from warehouse.errors import LakeNotInitialised
from warehouse.lake import Lake

log = logging.getLogger(__name__)

API_VERSION = "1.0.0"
DESCRIPTION = """\
Read access for BRIDRREM alliance partners to the Quake Expedition warehouse.

* **Catalog**: the associated earthquake catalog as a standard FDSN event web service under
  `/fdsnws/event/1/` (QuakeML or FDSN text; ObsPy's `Client` works with it), and as the `events`
  table for SQL.
* **Expeditions, briefs, surveys**: what your partner scope allows (your member countries and
  named expeditions); survey observations after your embargo or once the expedition lead
  publishes them.
* **SQL**: `POST /v1/query` runs one read-only `SELECT` over your own tables (`GET /v1/tables`),
  with a row limit and a time limit; named, parameterised queries under `/v1/queries`.

Send your token as `Authorization: Bearer qe_...` (`expedition partners add` prints it once).
"""


def create_app(
    settings: Settings,
    *,
    lake: Lake | None = None,
    config: ApiConfig | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """The partner service for the lake of ``settings``.

    ``clock`` (default: the UTC wall clock) decides embargo ends; tests pass their own."""
    cfg = config or ApiConfig.from_settings(settings)
    lk = lake or Lake.from_settings(settings)
    state = ApiState(
        settings=settings,
        lake=lk,
        config=cfg,
        source=LakeSource(lk, refresh_s=cfg.refresh_s),
        scopes=ScopeCache(cfg.visible_statuses, cfg.partner_memory_limit, reviewers=cfg.reviewers),
        audit=AuditLog(lk, flush_s=cfg.audit_flush_s, sql_chars=cfg.audit_sql_chars,
                       retention_days=cfg.audit_retention_days),
        clock=clock or (lambda: datetime.now(UTC)),
        rate=RateLimiter(cfg.partner_rate_per_s, cfg.partner_burst),
        concurrency=ConcurrencyLimiter(cfg.partner_concurrency, cfg.queue_wait_s),
        auth_failures=FailureThrottle(cfg.auth_max_failures, cfg.auth_window_s),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread

        # Requests wait for query workers in threads: allow more than 40.
        anyio.to_thread.current_default_thread_limiter().total_tokens = 64
        await anyio.to_thread.run_sync(state.ensure_pool)  # workers ready before the first request
        try:
            yield
        finally:
            state.close()

    app = FastAPI(
        title="Quake Expedition partner service",
        version=API_VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.qe = state
    app.add_middleware(EdgeGuard, api=app)
    app.include_router(routes_query.router)
    app.include_router(routes_expeditions.router)
    app.include_router(fdsnws.router)
    app.include_router(web.router)
    _add_handlers(app)

    @app.get("/health", tags=["service"], summary="Liveness and the lake snapshot served")
    def health(request: Request) -> dict[str, Any]:
        data = get_state(request).source.current()
        return {"status": "ok", "snapshot_id": data.snapshot_id, "api_version": API_VERSION}

    return app


def scrub(message: str, settings: Settings) -> str:
    """``message`` fit for a client: valid Unicode, without this server's home or data directories."""
    text = safe_text(message)
    for path, name in ((str(settings.home), "<QE_HOME>"), (str(Path.home()), "~")):
        if len(path) > 1:
            text = text.replace(path, name)
    return text


def _add_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        detail = exc.detail if not isinstance(exc.detail, str) else scrub(exc.detail, get_state(request).settings)
        return JSONResponse({"detail": jsonable(detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Pydantic's errors echo the input (NaN, lone surrogates...): made JSON-safe, never a 500.
        errors = [{k: jsonable(v) for k, v in err.items() if k in ("loc", "msg", "type", "input")}
                  for err in exc.errors()]
        return JSONResponse({"detail": _safe(errors)}, status_code=422)

    @app.exception_handler(ServiceUnavailable)
    @app.exception_handler(LakeNotInitialised)
    async def unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("service unavailable: %s", exc)
        return JSONResponse({"detail": scrub(str(exc), get_state(request).settings)}, status_code=503,
                            headers={"Retry-After": "5"})

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)


def _safe(value: Any) -> Any:
    """``value`` with every string valid Unicode (lone surrogates escaped)."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, list):
        return [_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _safe(v) for k, v in value.items()}
    return value
