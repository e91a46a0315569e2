"""Rendering an expedition brief for a partner, through the briefs package (:mod:`expedition.briefs`).

The route has already checked that the partner sees the expedition and every survey row of it
(no embargoed observation can appear in the brief).
"""

from __future__ import annotations

from expedition.errors import ExpeditionError
from expedition.settings import Settings
from warehouse.lake import Lake


class BriefUnavailable(ExpeditionError):
    """The brief cannot be produced here (briefs package missing, or rendering failed)."""


def render_partner_brief(
    lake: Lake, settings: Settings, expedition_id: str, fmt: str, lang: str, snapshot_id: int
) -> tuple[bytes, str]:
    """``(body, media type)`` of the brief of ``expedition_id`` at ``snapshot_id``."""
    try:
        import expedition.briefs  # noqa: F401
    except ImportError as exc:
        raise BriefUnavailable("briefs are not available in this installation (expedition.briefs missing)") from exc
    raise BriefUnavailable("briefs are not available yet")
