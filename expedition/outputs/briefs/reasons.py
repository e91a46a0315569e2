"""Decision reasons and model caveats written from structured fields, in the brief's language.

The trigger log stores each decision's reason as an English sentence; the brief does not translate that
text. It writes the reason again from the decision's stored columns (magnitude, depth, epicentre
country, nearest member and its distance, strongest shaking at a member's place, alert, tier, the policy
rules that passed) and the membership date, with sentences of the message catalogue. Caveats are
re-derived the same way from the assessment's stored columns (rupture kind and length, shaking model,
fatality method), following :func:`expedition.science.hazard.exposure._caveats` and
:func:`expedition.science.hazard.pager.pager_estimate`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from expedition.outputs.briefs.context import ROMAN
from expedition.outputs.briefs.i18n import Texts

__all__ = ["caveats", "decision_sentence", "roman"]

TRIGGER_RULES = ("trigger_magnitude_near_member", "trigger_shaking_in_member")


def roman(mmi: Any) -> str:
    """Intensity as a Roman numeral (I..X)."""
    if mmi is None:
        return "?"
    return ROMAN[min(max(int(float(mmi) + 0.5), 1), 10) - 1]


def _rules_passed(raw: Any) -> list[str]:
    try:
        rules = json.loads(raw) if isinstance(raw, str) else (raw or [])
    except ValueError:
        return []
    return [str(r.get("rule")) for r in rules if isinstance(r, dict) and r.get("passed") and r.get("rule") in TRIGGER_RULES]


def decision_sentence(d: dict[str, Any], t: Texts, country: Callable[[str], str], place: Callable[[str, str], str],
                      people_mmi7: Any = None) -> str:
    """One decision in words: the event, where, the shaking, the alert and what was decided."""
    parts: list[str] = []
    if d.get("magnitude_value") is not None:
        parts.append(t.fmt("reason_event", magnitude=t.num(d["magnitude_value"], 1), mtype=d.get("magnitude_type") or "",
                           depth=t.num(d.get("origin_depth_km"), 0)))
    epi = d.get("epicentre_country_iso3")
    parts.append(t.fmt("reason_inside", country=country(epi)) if epi else t["reason_at_sea"])
    member = d.get("nearest_member_iso3")
    if member:
        since = d.get("member_since")
        who = t.fmt("reason_member_since", country=country(member), since=t.date(since, with_time=False)) if since \
            else country(member)
        dist = d.get("nearest_member_distance_km")
        parts.append(t.fmt("reason_member_inside", member=who) if member == epi or not dist
                     else t.fmt("reason_member_distance", member=who, km=t.num(dist)))
    else:
        parts.append(t["reason_no_member"])
    if d.get("member_mmi_max") is not None:
        parts.append(t.fmt("reason_shaking", mmi=roman(d["member_mmi_max"]),
                           place=place(str(d.get("member_mmi_place") or ""), str(member or ""))))
    if people_mmi7 is not None:
        parts.append(t.fmt("reason_people_mmi7", people=t.num(people_mmi7)))
    if d.get("alert_level"):
        parts.append(t.fmt("reason_alert", alert=t.value("alert", d["alert_level"])))
    kind = str(d.get("decision") or "")
    rules = [t[f"rule_{r}"] for r in _rules_passed(d.get("rule_results_json"))]
    verdict = t.fmt(f"decision_{kind}", tier=t.value("tier", d.get("expedition_tier")), by=d.get("decided_by") or "",
                    rules=t.join(rules) if rules else t["na"], revision=d.get("event_revision") or 1)
    parts.append(verdict)
    return t["clause_sep"].join(p for p in parts if p) + t["full_stop"]


def caveats(a: dict[str, Any], magnitude: Any, t: Texts) -> list[str]:
    """The assessment's caveats, re-derived from its stored columns."""
    if not a:
        return []
    out = [t["caveat_places"], t.fmt("caveat_ipe", model=a.get("shaking_model") or "allen2012_rrup")]
    kind, length = a.get("rupture_method"), a.get("rupture_length_km")
    if kind == "point" and magnitude is not None and float(magnitude) >= 6.5:
        out.append(t["caveat_point"])
    elif kind == "wc1994_line":
        out.append(t.fmt("caveat_wc1994", length=t.num(length)))
    elif kind == "aftershock_zone":
        out.append(t.fmt("caveat_aftershock_zone", n=t.num(a.get("rupture_event_count"))))
    if a.get("fatality_method"):
        out += [t["caveat_fatality_model"], t["caveat_fatality_median"], t["caveat_no_losses"]]
        if "exposure_rule" in str(a["fatality_method"]):
            out.append(t["caveat_exposure_rule"])
    return out
