"""Decisions in words, and the rows that record them.

Every evaluated event revision gets one row in ``trigger_decision_log`` whose reason reads like::

    M 7.0 Mw, 13 km deep, 48 km inside China (member since 2023-11-16); est. MMI VIII at Aksu;
    1.1 M people at MMI >= VII; alert orange; opened EXP-2024-CHN-001: tier 3, priority 1,
    pending_review (rule: M >= 6.0 within 50 km of a member)

Decision ids are hashes of (event, event revision, policy hash, source), so reruns are no-ops.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from expedition.decisions.policy import Verdict, mmi_class_reached
from expedition.decisions.response.assess import Assessment, Context, Location, fmt_people
from expedition.decisions.response.events import EventRow
from expedition.science.hazard.ipe import to_roman
from expedition.science.hazard.pager import FATALITY_RANGES as PAGER_RANGES
from warehouse.tables.products import FATALITY_RANGE_SUFFIXES

__all__ = [
    "Decision",
    "assessment_row",
    "describe_alert",
    "event_assessment_row",
    "fatality_prob_column",
    "decision_id",
    "decision_row",
    "describe_countries",
    "describe_event",
    "describe_shaking",
    "describe_verdict",
    "to_json",
]

MOMENT_TYPES = {"mw", "mww", "mwc", "mwb", "mwr", "mwp", "mwd"}


@dataclass(frozen=True)
class Decision:
    """One trigger decision, as written to ``trigger_decision_log``."""

    decision_id: str
    event_id: str
    event_revision: int
    decision: str  # opened | not_opened | joined | updated | flagged_for_review | manual_open
    expedition_id: str | None
    reason: str
    alert_level: str | None
    tier: int | None
    countries: tuple[str, ...]


def decision_id(event_id: str, event_revision: int, policy_sha256: str, source: str) -> str:
    raw = f"{event_id}|{event_revision}|{policy_sha256}|{source}"
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()[:24]


def assessment_id(expedition_id: str, event_id: str, event_revision: int, rupture: str) -> str:
    raw = f"{expedition_id}|{event_id}|{event_revision}|{rupture}"
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()[:24]


def to_json(obj: Any) -> str:
    """JSON of dataclasses, numpy values and dicts (stable key order)."""

    def conv(v: Any) -> Any:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: conv(getattr(v, f.name)) for f in dataclasses.fields(v) if not f.name.startswith("_")}
        if isinstance(v, dict):
            return {str(k): conv(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [conv(x) for x in v]
        if isinstance(v, np.ndarray):
            return None if v.size > 64 else conv(v.tolist())
        if isinstance(v, np.generic):
            return conv(v.item())
        if isinstance(v, float):
            return None if not math.isfinite(v) else round(v, 6)
        if isinstance(v, datetime):
            return v.isoformat()
        if isinstance(v, str | int | bool) or v is None:
            return v
        return str(v)

    return json.dumps(conv(obj), sort_keys=True, ensure_ascii=False)


# -- words ---------------------------------------------------------------------------------------
def magnitude_label(mtype: str | None) -> str:
    t = (mtype or "").lower()
    return "Mw" if t in MOMENT_TYPES else (mtype or "M?")


def describe_event(ctx: Context, ev: EventRow, loc: Location | None) -> str:
    """``M 7.0 Mw, 13 km deep, 48 km inside China (member since 2023-11-16)``."""
    mag = f"M {ev.magnitude:.1f} {magnitude_label(ev.magnitude_type)}" if ev.magnitude is not None else "magnitude unknown"
    if ev.magnitude_note:
        mag += f" ({ev.magnitude_note})"
    parts = [mag]
    if ev.depth_km is not None:
        parts.append(f"{ev.depth_km:.0f} km deep")
    if loc is not None:
        parts.append(describe_location(ctx, ev, loc))
    return ", ".join(parts)


def describe_location(ctx: Context, ev: EventRow, loc: Location) -> str:
    m, at = ctx.membership, ev.origin_time_utc
    if loc.epicentre_iso3:
        name = ctx.country_name(loc.epicentre_iso3)
        if m.is_member(loc.epicentre_iso3, at):
            text = f"{loc.inside_km or 0:.0f} km inside {m.describe(loc.epicentre_iso3, at, name)}"
        else:
            text = f"inside {name}; {m.describe(loc.epicentre_iso3, at, name)}"
    else:
        name = ctx.country_name(loc.nearest_iso3)
        text = f"at sea {loc.nearest_km:.0f} km off {name}"
        if m.is_member(loc.nearest_iso3, at):
            text += f" (member since {m.member_since(loc.nearest_iso3, at)})"
        else:
            text += f"; {m.describe(loc.nearest_iso3, at, name)}"
    nm = loc.near_member_iso3
    if nm and nm not in (loc.epicentre_iso3, loc.nearest_iso3):
        text += f"; {loc.near_member_km or 0:.0f} km from {m.describe(nm, at, ctx.country_name(nm))}"
    elif nm is None and loc.search_km > 0:
        text += f"; no member country within {loc.search_km:.0f} km"
    return text


def describe_shaking(ctx: Context, a: Assessment) -> str:
    """``est. MMI VIII at Aksu; 1.1 M people at MMI >= VII; alert orange (PAGER ~120 deaths)``."""
    s = a.shaking
    parts = []
    strongest = a.strongest_member
    est = "ShakeMap" if a.intensity_from_shakemap else "est."
    if strongest is not None:
        iso3, mmi, place = strongest
        where = f" ({ctx.country_name(iso3)})" if len(a.member_mmi) > 1 else ""
        parts.append(f"{est} MMI {to_roman(mmi)} at {place}{where}")
    else:
        parts.append(f"no populated place of a member country reaches {est} MMI IV")
    if a.intensity_from_shakemap:
        parts.append(f"intensity and exposure from {a.intensity_source}")
    outside = [
        c for c in s.country_max
        if c.country_iso3 not in a.member_mmi and mmi_class_reached(c.max_mmi, ctx.policy.country_mmi)
    ]
    if outside:
        parts.append(
            "also shaken, not members: "
            + ", ".join(f"{c.name_en} (MMI {to_roman(c.max_mmi)} at {c.place_name})" for c in outside)
        )
    parts.append(f"{fmt_people(a.people_severe)} people at MMI >= VII")
    parts.append(describe_alert(a))
    parts.append(f"rupture: {a.rupture.kind.replace('_', ' ')} {a.rupture.length_km:.0f} km")
    return "; ".join(parts)


def describe_alert(a: Assessment) -> str:
    """Which alert drove the decision: ``alert red from USGS PAGER (...), which drove the decision;
    ours orange (PAGER model: 450 expected deaths)``, or ours alone."""
    ours = "unknown"
    if a.pager is not None:
        deaths = a.pager.expected_fatalities
        ours = f"{a.pager.level} (PAGER model: {deaths:,.0f} expected deaths)" if deaths >= 10 else f"{a.pager.level} (PAGER model: {deaths:.1f} expected deaths)"  # noqa: E501
    auth = a.authoritative_alert_level
    if auth and a.authoritative is not None:
        return f"alert {auth} from {a.authoritative.pager_label}, which drove the decision; ours {ours}"
    if a.pager is None:
        return "alert unknown"
    return f"alert {ours}, our estimate (no USGS PAGER alert known)"


def describe_countries(ctx: Context, verdict: Verdict, a: Assessment | None) -> str:
    """Which member countries the expedition covers and why (border quakes), and which not."""
    if not verdict.countries:
        return ""
    covered = [f"{ctx.country_name(c)} ({verdict.country_reasons.get(c, '')})" for c in verdict.countries]
    text = "countries by estimated shaking: " + ", ".join(covered)
    if a is not None:
        below = [
            f"{ctx.country_name(iso3)} (MMI {to_roman(mmi)} at {place})"
            for iso3, (mmi, place) in sorted(a.member_mmi.items(), key=lambda kv: -kv[1][0])
            if iso3 not in verdict.countries and mmi_class_reached(mmi, ctx.policy.country_mmi - 1)
        ]
        if below:
            text += f"; not covered, below MMI {to_roman(ctx.policy.country_mmi)}: " + ", ".join(below)
    return text


def describe_verdict(ctx: Context, v: Verdict, expedition_id: str | None = None) -> str:  # noqa: C901
    """``opened EXP-...: tier 3, ...`` or ``not opened: M 5.3 is below the magnitude floor 5.5``."""
    p = ctx.policy
    if v.opens:
        rules = []
        if v.rule("trigger_magnitude_near_member").passed:
            rules.append(f"M >= {p.trigger_magnitude:.1f} within {p.member_distance_km:.0f} km of a member")
        if v.rule("trigger_shaking_in_member").passed:
            rules.append(f"est. MMI >= {to_roman(p.trigger_mmi)} at a populated place of a member")
        head = f"opened {expedition_id}" if expedition_id else "meets the policy"
        return f"{head}: tier {v.tier}, priority {v.priority}, {v.status} (rule: {' and '.join(rules)})"
    why = []
    for r in v.rules:
        if r.passed:
            continue
        if r.rule == "gate_event_type":
            why.append(f"event type {r.value!r} is not one of {', '.join(p.event_types)}")
        elif r.rule == "gate_depth":
            why.append(f"{r.value:.0f} km deep, deeper than the {p.max_depth_km:.0f} km limit")
        elif r.rule == "gate_magnitude_floor":
            why.append(
                f"M {r.value:.1f} is below the magnitude floor {r.threshold:.1f}" if r.value is not None
                else "no magnitude"
            )
    gates_ok = not why
    if gates_ok and not v.rule("trigger_magnitude_near_member").passed and not v.rule("trigger_shaking_in_member").passed:
        near = v.rule("trigger_magnitude_near_member").value
        shaking = v.rule("trigger_shaking_in_member").value
        reasons = []
        if near.get("member") is None:
            reasons.append(f"no member country within {p.member_distance_km:.0f} km")
        elif (near.get("distance_km") or 0) > p.member_distance_km:
            reasons.append(f"the nearest member is {near['distance_km']:.0f} km away (> {p.member_distance_km:.0f} km)")
        elif near.get("magnitude") is not None and near["magnitude"] < p.trigger_magnitude:
            reasons.append(f"M {near['magnitude']:.1f} < {p.trigger_magnitude:.1f}")
        if shaking is None:
            reasons.append(f"no member's populated place reaches est. MMI {to_roman(p.trigger_mmi)}")
        else:
            reasons.append(
                f"strongest est. shaking at a member's place is MMI {to_roman(shaking['mmi'])} at {shaking['place']}"
                f" (< {to_roman(p.trigger_mmi)})"
            )
        why.append(" and ".join(reasons))
    return "not opened: " + "; ".join(why)


# -- rows ----------------------------------------------------------------------------------------
def decision_row(  # noqa: PLR0913
    ctx: Context,
    *,
    decision: Decision,
    ev: EventRow,
    loc: Location | None,
    verdict: Verdict | None,
    assessment: Assessment | None,
    source: str,
    decided_by: str,
    decided_utc: datetime,
) -> dict[str, Any]:
    strongest = assessment.strongest_member if assessment else None
    models = model_versions(ctx, assessment)
    return {
        "decision_id": decision.decision_id,
        "event_id": ev.event_id,
        "event_revision": ev.event_revision,
        "decision_source": source,
        "decided_utc": decided_utc,
        "decided_by": decided_by,
        "decision": decision.decision,
        "expedition_id": decision.expedition_id,
        "decision_reason": decision.reason,
        "origin_time_utc": ev.origin_time_utc,
        "origin_latitude_deg": ev.latitude_deg,
        "origin_longitude_deg": ev.longitude_deg,
        "origin_depth_km": ev.depth_km,
        "magnitude_value": ev.magnitude,
        "magnitude_type": ev.magnitude_type,
        "event_type": ev.event_type,
        "epicentre_country_iso3": loc.epicentre_iso3 if loc else None,
        "nearest_member_iso3": loc.near_member_iso3 if loc else None,
        "nearest_member_distance_km": loc.near_member_km if loc else None,
        "member_mmi_max": strongest[1] if strongest else None,
        "member_mmi_place": strongest[2] if strongest else None,
        "alert_level": decision.alert_level,
        "expedition_tier": decision.tier,
        "country_iso3_list": list(decision.countries),
        "rule_results_json": to_json([r.as_dict() for r in verdict.rules]) if verdict else None,
        "policy_version": ctx.policy.version,
        "policy_sha256": ctx.policy.sha256,
        "membership_sha256": ctx.membership.sha256,
        "model_versions_json": to_json(models),
    }


def model_versions(ctx: Context, a: Assessment | None) -> dict[str, str]:
    out = {
        "policy": f"{ctx.policy.version} ({ctx.policy.source})",
        "membership": ctx.membership.source,
        "boundaries": ctx.countries.source,
        "sequences": "Gardner & Knopoff (1974), BSSA 64(5)",
    }
    if a is not None:
        out.update(a.shaking.provenance)
        if a.pager is not None:
            out["pager"] = a.pager.method
        if a.forecast is not None:
            out["forecast"] = f"Reasenberg & Jones (1989) / Page et al. (2016), regime {a.regime}"
        auth = a.authoritative
        if auth is not None:
            if auth.pager_alert:
                out["authoritative_alert"] = f"{auth.pager_alert} {auth.pager_label} [{auth.pager_product_id}]"
            if auth.grid is not None and a.intensity_from_shakemap:
                out["shakemap"] = f"{auth.grid.source} [{auth.grid_product_id}]"
            if auth.fault_product_id and a.rupture_orientation == "finite_fault":
                out["finite_fault"] = str(auth.fault_product_id)
            if auth.mechanism_product_id and a.rupture_orientation == "focal_mechanism":
                out["focal_mechanism"] = f"{auth.mechanism_label} [{auth.mechanism_product_id}]"
        grid = a.shaking.grid
        if a.rupture_orientation == "gcmt_moment_tensor" and grid is not None:
            out["gcmt_moment_tensor"] = str(grid.attributes.get("rupture_source", ""))
    return out


def assessment_row(
    ctx: Context, *, expedition_id: str, ev: EventRow, a: Assessment, decision_id_: str | None, assessed_utc: datetime
) -> dict[str, Any]:
    s = a.shaking
    top = s.country_max[0] if s.country_max else None
    return {
        "assessment_id": assessment_id(
            expedition_id, ev.event_id, ev.event_revision,
            f"{a.rupture.kind}:{a.rupture.n_events}:{a.rupture.length_km:.1f}",
        ),
        "expedition_id": expedition_id,
        "event_id": ev.event_id,
        "event_revision": ev.event_revision,
        "decision_id": decision_id_,
        "assessed_utc": assessed_utc,
        "origin_time_utc": ev.origin_time_utc,
        "origin_latitude_deg": ev.latitude_deg,
        "origin_longitude_deg": ev.longitude_deg,
        "origin_depth_km": ev.depth_km,
        "magnitude_value": ev.magnitude,
        "magnitude_type": ev.magnitude_type,
        "rupture_method": a.rupture.kind,
        "rupture_length_km": a.rupture.length_km,
        "rupture_event_count": a.rupture.n_events,
        "shaking_model": s.model,
        "mmi_max": top.max_mmi if top else None,
        "mmi_max_place": top.place_name if top else None,
        "mmi_max_country_iso3": top.country_iso3 if top else None,
        "mmi_by_country_json": to_json(
            {
                c.country_iso3: {
                    "mmi": round(c.max_mmi, 2), "intensity": c.intensity, "place": c.place_name, "name": c.name_en,
                    "member": c.country_iso3 in a.member_mmi,
                    "population_at_or_above_threshold": c.population_at_or_above_threshold,
                }
                for c in s.country_max
            }
        ),
        "population_by_mmi_json": to_json(s.exposure_by_mmi),
        "population_mmi7plus_count": a.people_severe,
        "alert_level": a.alert_level,
        "fatality_expected": a.pager.expected_fatalities if a.pager else None,
        "fatality_method": a.pager.method if a.pager else None,
        "aftershock_regime": a.regime,
        "forecast_json": to_json(a.forecast) if a.forecast is not None else None,
        "caveats_json": to_json(list(a.caveats)),
        "provenance_json": to_json({**s.provenance, "top_places": [dataclasses.asdict(p) for p in s.top_places]}),
        "model_versions_json": to_json(model_versions(ctx, a)),
    }


def fatality_prob_column(lo: float, hi: float) -> str:
    """The ``event_assessments`` column of PAGER's fatality range [lo, hi): ``fatality_prob_100_1000``."""
    suffix = f"{lo:.0f}_plus" if hi >= 1e12 else f"{lo:.0f}_{hi:.0f}"
    if suffix not in FATALITY_RANGE_SUFFIXES:
        raise ValueError(f"no event_assessments column for the fatality range {lo:g}-{hi:g}")
    return f"fatality_prob_{suffix}"


def event_assessment_row(
    ctx: Context, *, decision: Decision, ev: EventRow, a: Assessment, assessed_utc: datetime
) -> dict[str, Any]:
    """The ``event_assessments`` row of one decision that had an impact estimate."""
    s = a.shaking
    top = s.country_max[0] if s.country_max else None
    auth = a.authoritative
    grid = s.grid if a.intensity_from_shakemap else None
    probs = a.pager.probabilities if a.pager is not None else {}
    row: dict[str, Any] = {
        "assessment_id": decision.decision_id,
        "decision_id": decision.decision_id,
        "event_id": ev.event_id,
        "event_revision": ev.event_revision,
        "decision": decision.decision,
        "expedition_id": decision.expedition_id,
        "assessed_utc": assessed_utc,
        "origin_time_utc": ev.origin_time_utc,
        "origin_latitude_deg": ev.latitude_deg,
        "origin_longitude_deg": ev.longitude_deg,
        "origin_depth_km": ev.depth_km,
        "magnitude_value": ev.magnitude,
        "magnitude_type": ev.magnitude_type,
        "intensity_source_kind": "shakemap" if grid is not None else "model",
        "intensity_source": a.intensity_source or f"{s.model} ({s.model_citation})",
        # our model's version (qe-shaking x.y, or the legacy IPE's name) or the ShakeMap's version
        "intensity_version": s.grid.version if s.grid is not None else s.model,
        "intensity_agency": grid.attributes.get("agency") if grid is not None else None,
        "intensity_product_id": auth.grid_product_id if grid is not None and auth is not None else None,
        "rupture_method": a.rupture_orientation or a.rupture.kind,
        "mmi_max_populated": top.max_mmi if top else None,
        "mmi_max_place": top.place_name if top else None,
        "mmi_max_country_iso3": top.country_iso3 if top else None,
        "population_by_mmi_json": to_json(s.exposure_by_mmi),
        "population_source": s.population_source or s.provenance.get("places_source"),
        "fatality_median": a.pager.expected_fatalities if a.pager else None,
        "fatality_method": a.pager.method if a.pager else None,
        "fatality_zeta": a.pager.zeta if a.pager else None,
        "alert_level_ours": a.own_alert_level,
        "alert_level_authoritative": a.authoritative_alert_level,
        "alert_authoritative_source": auth.pager_label if auth is not None and auth.pager_alert else None,
        "alert_level_acted": a.alert_level,
        "alert_basis": a.alert_basis,
        "model_versions_json": to_json(model_versions(ctx, a)),
    }
    for name, lo, hi in PAGER_RANGES:  # PAGER's probability of each fatality range
        value = probs.get(name)
        row[fatality_prob_column(lo, hi)] = float(value) if value is not None else None
    return row
