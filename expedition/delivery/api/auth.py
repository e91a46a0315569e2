"""Authentication of partners (``Authorization: Bearer qe_...``) and the service state.

A missing, malformed, unknown or revoked token gets 401 with ``WWW-Authenticate: Bearer``. The
token registry is part of the lake data the service reads (:mod:`expedition.delivery.api.source`), so a
revocation takes effect within ``[api] refresh_s`` seconds, without a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Optional

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from expedition.delivery.api.audit import AuditLog
from expedition.delivery.api.config import ApiConfig
from expedition.delivery.api.scopes import PartnerView, ScopeCache
from expedition.delivery.api.source import LakeData, LakeSource
from expedition.delivery.partners import Partner
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

    def view(self, partner: Partner) -> PartnerView:
        """The partner's locked-down view of the current lake data."""
        return self.scopes.view(partner, self.source.current(), self.clock())

    def data_and_view(self, partner: Partner) -> tuple[LakeData, PartnerView]:
        """The current lake data and the partner's view of exactly that data."""
        data = self.source.current()
        return data, self.scopes.view(partner, data, self.clock())

    def close(self) -> None:
        self.audit.close()
        self.source.close()


def get_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.qe
    return state


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def partner_from_credentials(request: Request, creds: Optional[HTTPAuthorizationCredentials]) -> Partner:
    if creds is None or not creds.credentials:
        raise _unauthorized("a partner token is required: send 'Authorization: Bearer qe_...'")
    partner = get_state(request).source.current().registry.authenticate(creds.credentials)
    if partner is None:
        raise _unauthorized("the token is not valid (unknown, malformed or revoked)")
    request.state.partner = partner
    return partner


def require_partner(
    request: Request, creds: Annotated[Optional[HTTPAuthorizationCredentials], Depends(bearer)]
) -> Partner:
    """FastAPI dependency: the authenticated partner, or 401."""
    return partner_from_credentials(request, creds)


CurrentPartner = Annotated[Partner, Depends(require_partner)]
