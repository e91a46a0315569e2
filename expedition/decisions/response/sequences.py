"""Earthquake sequences of expeditions: which expedition an event belongs to, and how it changes it.

* :func:`match_sequence`: an event inside the Gardner & Knopoff (1974, BSSA 64(5)) space-time
  window of an expedition's mainshock belongs to that expedition's sequence. The window is that
  of the larger of the two events (so a larger later event, the new mainshock, keeps its
  foreshocks) and applies before and after it. Cancelled expeditions take no events.
* :func:`merge_assessment`: what a stronger estimate changes in an expedition: alerts only rise
  (a person lowers them), countries are only added (with the reason logged), orange or red moves
  a ``proposed`` expedition to ``pending_review``.
* :func:`aftershock_rupture`: the rupture outlined by the first 24 h of aftershocks in the lake
  (Kagan 2002, BSSA 92(2); fitted by :func:`expedition.science.hazard.rupture.aftershock_zone`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import duckdb

from expedition.decisions.policy import TriggerPolicy, Verdict
from expedition.decisions.records import Expedition, Status
from expedition.decisions.response.events import EventRow, events_in_window
from expedition.science.geo.distance import haversine_km
from expedition.science.hazard.rupture import RuptureModel, aftershock_zone
from expedition.science.hazard.sequences import gardner_knopoff_window

__all__ = [
    "ALERT_ORDER",
    "ZONE_HOURS",
    "SequenceMatch", "aftershock_rupture", "alert_rank", "mainshock_fields", "match_sequence", "merge_assessment"]

ALERT_ORDER = ("unknown", "green", "yellow", "orange", "red")
ZONE_HOURS = 24.0


def alert_rank(level: str | None) -> int:
    return ALERT_ORDER.index(level) if level in ALERT_ORDER else 0


@dataclass(frozen=True)
class SequenceMatch:
    expedition: Expedition
    distance_km: float
    delay_hours: float  # event minus mainshock
    radius_km: float
    window_days: float

    def describe(self) -> str:
        e = self.expedition
        when = "after" if self.delay_hours >= 0 else "before"
        main_t = e.mainshock_origin_time_utc.strftime("%Y-%m-%d %H:%M UTC") if e.mainshock_origin_time_utc else "?"
        return (
            f"in the sequence of {e.expedition_id} (mainshock M {e.mainshock_magnitude_value:.1f} {main_t}): "
            f"{self.distance_km:.0f} km from it and {abs(self.delay_hours):.1f} h {when} it, inside the "
            f"Gardner-Knopoff window ({self.radius_km:.0f} km, {self.window_days:.0f} days)"
        )


def match_sequence(expeditions: list[Expedition], ev: EventRow) -> SequenceMatch | None:
    """The expedition whose sequence ``ev`` falls in (largest mainshock first, then nearest)."""
    best: SequenceMatch | None = None
    for exp in expeditions:
        if exp.status == Status.CANCELLED or exp.mainshock_magnitude_value is None:
            continue
        if exp.mainshock_latitude_deg is None or exp.mainshock_longitude_deg is None or exp.mainshock_origin_time_utc is None:
            continue
        m = max(exp.mainshock_magnitude_value, ev.magnitude or 0.0)
        radius, days = gardner_knopoff_window(m)  # Gardner & Knopoff (1974), BSSA 64(5)
        d = float(haversine_km(exp.mainshock_latitude_deg, exp.mainshock_longitude_deg, ev.latitude_deg, ev.longitude_deg))
        hours = (ev.origin_time_utc - exp.mainshock_origin_time_utc).total_seconds() / 3600.0
        if d > radius or abs(hours) > days * 24.0:
            continue
        cand = SequenceMatch(exp, d, hours, radius, days)
        if best is None or (exp.mainshock_magnitude_value, -d) > (best.expedition.mainshock_magnitude_value or 0.0, -best.distance_km):
            best = cand
    return best


def mainshock_fields(ev: EventRow) -> dict[str, Any]:
    """Expedition columns describing ``ev`` as the mainshock, with its sequence window."""
    radius, days = gardner_knopoff_window(ev.magnitude or 0.0)
    return {
        "mainshock_event_id": ev.event_id,
        "mainshock_origin_time_utc": ev.origin_time_utc,
        "mainshock_latitude_deg": ev.latitude_deg,
        "mainshock_longitude_deg": ev.longitude_deg,
        "mainshock_depth_km": ev.depth_km,
        "mainshock_magnitude_value": ev.magnitude,
        "mainshock_magnitude_type": ev.magnitude_type,
        "sequence_radius_km": radius,
        "sequence_window_days": days,
    }


def merge_assessment(
    exp: Expedition, verdict: Verdict, alert: str | None, policy: TriggerPolicy, country_name: Any
) -> tuple[dict[str, Any], list[str]]:
    """Changes (column -> value) a new estimate brings to ``exp``, and the words for each."""
    changes: dict[str, Any] = {}
    notes: list[str] = []
    if alert_rank(alert) > alert_rank(exp.alert_level):
        rule = policy.alert_rule(alert)
        changes.update(alert_level=alert, expedition_tier=max(rule.tier, exp.expedition_tier))
        changes["expedition_priority"] = min(rule.priority, exp.expedition_priority)
        notes.append(f"alert raised {exp.alert_level or 'unknown'} -> {alert} (tier {changes['expedition_tier']})")
        if rule.status == Status.PENDING_REVIEW.value and exp.status == Status.PROPOSED:
            changes["expedition_status"] = Status.PENDING_REVIEW.value
            notes.append("now pending_review: a person must approve an orange or red expedition")
    elif alert is not None and alert_rank(alert) < alert_rank(exp.alert_level):
        notes.append(f"estimate now {alert}; alert kept at {exp.alert_level} (a person lowers alerts)")
    new = [c for c in verdict.countries if c not in exp.country_iso3_list]
    if new:
        changes["country_iso3_list"] = [*exp.country_iso3_list, *new]
        notes.append(
            "countries added by estimated shaking: "
            + ", ".join(f"{country_name(c)} ({verdict.country_reasons.get(c, '')})" for c in new)
        )
    return changes, notes


def aftershock_rupture(con: duckdb.DuckDBPyConnection, exp: Expedition) -> RuptureModel | None:
    """Rupture traced by the first 24 h of aftershocks in the lake (None: too few yet)."""
    t0 = exp.mainshock_origin_time_utc
    m = exp.mainshock_magnitude_value
    lat, lon = exp.mainshock_latitude_deg, exp.mainshock_longitude_deg
    if t0 is None or m is None or lat is None or lon is None or m < 6.0:
        return None
    radius, _ = gardner_knopoff_window(m)
    band = 2.0 * radius / 111.0
    found = events_in_window(con, t0, t0 + timedelta(hours=ZONE_HOURS), lat - band, lat + band)
    if not found:
        return None
    return aftershock_zone(
        lat, lon, t0, m,
        [r["origin_latitude_deg"] for r in found],
        [r["origin_longitude_deg"] for r in found],
        [r["origin_time_utc"] for r in found],
        [r["magnitude_value"] for r in found],
        hours=ZONE_HOURS,
        depth_km=exp.mainshock_depth_km or 10.0,
    )
