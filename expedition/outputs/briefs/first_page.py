"""Page 1 of the brief: the onePAGER facts on one page, sources as numbered notes at its foot."""

from __future__ import annotations

from typing import Any

from expedition.outputs.briefs import charts
from expedition.outputs.briefs.blocks import Document, Lang, Notes
from expedition.outputs.briefs.context import ROMAN, BriefContext
from expedition.outputs.briefs.reasons import roman

__all__ = ["build", "change_lines", "event_title"]

EXPOSURE_FROM = 4  # the exposure row starts at MMI IV, as PAGER's does
TOP_PLACES = 6


def event_title(d: dict[str, Any], lg: Lang) -> str:
    """``M 7.7 earthquake, Myanmar, 2025-03-28`` written from the event's fields (not its English title)."""
    t, exp = lg.t, d["expedition"]
    return t.fmt("event_title", magnitude=t.num(exp.get("mainshock_magnitude_value"), 1),
                 country=lg.country(exp.get("primary_country_iso3")),
                 date=t.date(exp.get("mainshock_origin_time_utc"), with_time=False))


def change_lines(d: dict[str, Any], lg: Lang) -> list[str]:
    """What changed since the previous brief version, one line per change, in words."""
    t = lg.t
    out = []
    for c in d.get("changes") or []:
        kind = c["kind"]
        if kind == "new_survey_rows":
            out.append(t.fmt("change_new_survey_rows", count=t.num(c["count"]), survey=t.value("survey", c["survey"]),
                             total=t.num(c["total"])))
        elif kind == "new_product":
            out.append(t.fmt("change_new_product", count=t.num(c["count"]), providers=t.join(c.get("providers") or [])))
        else:
            out.append(t.fmt(f"change_{kind}", count=t.num(c.get("count"))))
    return out


def _alerts(doc: Document, d: dict[str, Any], lg: Lang, notes: Notes, assess_note: str) -> None:
    t, a = lg.t, d["assessment"]
    # ours: the PAGER model on our exposure; the stored alert_level is the one acted on (USGS PAGER's when known)
    level = a.get("alert_level_ours") or a.get("alert_level") or d["expedition"].get("alert_level")
    doc.add("alert", t.fmt("alert_ours", alert=t.value("alert", level), note=assess_note), level=str(level or "none"))
    auth = d.get("authoritative") or {}
    if auth.get("alert_level"):
        ref = notes.ref(t.fmt("note_authoritative", updated=t.date(auth.get("updated_utc")),
                              product=auth.get("product_id") or t["na"]))
        line = t.fmt("alert_authoritative", alert=t.value("alert", auth["alert_level"]), note=ref)
        if a.get("alert_basis") == "authoritative" and a.get("alert_level_authoritative") == auth["alert_level"]:
            line = line + " " + t["alert_drove_decision"]
        doc.add("alert", line, level=str(auth["alert_level"]))
    else:
        doc.add("note", t["alert_authoritative_none"])


def _facts(d: dict[str, Any], lg: Lang, cat_note: str, rec_note: str, assess_note: str) -> tuple[tuple[str, ...], ...]:
    t, exp, ev, a = lg.t, d["expedition"], d["event"], d["assessment"]
    local = ev.get("local_time")
    team = t.join(exp.get("team_members") or []) or t["team_none"]
    return (
        (t["magnitude"], f"{t.num(exp.get('mainshock_magnitude_value'), 1)} {exp.get('mainshock_magnitude_type') or ''} {cat_note}",  # noqa: E501
         t["depth"], f"{t.num(exp.get('mainshock_depth_km'), 0)} {t['unit_km']}"),
        (t["origin_time_utc"], t.date(exp.get("mainshock_origin_time_utc")),
         t["origin_time_local"], f"{local[:16].replace('T', ' ')} ({ev.get('timezone')})" if local else t["na"]),
        (t["epicentre"], f"{t.num(exp.get('mainshock_latitude_deg'), 2)}°, {t.num(exp.get('mainshock_longitude_deg'), 2)}°",
         t["countries"], lg.countries(exp.get("country_iso3_list"))),
        (t["fatality_expected"], f"{t.num(a.get('fatality_expected'))} {assess_note}" if a else t["na"],
         t["mmi_max"], f"{roman(a.get('mmi_max'))} ({lg.place(str(a.get('mmi_max_place') or ''), a.get('mmi_max_country_iso3'))})"
         if a.get("mmi_max") is not None else t["na"]),
        (t["expedition_status"], f"{t.value('status', exp.get('expedition_status'))} {rec_note}",
         t["tier"], t.value("tier", exp.get("expedition_tier"))),
        (t["team"], team, t["advice_text"], t[f"advice_banner_{d['advice_status']}"]),
    )


def build(doc: Document, ctx: BriefContext, lg: Lang, version: int) -> None:
    """Add the blocks of page 1 to ``doc``."""
    t, d = lg.t, ctx.data
    exp, ev, a = d["expedition"], d["event"], d["assessment"]
    notes = Notes()
    cat_note = notes.ref(t.fmt("note_catalog", event=exp["mainshock_event_id"], provider=ev.get("preferred_provider") or t["na"],
                               snapshot=ctx.snapshot_id))
    rec_note = notes.ref(t.fmt("note_record", expedition=exp["expedition_id"], version=exp["expedition_version"]))
    assess_note = notes.ref(t.fmt("note_assessment", assessment=a.get("assessment_id") or t["na"],
                                  model=a.get("shaking_model") or t["na"], pager=a.get("fatality_method") or t["na"])) \
        if a else ""
    doc.add("h1", event_title(d, lg))
    doc.add("p", t.fmt("meta_line", programme=t["programme"], expedition=exp["expedition_id"], version=version,
                       snapshot=ctx.snapshot_id, generated=t.date(doc.generated_utc)))
    _alerts(doc, d, lg, notes, assess_note)
    doc.add("table", rows=_facts(d, lg, cat_note, rec_note, assess_note))
    figures: list[tuple[bytes, str, float]] = []
    probs = a.get("fatality_probabilities") if a else None
    if probs:
        z_note = notes.ref(t.fmt("note_fatality_probs", zeta=t.num(probs.get("zeta"), 2), method=probs.get("method") or ""))
        figures.append((charts.fatality_histogram_png(probs, a.get("alert_level_ours") or a.get("alert_level"), lg.code),
                        t.fmt("hist_caption", note=z_note), 0.36))
    mp = d.get("map_provenance") or {}
    grid_note = notes.ref(t.fmt("note_map", model=mp.get("model") or t["na"], min_pop=t.num(mp.get("min_population")),
                                boundaries="Natural Earth 1:10m"))
    figures.append((charts.map_png(d, lg, doc_cache(lg), ctx.shaking), t.fmt("map_caption", note=grid_note), 0.64))
    doc.add("figs", figures=tuple(figures))
    if a:
        pop = a.get("population_by_mmi") or {}
        cols = [r for r in ROMAN[EXPOSURE_FROM - 1:] if r in pop] or list(ROMAN[EXPOSURE_FROM - 1:])
        doc.add("h3", t["section_exposure"])
        doc.add("table", header=(t["intensity"], *cols), rows=(
            (t["perceived_shaking"], *(t[f"shaking_{c}"] for c in cols)),
            (t["population"], *(t.num(pop.get(c)) for c in cols)),
        ), caption=t.fmt("exposure_caption", note=assess_note))
        top = ((a.get("provenance") or {}).get("top_places") or [])[:TOP_PLACES]
        if top:
            doc.add("h3", t["most_affected"])
            doc.add("table", header=(t["place"], t["country"], t["population"], t["estimated_mmi"]),
                    rows=tuple((lg.place(p["name"], p["country_iso3"]), lg.country(p["country_iso3"]), t.num(p["population"]),
                                roman(p["mmi"])) for p in top))
    else:
        doc.add("note", t["no_assessment"])
    _forecast(doc, d, lg, notes)
    lines = change_lines(d, lg)
    if lines:
        prev = d.get("previous_version")
        doc.add("changes", t.fmt("changes_since", version=prev) if prev else t["changes_first"],
                rows=tuple((x,) for x in lines))
    doc.add("notes", t["sources"], rows=notes.rows())


def doc_cache(lg: Lang) -> Any:
    return lg.cache_dir


def _forecast(doc: Document, d: dict[str, Any], lg: Lang, notes: Notes) -> None:
    t = lg.t
    fc = (d["assessment"] or {}).get("forecast")
    doc.add("h3", t["section_forecast"])
    if not fc:
        doc.add("note", t["no_forecast"])
        return
    params = fc.get("params") or {}
    ref = notes.ref(t.fmt("note_forecast", a=params.get("a"), b=params.get("b"), p=params.get("p"), c=params.get("c"),
                          regime=d["assessment"].get("aftershock_regime") or t["na"]))
    week = next((w for w in fc.get("windows") or [] if w["label"] == "week"), None)
    if week is None:
        doc.add("note", t["no_forecast"])
        return
    doc.add("p", t.fmt("forecast_week", m3=t.num(week["expected_m3"]), p5=t.pct(week["p_m5"]), p6=t.pct(week["p_m6"]),
                       p7=t.pct(week["p_m7"]), note=ref))
    big, p_week = (6, week["p_m6"]) if (week.get("p_m6") or 0) >= 0.1 else (5, week["p_m5"])
    doc.add("status", t.fmt("safety_text", big=big, p_week=t.pct(p_week)), level="safety", caption=t["safety_note"])
