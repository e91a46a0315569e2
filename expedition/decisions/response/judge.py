"""Judge one earthquake against the trigger policy with no lake: locate it, assess it, apply the policy.

This is the step :func:`expedition.decisions.response.evaluate.evaluate_events` takes for an event
that belongs to no expedition yet, without the lake around it: no sequence matching, no record
written. :func:`judge_event` takes an :class:`~expedition.decisions.response.events.EventRow` or
any mapping with an event's columns (a lake ``events`` row or a catalog solution row) and returns a
:class:`Judgement` with the verdict and its reason in words. The policy and membership are the
settings' (the shipped ones without settings).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from expedition.decisions.membership import load_membership
from expedition.decisions.policy import EventFacts, TriggerPolicy, Verdict, judge, load_policy
from expedition.decisions.response import decisions as dec
from expedition.decisions.response.assess import (
    Assessment,
    Context,
    Location,
    assess,
    load_context,
    locate,
    search_radius_km,
)
from expedition.decisions.response.events import EventRow
from expedition.errors import ExpeditionError
from expedition.science.geo.countries import load_countries
from expedition.science.geo.places import load_places
from expedition.science.hazard import HazardInputError

if TYPE_CHECKING:
    from expedition.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["Judgement", "event_facts", "event_row", "gates_pass", "judge_event", "shipped_context"]


@dataclass(frozen=True)
class Judgement:
    """The policy's verdict on one event, with what it was based on and the reason in words."""

    event: EventRow
    location: Location
    assessment: Assessment | None  # None when a gate failed or no member is within reach
    verdict: Verdict
    reason: str

    @property
    def opens(self) -> bool:
        """True when the policy would open an expedition for this event."""
        return self.verdict.opens

    @property
    def countries(self) -> tuple[str, ...]:
        """Member countries the expedition would cover, primary first (empty when it does not open)."""
        return self.verdict.countries

    @property
    def alert_level(self) -> str | None:
        """Estimated PAGER alert level (``green`` ... ``red``), when shaking was assessed."""
        return self.assessment.alert_level if self.assessment else None


def gates_pass(policy: TriggerPolicy, ev: EventRow) -> bool:
    """The event passes the policy's gates (type, depth, lowest magnitude floor of any country)."""
    floor = min([policy.magnitude_floor, *policy.country_floors.values()])
    return (
        (ev.event_type or "earthquake").lower() in policy.event_types
        and (ev.depth_km is None or ev.depth_km <= policy.max_depth_km)
        and ev.magnitude is not None
        and ev.magnitude >= floor
    )


def event_facts(ev: EventRow, loc: Location, a: Assessment | None) -> EventFacts:
    """What the policy judges: the event, where it is relative to members, and the estimated shaking."""
    return EventFacts(
        event_id=ev.event_id, origin_time=ev.origin_time_utc, magnitude=ev.magnitude, magnitude_type=ev.magnitude_type,
        depth_km=ev.depth_km, event_type=ev.event_type, epicentre_iso3=loc.epicentre_iso3,
        near_member_iso3=loc.near_member_iso3, near_member_distance_km=loc.near_member_km,
        member_mmi=a.member_mmi if a else {}, alert_level=a.alert_level if a else None,
    )


def _first(m: Mapping[str, Any], *names: str) -> Any:
    return next((m[n] for n in names if m.get(n) is not None), None)


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        raise ExpeditionError(f"origin time must be a datetime or ISO 8601 text, got {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def event_row(event: EventRow | Mapping[str, Any]) -> EventRow:
    """An :class:`EventRow` from a mapping with lake column names (``origin_time_utc``,
    ``origin_latitude_deg``, ``origin_longitude_deg``, ``origin_depth_km``, ``magnitude_value``,
    ``magnitude_type``, ``event_type``, ``region_name``; ``event_id`` or ``provider_event_id``)."""
    if isinstance(event, EventRow):
        return event
    lat = _first(event, "origin_latitude_deg", "latitude_deg")
    lon = _first(event, "origin_longitude_deg", "longitude_deg")
    when = _first(event, "origin_time_utc", "origin_time")
    if lat is None or lon is None or when is None:
        raise ExpeditionError("an event needs origin_time_utc, origin_latitude_deg and origin_longitude_deg")
    depth = _first(event, "origin_depth_km", "depth_km")
    mag = _first(event, "magnitude_value", "magnitude")
    return EventRow(
        event_id=str(_first(event, "event_id", "provider_event_id") or "event"),
        event_revision=int(event.get("event_revision") or 0),
        origin_time_utc=_utc(when),
        latitude_deg=float(lat),
        longitude_deg=float(lon),
        depth_km=None if depth is None else float(depth),
        magnitude=None if mag is None else float(mag),
        magnitude_type=event.get("magnitude_type"),
        event_type=event.get("event_type"),
        region_name=event.get("region_name"),
    )


def shipped_context() -> Context:
    """Context of the shipped policy and membership, reference data parsed in memory (no cache written)."""
    return Context(
        policy=load_policy(None), membership=load_membership(None), countries=load_countries(None),
        places=load_places(min_population=1000, cache_dir=None),
    )


def judge_event(
    event: EventRow | Mapping[str, Any], settings: Settings | None = None, *, context: Context | None = None
) -> Judgement:
    """Locate, assess and judge one event as the evaluation would if no expedition covered it yet.

    ``settings`` chooses the policy, membership and reference-data cache (default: the shipped
    policy and membership, nothing written); ``context`` reuses a loaded one for many events.
    Example: ``judge_event({"origin_time_utc": "2015-04-25T06:11:25Z", "origin_latitude_deg": 28.23,
    "origin_longitude_deg": 84.73, "origin_depth_km": 8.2, "magnitude_value": 7.8}).opens``.
    """
    ctx = context or (load_context(settings) if settings is not None else shipped_context())
    ev = event_row(event)
    passes = gates_pass(ctx.policy, ev)
    loc = locate(ctx, ev, search_radius_km(ctx.policy, ev.magnitude) if passes else 0.0)
    a: Assessment | None = None
    if passes and loc.near_member_iso3:
        try:
            a = assess(ctx, ev)
        except HazardInputError as exc:
            log.warning("event %s: no shaking estimate: %s", ev.event_id, exc)
    verdict = judge(ctx.policy, event_facts(ev, loc, a))
    parts = [dec.describe_event(ctx, ev, loc)]
    if a is not None:
        parts.append(dec.describe_shaking(ctx, a))
    parts.append(dec.describe_verdict(ctx, verdict))
    return Judgement(ev, loc, a, verdict, "; ".join(parts))
