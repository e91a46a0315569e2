"""What a survey is checked against: the expedition's time window and affected area.

Read from the expedition record (:func:`expedition.decisions.records.get_expedition`); an unknown id raises
:class:`~expedition.surveys.errors.UnknownExpedition`.

* Time window: from the mainshock origin time to the end of the expedition's ``end_date`` when
  set, else to the moment of the ingest. Survey times outside it are errors.
* Affected area: a circle around the epicentre. Its radius is the ``[surveys]
  affected_radius_km`` setting when given, else the largest of the expedition's sequence radius
  (Gardner & Knopoff 1974) and the epicentral distance where shaking drops to MMI VI: the Allen,
  Wald & Worden (2012) rupture-distance intensity prediction equation, solved for Rrup, plus half
  the Wells & Coppersmith (1994) subsurface rupture length (the rupture may extend either way from
  the epicentre; science.md sections 2 and 9). A site outside is a *warning* with its distance,
  never a rejection: aftershocks and long ruptures reach further than any circle.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from expedition.surveys.errors import UnknownExpedition

if TYPE_CHECKING:
    from expedition.settings import Settings
    from warehouse.lake import Lake

__all__ = ["SurveyContext", "affected_radius_km", "context_for", "context_from_expedition"]

#: The intensity at which the affected area ends (EMS-98/MMI VI: first slight damage to buildings).
AFFECTED_MMI = 6.0


@dataclass(frozen=True)
class SurveyContext:
    """An expedition as the survey checks see it."""

    expedition_id: str
    window_start_utc: dt.datetime | None
    window_end_utc: dt.datetime | None
    epicentre_latitude_deg: float | None = None
    epicentre_longitude_deg: float | None = None
    affected_radius_km: float | None = None
    description: str = ""


def affected_radius_km(magnitude: float, floor_km: float = 0.0) -> float:
    """Epicentral distance (km) inside which MMI >= VI is expected for a quake of ``magnitude``.

    The rupture distance where the Allen, Wald & Worden (2012) rupture-distance IPE falls below MMI VI
    (:func:`expedition.science.hazard.exposure.reach_km`), plus half the Wells & Coppersmith (1994)
    subsurface rupture length (:func:`expedition.science.hazard.rupture.wells_coppersmith_rld_km`).
    """
    from expedition.science.hazard.exposure import reach_km
    from expedition.science.hazard.rupture import wells_coppersmith_rld_km

    rrup = reach_km("allen2012_rrup", magnitude, AFFECTED_MMI)
    return max(rrup + 0.5 * wells_coppersmith_rld_km(magnitude), floor_km)


def context_from_expedition(exp: Any, now: dt.datetime | None = None, radius_override_km: float | None = None) -> SurveyContext:
    """Build the context from an :class:`expedition.decisions.records.Expedition` (any object with its fields)."""
    now = now or dt.datetime.now(dt.UTC)
    start = exp.mainshock_origin_time_utc
    end = now
    if getattr(exp, "end_date", None) is not None:
        end = dt.datetime.combine(exp.end_date, dt.time(23, 59, 59), tzinfo=dt.UTC)
    radius = radius_override_km
    mag = exp.mainshock_magnitude_value
    if radius is None and mag is not None:
        radius = affected_radius_km(float(mag), float(exp.sequence_radius_km or 0.0))
    desc = (
        f"{exp.expedition_id}: mainshock M{mag if mag is not None else '?'} at "
        f"{start.isoformat() if start else '?'}, affected radius "
        f"{f'{radius:.0f} km' if radius is not None else 'unknown'}"
    )
    return SurveyContext(
        expedition_id=exp.expedition_id,
        window_start_utc=start,
        window_end_utc=end,
        epicentre_latitude_deg=exp.mainshock_latitude_deg,
        epicentre_longitude_deg=exp.mainshock_longitude_deg,
        affected_radius_km=radius,
        description=desc,
    )


def context_for(lake: Lake, expedition_id: str, settings: Settings | None = None,
                now: dt.datetime | None = None) -> SurveyContext:
    """The context of ``expedition_id`` from the lake (:class:`UnknownExpedition` when it does not exist)."""
    from expedition.decisions.records import get_expedition
    from expedition.errors import ExpeditionError, NotFound

    try:
        exp = get_expedition(lake, expedition_id)
    except NotFound as exc:
        raise UnknownExpedition(f"unknown expedition ID {expedition_id!r} (see `expedition list`)") from exc
    except ExpeditionError as exc:  # a malformed id
        raise UnknownExpedition(f"unknown expedition ID {expedition_id!r}: {exc}") from exc
    override = None
    if settings is not None:
        section = settings.extra.get("surveys", {})
        if isinstance(section, dict) and section.get("affected_radius_km") is not None:
            override = float(section["affected_radius_km"])
    return context_from_expedition(exp, now=now, radius_override_km=override)
