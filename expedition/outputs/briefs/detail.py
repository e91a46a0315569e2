"""Pages 2 and on of the brief: event parameters per agency, decisions in words, exposure and places in
full, the aftershock forecast table, field findings, advice with its evidence, full provenance, the
disclaimer and the model caveats."""

from __future__ import annotations

import re
from typing import Any

from expedition.outputs.briefs import charts
from expedition.outputs.briefs.blocks import Document, Lang
from expedition.outputs.briefs.context import ROMAN, BriefContext
from expedition.outputs.briefs.reasons import caveats, decision_sentence, roman

__all__ = ["build"]


def build(doc: Document, ctx: BriefContext, lg: Lang) -> None:
    """Add the detail pages to ``doc``."""
    d, t = ctx.data, lg.t
    snap = t.fmt("at_snapshot", snapshot=ctx.snapshot_id)
    _event(doc, d, lg, snap)
    _decisions(doc, d, lg)
    _exposure(doc, d, lg, snap)
    _forecast(doc, d, lg)
    _findings(doc, d["findings"], lg, snap)
    _advice(doc, d, lg, snap)
    _provenance(doc, ctx, lg, snap)
    doc.add("h2", t["section_disclaimer"])
    doc.add("p", t.fmt("disclaimer", sigma="0.7-1.0"))
    for c in caveats(d["assessment"], d["expedition"].get("mainshock_magnitude_value"), t):
        doc.add("note", c)


def _event(doc: Document, d: dict[str, Any], lg: Lang, snap: str) -> None:
    t, exp, ev = lg.t, d["expedition"], d["event"]
    doc.add("h2", t["section_event"])
    rows = [
        (t["event"], str(exp["mainshock_event_id"])),
        (t["origin_time_utc"], t.date(exp.get("mainshock_origin_time_utc"))),
        (t["origin_time_local"], f"{(ev.get('local_time') or t['na'])} ({ev.get('timezone') or t['na']})"),
        (t["latitude"], f"{t.num(exp['mainshock_latitude_deg'], 3)}°"),
        (t["longitude"], f"{t.num(exp['mainshock_longitude_deg'], 3)}°"),
        (t["depth"], f"{t.num(exp.get('mainshock_depth_km'), 1)} {t['unit_km']}"),
        (t["magnitude"], f"{t.num(exp['mainshock_magnitude_value'], 1)} {exp.get('mainshock_magnitude_type') or ''}"),
    ]
    if lg.code == "en" and ev.get("region_name"):
        rows.append((t["region"], str(ev["region_name"])))
    doc.add("table", header=(t["parameter"], t["value"]), rows=tuple(rows),
            caption=t.fmt("source_line", source=f"events/{exp['mainshock_event_id']} ({ev.get('preferred_provider') or t['na']})",
                          snapshot=snap))
    sols, spread = d["solutions"], d["spread"]
    if sols:
        doc.add("table", header=(t["agency"], t["origin_time_utc"], t["latitude"], t["longitude"], t["depth"], t["magnitude"]),
                rows=tuple((f"{s['provider']} ({str(s.get('origin_agency') or '-').upper()})", t.date(s["origin_time_utc"]),
                            t.num(s["origin_latitude_deg"], 3), t.num(s["origin_longitude_deg"], 3),
                            t.num(s["origin_depth_km"], 1), f"{t.num(s['magnitude_value'], 1)} {s.get('magnitude_type') or ''}")
                           for s in sols),
                caption=t.fmt("agencies_caption", count=len(sols), snapshot=snap))
        if len(sols) > 1:
            doc.add("p", t.fmt("spread_line", magnitude=t.num(spread.get("magnitude"), 2), km=t.num(spread.get("location_km"), 1),
                               seconds=t.num(spread.get("time_s"), 1)))
    else:
        doc.add("note", t["no_solutions"])


def _decisions(doc: Document, d: dict[str, Any], lg: Lang) -> None:
    t = lg.t
    doc.add("h2", t["section_decisions"])
    rows = d.get("decisions") or []
    if not rows:
        doc.add("note", t["no_decisions"])
        return
    people = (d["assessment"] or {}).get("population_mmi7plus_count")
    main = d["expedition"]["mainshock_event_id"]
    for r in rows:
        sentence = decision_sentence(r, t, lg.country, lg.place, people if r["event_id"] == main else None)
        doc.add("p", f"{t.date(r.get('decided_utc'))} · {r['event_id']}: {sentence}")


def _exposure(doc: Document, d: dict[str, Any], lg: Lang, snap: str) -> None:
    t, a = lg.t, d["assessment"]
    doc.add("h2", t["section_exposure_detail"])
    if not a:
        doc.add("note", t["no_assessment"])
        return
    pop = a.get("population_by_mmi") or {}
    doc.add("table", header=(t["intensity"], t["perceived_shaking"], t["population"]),
            rows=tuple((k, t[f"shaking_{k}"], t.num(pop[k])) for k in ROMAN if k in pop),
            caption=t.fmt("source_line", source=f"expedition_assessments/{a.get('assessment_id')}", snapshot=snap))
    top = (a.get("provenance") or {}).get("top_places") or []
    if top:
        doc.add("h3", t["most_affected"])
        doc.add("table", header=(t["place"], t["country"], t["population"], t["estimated_mmi"], t["distance_km"]),
                rows=tuple((lg.place(p["name"], p["country_iso3"]), lg.country(p["country_iso3"]), t.num(p["population"]),
                            f"{roman(p['mmi'])} ({t.num(p['mmi'], 1)})", t.num(p["rupture_distance_km"], 1)) for p in top))
    by = a.get("mmi_by_country") or {}
    if by:
        doc.add("h3", t["shaking_by_country"])
        doc.add("table", header=(t["country"], t["estimated_mmi"], t["place"], t["member"]),
                rows=tuple((lg.country(c), roman(v.get("mmi")), lg.place(str(v.get("place") or ""), c),
                            t["yes"] if v.get("member") else t["no"]) for c, v in sorted(by.items())))


def _forecast(doc: Document, d: dict[str, Any], lg: Lang) -> None:
    t = lg.t
    fc = (d["assessment"] or {}).get("forecast")
    if not fc:
        return
    params = fc.get("params") or {}
    doc.add("h2", t["section_forecast"])
    doc.add("table", header=(t["window"], t["expected_m3"], t["p_m5"], t["p_m6"], t["p_m7"]),
            rows=tuple((t.value("window", w["label"]), t.num(w["expected_m3"]), t.pct(w["p_m5"]), t.pct(w["p_m6"]),
                        t.pct(w["p_m7"])) for w in fc.get("windows") or []),
            caption=t.fmt("note_forecast", a=params.get("a"), b=params.get("b"), p=params.get("p"), c=params.get("c"),
                          regime=(d["assessment"] or {}).get("aftershock_regime") or t["na"]))


def _findings(doc: Document, f: dict[str, Any], lg: Lang, snap: str) -> None:
    t = lg.t
    doc.add("h2", t["section_findings"])
    if not f.get("building_count") and not f.get("residuals") and not f.get("ground_failure") and not f.get("lifeline_functionality"):  # noqa: E501
        doc.add("note", t["no_survey"])
        return
    cov = f.get("survey_coverage") or []
    # buildings without an area, day or surveyor share a placeholder key (coverage_key_known false): not one more
    dims = {k: sum(1 for r in cov if r["coverage_dimension"] == k and r["coverage_key_known"])
            for k in ("area", "day", "surveyor")}
    doc.add("p", t.fmt("survey_line", buildings=t.num(f["building_count"]), areas=dims["area"], days=dims["day"],
                       surveyors=dims["surveyor"], unlocated=t.num(f["unlocated_count"])))
    shares = f.get("damage_share_by_typology") or []
    means = {(m["damage_scale"], m["typology"]): m for m in f.get("damage_grade_mean") or []}
    for scale in sorted({r["damage_scale"] for r in shares}):
        rows = sorted((r for r in shares if r["damage_scale"] == scale), key=lambda r: (-r["building_count"], r["typology"]))
        five = any(r["damage_scale_grades"] == 5 for r in rows)
        doc.add("h3", f"{t['damage_scale']}: {scale}")
        out = []
        for r in [*rows, {"typology": "*", "building_count": sum(x["building_count"] for x in rows)}]:
            m = means.get((scale, r["typology"]), {})
            ci = (f"{t.num(m.get('damage_grade_mean'), 2)} ({t.num(m.get('damage_grade_ci95_low'), 2)}-"
                  f"{t.num(m.get('damage_grade_ci95_high'), 2)})") if m else t["na"]
            if r["typology"] == "*":
                out.append(("*", t.num(r["building_count"]), "", "", ci))
            elif five:
                out.append((r["typology"], t.num(r["building_count"]), t.pct(r.get("share_grade_4_5"), 1),
                            t.pct(r.get("share_grade_5"), 1), ci))
            else:
                out.append((r["typology"], t.num(r["building_count"]), t.pct(r.get("top_grade_share"), 1), "", ci))
        head = (t["typology"], t["buildings"], t["share_grade_4_5"] if five else t["top_grade_share"],
                t["share_grade_5"] if five else "", t["mean_grade"])
        doc.add("table", header=head, rows=tuple(out), caption=t["ci_method"])
        png = charts.damage_bars_png(f, lg.code, scale)
        if png:
            doc.add("img", image=png, caption=t.fmt("source_line", source="analytics_damage_by_typology", snapshot=snap))
    doc.add("h3", t["residual_summary"])
    summ = (f.get("intensity_residual_summary") or [None])[0]
    if summ:
        doc.add("table", header=(t["residual_sites"], t["residual_bias"], t["residual_scatter"]),
                rows=((t.num(summ["site_count"]), t.num(summ["residual_bias"], 2), t.num(summ["residual_scatter"], 2)),),
                caption=t.fmt("source_line", source="analytics_intensity_residual_summary (Allen, Wald & Worden 2012)",
                              snapshot=snap))
        png = charts.residuals_png(f, lg.code)
        if png:
            doc.add("img", image=png, caption=t.fmt("source_line", source="analytics_intensity_residuals", snapshot=snap))
    else:
        doc.add("note", t["no_intensity"])
    doc.add("h3", t["ground_failure"])
    gf = f.get("ground_failure") or []
    if gf:
        doc.add("table", header=(t["failure_type"], t["sites"], t["site_ids"]),
                rows=tuple((t.value("failure", r["failure_type"]), t.num(r["site_count"]), str(r["site_ids"])) for r in gf))
    else:
        doc.add("note", t["no_ground_failure"])
    doc.add("h3", t["lifelines"])
    lf = f.get("lifeline_functionality") or []
    if lf:
        doc.add("table", header=(t["element_type"], t["elements"], t["functional"], t["partial"], t["non_functional"]),
                rows=tuple((t.value("element", r["element_type"]), t.num(r["element_count"]), t.num(r["functional_count"]),
                            t.num(r["partial_count"]), t.num(r["non_functional_count"])) for r in lf))
    else:
        doc.add("note", t["no_lifelines"])


def evidence_text(evidence: dict[str, Any], t: Any) -> str:
    """Evidence fields as ``name=value`` (field names are the analytics views' column names)."""
    return "; ".join(f"{k}={t.num(v, 3)}" if isinstance(v, float) else f"{k}={v}" for k, v in evidence.items())


def _advice(doc: Document, d: dict[str, Any], lg: Lang, snap: str) -> None:
    t = lg.t
    doc.add("h2", t["section_advice"])
    rs = d["rule_set"]
    items = d.get("advice") or []
    if not items:
        doc.add("note", t["no_advice"])
        return
    rows = []
    for it in items:
        status = t.value("status_word", it["status"])
        if it["approved_by"]:
            status = t.fmt("approved_by_line", status=status, who=t.join(it["approved_by"]))
        rows.append((f"{it['rule_id']} v{it['rule_version']} [{it['advice_id'][:10]}]",
                     it["text_zh"] if lg.code == "zh" else it["text_en"], f"{evidence_text(it['evidence'], t)} ({it['source']})",
                     status))
    doc.add("table", header=(t["advice_rule"], t["advice_text"], t["advice_evidence"], t["advice_status"]),
            rows=tuple(rows), caption=t.fmt("rule_set_line", version=rs["version"], snapshot=snap))


_CITATION = re.compile(r"^(.*?\(\d{4}\))")


def provenance_value(value: str, t: Any) -> str:
    """A stored provenance text as the brief shows it: whole in English; in other languages only its
    citation (``Author (year)``) or identifier, since the stored text is English prose."""
    if t.lang == "en" or " " not in value.strip():
        return value
    m = _CITATION.match(value)
    return m.group(1) if m else t["prov_see_english"]


def _provenance(doc: Document, ctx: BriefContext, lg: Lang, snap: str) -> None:
    t, d = lg.t, ctx.data
    a, exp = d["assessment"], d["expedition"]
    mv = (a.get("model_versions") or {}) if a else {}
    rs = d["rule_set"]
    mp = d.get("map_provenance") or {}
    rows = [(t["prov_snapshot"], str(ctx.snapshot_id)),
            (t["prov_catalog"], f"events/{exp['mainshock_event_id']}, event_solutions"),
            (t["prov_assessment"], f"expedition_assessments/{a.get('assessment_id', t['na'])}" if a else t["na"]),
            (t["prov_places"], f"GeoNames, >= {t.num(mp.get('min_population'))}, <= {t.num(mp.get('radius_km'))} {t['unit_km']}"),
            (t["prov_rupture"], provenance_value(str(mp.get("rupture_source") or t["na"]), t))]
    rows += [(t.get(f"mv_{k}", k), provenance_value(str(v), t)) for k, v in sorted(mv.items())]
    probs = (a or {}).get("fatality_probabilities") or {}
    if probs:
        rows.append((t["prov_fatality_probs"], f"{probs.get('method')}, zeta={t.num(probs.get('zeta'), 2)}"))
    rows += [(t["prov_findings"], "warehouse/sql/views/analytics_*.sql"),
             (t["prov_advice"], t.fmt("rule_set_value", version=rs["version"], sha=rs["sha256"][:12]))]
    doc.add("h2", t["section_provenance"])
    doc.add("table", header=(t["source"], t["value"]), rows=tuple(rows), caption=t["provenance_intro"])
