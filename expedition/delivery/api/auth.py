"""Authentication of partners (``Authorization: Bearer qe_...``) and the service state.

A missing, malformed, unknown or revoked token gets 401 with ``WWW-Authenticate: Bearer``. The
token registry is part of the lake data the service reads (:mod:`expedition.delivery.api.source`), so a
revocation takes effect within ``[api] refresh_s`` seconds, without a restart.

Failed attempts are counted per client address and per token id (:class:`FailureThrottle`): past
``[api] auth_max_failures`` in ``auth_window_s`` the address gets 429 before its token is even
checked; both are logged (a token id is never locked: that would let anyone lock a partner out). An authenticated partner is held to its request rate
(``partner_rate_per_s``, 429 with ``Retry-After``). Requests with a body are authenticated by the
edge middleware (:mod:`expedition.delivery.api.edge`) before their body is read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Optional

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from expedition.delivery.api.audit import AuditLog
from expedition.delivery.api.config import ApiConfig
from expedition.delivery.api.pool import QueryPool
from expedition.delivery.api.scopes import PartnerView, ScopeCache
from expedition.delivery.api.source import LakeData, LakeSource
from expedition.delivery.api.throttle import ConcurrencyLimiter, FailureThrottle, Limited, RateLimiter
from expedition.delivery.api.worker import WorkerLimits
from expedition.delivery.partners import Partner, parse_token
from expedition.settings import Settings
from warehouse.lake import Lake

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="PartnerToken",
    description="The partner token printed by `expedition partners add`: `Authorization: Bearer qe_...`.",
)


@dataclass
class ApiState:
    """Everything a request needs; one per application."""

    settings: Settings
    lake: Lake
    config: ApiConfig
    source: LakeSource
    scopes: ScopeCache
    audit: AuditLog
    clock: Callable[[], datetime]
    rate: RateLimiter
    concurrency: ConcurrencyLimiter
    auth_failures: FailureThrottle
    pool: QueryPool | None = None
    _pool_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def ensure_pool(self) -> QueryPool | None:
        """The query workers, started on first use (``None`` with ``[api] query_workers = 0``)."""
        if self.pool is not None or self.config.query_workers == 0:
            return self.pool
        with self._pool_lock:
            if self.pool is None:
                self.pool = QueryPool(self.config.query_workers, worker_limits(self.config)).start()
            return self.pool

    def view(self, partner: Partner) -> PartnerView:
        """The partner's locked-down view of the current lake data."""
        return self.scopes.view(partner, self.source.current(), self.clock())

    def data_and_view(self, partner: Partner) -> tuple[LakeData, PartnerView]:
        """The current lake data and the partner's view of exactly that data."""
        data = self.source.current()
        return data, self.scopes.view(partner, data, self.clock())

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
        self.audit.close()
        self.source.close()


def worker_limits(cfg: ApiConfig) -> WorkerLimits:
    """The bounds of every query worker, from ``[api]``."""
    return WorkerLimits(
        memory_bytes=cfg.worker_memory_bytes,
        duckdb_memory_limit=cfg.partner_memory_limit,
        threads=cfg.worker_threads,
        cpu_s=cfg.timeout_s * cfg.worker_threads,
        grace_s=2.0,
        max_answer_bytes=cfg.max_answer_bytes,
    )


def get_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.qe
    return state


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def limited(exc: Limited) -> HTTPException:
    """429 with ``Retry-After`` for a reached limit."""
    return HTTPException(status_code=429, detail=str(exc), headers={"Retry-After": str(exc.retry_after_s)})


def authenticate(state: ApiState, token: str | None, client: str | None) -> Partner:
    """The partner holding ``token`` (401 otherwise; 429 while the client or token id is throttled)."""
    keys = [f"client {client or '?'}"]
    parsed = parse_token(token) if token else None
    if parsed is not None:
        keys.append(f"token id {parsed[0]}")  # counted and logged, never locked (see throttle)
    try:
        state.auth_failures.check(keys[0])
    except Limited as exc:
        if len(keys) > 1:  # a locked-out address still trying a token id: counted for that id too
            state.auth_failures.failed(keys[1])
        raise limited(exc) from None
    if not token:
        raise _unauthorized("a partner token is required: send 'Authorization: Bearer qe_...'")
    partner = state.source.current().registry.authenticate(token)
    if partner is None:
        state.auth_failures.failed(*keys)
        raise _unauthorized("the token is not valid (unknown, malformed or revoked)")
    return partner


def partner_from_credentials(request: Request, creds: Optional[HTTPAuthorizationCredentials]) -> Partner:
    state = get_state(request)
    partner: Partner | None = getattr(request.state, "partner", None)  # set by the edge middleware
    if partner is None:
        client = request.client.host if request.client else None
        partner = authenticate(state, creds.credentials if creds is not None else None, client)
        request.state.partner = partner
    try:
        state.rate.check(partner.name)
    except Limited as exc:
        raise limited(exc) from None
    return partner


def require_partner(
    request: Request, creds: Annotated[Optional[HTTPAuthorizationCredentials], Depends(bearer)]
) -> Partner:
    """FastAPI dependency: the authenticated partner, or 401."""
    return partner_from_credentials(request, creds)


CurrentPartner = Annotated[Partner, Depends(require_partner)]
