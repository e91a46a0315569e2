"""The brief as a list of blocks (headings, paragraphs, tables, images), built once from the context and
the fixed text of one language, then written as HTML, Markdown or PDF by the renderers. Every number
carries its source: key-value tables have a source column, other tables and charts a source caption."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expedition.outputs.briefs import charts
from expedition.outputs.briefs.context import ROMAN, BriefContext
from expedition.outputs.briefs.i18n import texts

__all__ = ["Block", "Document", "build_document"]


@dataclass(frozen=True)
class Block:
    kind: str  # h1 | h2 | h3 | p | note | status | table | img
    text: str = ""
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    image: bytes = b""
    caption: str = ""


@dataclass
class Document:
    lang: str
    title: str
    generated_utc: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, kind: str, text: str = "", **kw: Any) -> None:
        self.blocks.append(Block(kind, text, **kw))


def _num(v: Any, digits: int = 0, pct: bool = False) -> str:
    if v is None:
        return "n/a"
    if pct:
        return f"{float(v):.{digits}%}"
    if isinstance(v, int) or digits == 0:
        return f"{round(float(v)):,}"
    return f"{float(v):,.{digits}f}"


def _roman(mmi: float | None) -> str:
    if mmi is None:
        return "n/a"
    return ROMAN[min(max(int(float(mmi) + 0.5), 1), 10) - 1]


def build_document(ctx: BriefContext, lang: str, version: int, generated_utc: dt.datetime,
                   cache_dir: Path | None = None) -> Document:
    t = texts(lang)
    d = ctx.data
    exp, ev, a, f = d["expedition"], d["event"], d["assessment"], d["findings"]
    snap = f"{t['lake_snapshot']} {ctx.snapshot_id}"
    doc = Document(lang, f"{t['title']} {exp['expedition_id']}", generated_utc.isoformat(timespec="seconds"))
    name = exp.get("expedition_title") or ev.get("region_name") or exp["mainshock_event_id"]
    doc.add("h1", f"{t['title']}: {name}")
    doc.add("p", f"{t['programme']} · {exp['expedition_id']} · {t['brief_version']} {version} · {snap} · "
                 f"{t['generated']} {doc.generated_utc}")
    doc.add("status", t[f"status_{d['advice_status']}"], caption=d["advice_status"])
    cat = f"{t['prov_catalog']}: events/{exp['mainshock_event_id']} ({ev.get('preferred_provider') or 'n/a'}), {snap}"
    doc.add("table", header=(t["parameter"], t["value"], t["source"]), rows=(
        (t["event"], str(exp["mainshock_event_id"]), cat),
        (t["origin_time_utc"], str(exp.get("mainshock_origin_time_utc") or "n/a"), cat),
        (t["origin_time_local"], f"{ev.get('local_time', 'n/a')} ({ev.get('timezone', 'n/a')})",
         f"GeoNames time zone of the nearest place ({ev.get('timezone_place', 'n/a')})"),
    ))
    # -- alert and expedition -----------------------------------------------------------------------
    doc.add("h2", t["section_summary"])
    assess_src = f"expedition_assessments/{a.get('assessment_id', 'n/a')} ({a.get('shaking_model', 'n/a')}), {snap}"
    team = ", ".join(exp.get("team_members") or []) or t["team_none"]
    rec = f"expeditions/{exp['expedition_id']} v{exp['expedition_version']}, {snap}"
    doc.add("table", header=(t["parameter"], t["value"], t["source"]), rows=(
        (t["alert_level"], str(a.get("alert_level") or exp.get("alert_level") or "n/a").upper(), assess_src),
        (t["fatality_expected"], _num(a.get("fatality_expected")), f"{a.get('fatality_method', 'n/a')}, {assess_src}"),
        (t["expedition_status"], str(exp["expedition_status"]), rec),
        (t["tier"], str(exp["expedition_tier"]), rec),
        (t["team"], team, rec),
        (t["countries"], ", ".join(exp.get("country_iso3_list") or []), rec),
    ))
    doc.add("note", f"{t['opened_reason']}: {exp.get('opened_reason') or 'n/a'}")
    # -- event parameters -----------------------------------------------------------------------------
    doc.add("h2", t["section_event"])
    doc.add("table", header=(t["parameter"], t["value"], t["source"]), rows=(
        (t["latitude"], f"{_num(exp['mainshock_latitude_deg'], 3)}°", cat),
        (t["longitude"], f"{_num(exp['mainshock_longitude_deg'], 3)}°", cat),
        (t["depth"], f"{_num(exp.get('mainshock_depth_km'), 1)} km", cat),
        (t["magnitude"], f"{_num(exp['mainshock_magnitude_value'], 1)} {exp.get('mainshock_magnitude_type') or ''}",
         f"{ev.get('magnitude_author') or 'n/a'}; {cat}"),
        (t["region"], str(ev.get("region_name") or "n/a"), cat),
    ))
    sols, spread = d["solutions"], d["spread"]
    if sols:
        doc.add("table", header=(t["agency"], t["origin_time_utc"], t["latitude"], t["longitude"], t["depth"], t["magnitude"]),
                rows=tuple((f"{s['provider']} ({s.get('origin_agency') or '-'})", str(s["origin_time_utc"]),
                            _num(s["origin_latitude_deg"], 3), _num(s["origin_longitude_deg"], 3),
                            _num(s["origin_depth_km"], 1), f"{_num(s['magnitude_value'], 1)} {s.get('magnitude_type') or ''}")
                           for s in sols),
                caption=f"{t['agencies_agree']} ({len(sols)}); {t['source']}: event_solutions, {snap}")
        if len(sols) > 1:
            doc.add("p", f"{t['spread']}: {t['spread_magnitude']} {_num(spread.get('magnitude'), 2)}, "
                         f"{t['spread_location']} {_num(spread.get('location_km'), 1)} km, "
                         f"{t['spread_time']} {_num(spread.get('time_s'), 1)} s (event_solutions, {snap})")
    else:
        doc.add("note", t["no_solutions"])
    # -- map ------------------------------------------------------------------------------------------
    doc.add("h2", t["section_map"])
    mp = d.get("map_provenance") or {}
    doc.add("img", image=charts.map_png(d, lang, cache_dir), caption=(
        f"{t['map_caption']} {t['source']}: {mp.get('places', 'n/a')}; {mp.get('model', '')}; {mp.get('rupture', '')}"))
    # -- exposure -------------------------------------------------------------------------------------
    doc.add("h2", t["section_exposure"])
    if a:
        pop = a.get("population_by_mmi") or {}
        prov = a.get("provenance") or {}
        doc.add("table", header=(t["intensity"], t["population"]),
                rows=tuple((k, _num(pop[k])) for k in ROMAN if k in pop),
                caption=f"{t['source']}: {prov.get('places_source', 'n/a')}; {prov.get('model', '')}; "
                        f"{prov.get('exposure_bins', '')}; {assess_src}")
        top = prov.get("top_places") or []
        if top:
            doc.add("h3", t["most_affected"])
            doc.add("table", header=(t["place"], t["country"], t["population"], t["estimated_mmi"], t["distance_km"]),
                    rows=tuple((p["name"], p["country_iso3"], _num(p["population"]), f"{_roman(p['mmi'])} ({_num(p['mmi'], 1)})",
                                _num(p["rupture_distance_km"], 1)) for p in top),
                    caption=f"{t['source']}: {assess_src}")
    else:
        doc.add("note", t["no_assessment"])
    # -- forecast -------------------------------------------------------------------------------------
    doc.add("h2", t["section_forecast"])
    fc = a.get("forecast") if a else None
    if fc:
        params = fc.get("params") or {}
        wins = fc.get("windows") or []
        doc.add("table", header=(t["window"], t["expected_m3"], t["p_m5"], t["p_m6"], t["p_m7"]),
                rows=tuple((t.get(f"window_{w['label']}", w["label"]), _num(w["expected_m3"]), _num(w["p_m5"], 0, True),
                            _num(w["p_m6"], 0, True), _num(w["p_m7"], 0, True)) for w in wins),
                caption=f"{t['source']}: {params.get('citation', 'n/a')}, a={params.get('a')}, b={params.get('b')}, "
                        f"p={params.get('p')}, c={params.get('c')} d; {assess_src}")
        week = next((w for w in wins if w["label"] == "week"), None)
        if week:
            big, p_week = (6, week["p_m6"]) if (week.get("p_m6") or 0) >= 0.1 else (5, week["p_m5"])
            doc.add("h3", t["safety_note"])
            doc.add("note", t["safety_text"].format(big=big, p_week=_num(p_week, 0, True)))
    else:
        doc.add("note", t["no_forecast"])
    _findings(doc, f, t, snap)
    _advice(doc, d, t, lang, snap)
    # -- provenance and disclaimer ----------------------------------------------------------------------
    doc.add("h2", t["section_provenance"])
    mv = a.get("model_versions") or {} if a else {}
    rs = d["rule_set"]
    rows = [(t["prov_snapshot"], str(ctx.snapshot_id)), (t["prov_catalog"], cat),
            (t["prov_assessment"], assess_src)]
    rows += [(k, str(v)) for k, v in sorted(mv.items())]
    rows += [(t["prov_findings"], f"warehouse/sql/views/analytics_*.sql on survey_* tables, {snap}"),
             (t["prov_advice"], f"{rs['name']} {rs['version']} (sha256 {rs['sha256'][:12]})")]
    doc.add("table", header=(t["source"], t["value"]), rows=tuple(rows), caption=t["provenance_intro"])
    doc.add("h2", t["section_disclaimer"])
    doc.add("p", t["disclaimer"].format(sigma="0.7-1.0"))
    for c in (a.get("caveats") or []) if a else []:
        doc.add("note", str(c))
    return doc


def _findings(doc: Document, f: dict[str, Any], t: Any, snap: str) -> None:
    doc.add("h2", t["section_findings"])
    src = f"{t['source']}: %s, {snap}"
    if not f.get("building_count") and not f.get("residuals") and not f.get("ground_failure") and not f.get("lifeline_functionality"):
        doc.add("note", t["no_survey"])
        return
    cov = f.get("survey_coverage") or []
    dims = {k: sum(1 for r in cov if r["coverage_dimension"] == k) for k in ("area", "day", "surveyor")}
    doc.add("p", f"{t['buildings_surveyed']}: {_num(f['building_count'])} ({dims['area']} {t['coverage_areas']}, "
                 f"{dims['day']} {t['coverage_days']}, {dims['surveyor']} {t['coverage_surveyors']}); "
                 f"{t['unlocated']}: {_num(f['unlocated_count'])}. " + src % "analytics_survey_coverage")
    shares = f.get("damage_share_by_typology") or []
    means = {(m["damage_scale"], m["typology"]): m for m in f.get("damage_grade_mean") or []}
    for scale in sorted({r["damage_scale"] for r in shares}):
        rows = sorted((r for r in shares if r["damage_scale"] == scale), key=lambda r: (-r["building_count"], r["typology"]))
        five = any(r["damage_scale_grades"] == 5 for r in rows)
        doc.add("h3", f"{t['damage_scale']}: {scale}")
        out = []
        for r in [*rows, {"typology": "*", "building_count": sum(x["building_count"] for x in rows)}]:
            m = means.get((scale, r["typology"]), {})
            ci = (f"{_num(m.get('damage_grade_mean'), 2)} ({_num(m.get('damage_grade_ci95_low'), 2)}-"
                  f"{_num(m.get('damage_grade_ci95_high'), 2)})") if m else "n/a"
            if r["typology"] == "*":
                out.append(("*", _num(r["building_count"]), "", "", ci))
            elif five:
                out.append((r["typology"], _num(r["building_count"]), _num(r.get("share_grade_4_5"), 1, True),
                            _num(r.get("share_grade_5"), 1, True), ci))
            else:
                out.append((r["typology"], _num(r["building_count"]), _num(r.get("top_grade_share"), 1, True), "", ci))
        head = (t["typology"], t["buildings"], t["share_grade_4_5"] if five else t["top_grade_share"],
                t["share_grade_5"] if five else "", t["mean_grade"])
        doc.add("table", header=head, rows=tuple(out),
                caption=f"{t['ci_method']} " + src % "analytics_damage_share_by_typology, analytics_damage_grade_mean")
        png = charts.damage_bars_png(f, doc.lang, scale)
        if png:
            doc.add("img", image=png, caption=src % "analytics_damage_by_typology")
    doc.add("h3", t["residual_summary"])
    summ = (f.get("intensity_residual_summary") or [None])[0]
    if summ:
        doc.add("table", header=(t["residual_sites"], t["residual_bias"], t["residual_scatter"]),
                rows=((_num(summ["site_count"]), _num(summ["residual_bias"], 2), _num(summ["residual_scatter"], 2)),),
                caption=src % "analytics_intensity_residual_summary (Allen, Wald & Worden 2012, Rrup form)")
        png = charts.residuals_png(f, doc.lang)
        if png:
            doc.add("img", image=png, caption=src % "analytics_intensity_residuals")
    else:
        doc.add("note", t["no_intensity"])
    doc.add("h3", t["ground_failure"])
    gf = f.get("ground_failure") or []
    if gf:
        doc.add("table", header=(t["failure_type"], t["sites"], "ID"),
                rows=tuple((r["failure_type"], _num(r["site_count"]), str(r["site_ids"])) for r in gf),
                caption=src % "analytics_ground_failure")
    else:
        doc.add("note", t["no_ground_failure"])
    doc.add("h3", t["lifelines"])
    lf = f.get("lifeline_functionality") or []
    if lf:
        doc.add("table", header=(t["element_type"], t["buildings"], t["functional"], t["partial"], t["non_functional"]),
                rows=tuple((r["element_type"], _num(r["element_count"]), _num(r["functional_count"]),
                            _num(r["partial_count"]), _num(r["non_functional_count"])) for r in lf),
                caption=src % "analytics_lifeline_functionality")
    else:
        doc.add("note", t["no_lifelines"])


def _advice(doc: Document, d: dict[str, Any], t: Any, lang: str, snap: str) -> None:
    doc.add("h2", t["section_advice"])
    rs = d["rule_set"]
    items = d.get("advice") or []
    if not items:
        doc.add("note", t["no_advice"])
        return
    rows = []
    for it in items:
        status = t[f"status_word_{it['status']}"]
        if it["approved_by"]:
            status += f" ({t['advice_approved_by']} {', '.join(it['approved_by'])})"
        ev = "; ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in it["evidence"].items())
        rows.append((f"{it['rule_id']} v{it['rule_version']} [{it['advice_id'][:10]}]",
                     it["text_zh"] if lang == "zh" else it["text_en"], f"{ev} ({it['source']})", status))
    doc.add("table", header=(t["advice_rule"], t["section_advice"], t["advice_evidence"], t["advice_status"]),
            rows=tuple(rows), caption=f"{t['rule_set']}: {rs['name']} {rs['version']}; {snap}")
