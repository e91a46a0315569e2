"""What the web pages show, in words of one language: the list of expeditions a partner sees and one
expedition's page (assessments, decisions, brief versions with their changes, survey progress, advice).

Which expeditions and survey rows a partner sees comes from its :class:`~expedition.delivery.api.scopes.PartnerView`
only; the rest (decisions, advice, brief versions) is read from the lake at the view's snapshot, for an
expedition the view holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow.compute as pc

from expedition.delivery.api.scopes import SURVEY_KINDS, PartnerView
from expedition.delivery.api.source import LakeData
from warehouse import sqlfiles

if TYPE_CHECKING:
    from expedition.settings import Settings
    from warehouse.lake import Lake

__all__ = ["expedition_page", "expedition_rows", "recorded_brief"]


def _lake_rows(lake: Lake, snapshot: int, name: str, params: list[Any]) -> list[tuple[Any, ...]]:
    con = lake.connect(read_only=True, snapshot=snapshot)
    try:
        return con.execute(sqlfiles.read_sql(f"briefs/{name}.sql"), params).fetchall()
    except duckdb.CatalogException:
        return []
    finally:
        con.close()


def expedition_rows(lake: Lake, view: PartnerView, lang: str, cache_dir: Path) -> list[dict[str, Any]]:
    """One row per visible expedition, newest first, with its latest brief version."""
    from expedition.outputs.briefs.i18n import texts
    from expedition.outputs.briefs.names import country_name

    t = texts(lang)
    tbl = view.tables.get("expeditions")
    if tbl is None or tbl.num_rows == 0:
        return []
    latest = {e: (int(v), g) for e, v, g in _lake_rows(lake, view.snapshot_id, "latest_briefs", [])}
    out = []
    for r in tbl.to_pylist():
        v = latest.get(r["expedition_id"])
        out.append({
            "expedition_id": r["expedition_id"],
            "title": t.fmt("event_title", magnitude=t.num(r.get("mainshock_magnitude_value"), 1),
                           country=country_name(r.get("primary_country_iso3"), lang, cache_dir),
                           date=t.date(r.get("mainshock_origin_time_utc"), with_time=False)),
            "origin": r.get("mainshock_origin_time_utc"),
            "status": t.value("status", r.get("expedition_status")),
            "alert": r.get("alert_level") or "none",
            "alert_text": t.value("alert", r.get("alert_level") or "none"),
            "tier": t.value("tier", r.get("expedition_tier")),
            "countries": t.join([country_name(c, lang, cache_dir) for c in r.get("country_iso3_list") or []]),
            "latest_version": v[0] if v else None,
            "latest_time": t.date(v[1]) if v else None,
        })
    out.sort(key=lambda x: (str(x["origin"] or ""), x["expedition_id"]), reverse=True)
    return out


def recorded_brief(lake: Lake, snapshot: int, expedition_id: str, version: int, lang: str, fmt: str) -> str | None:
    """Path of the recorded file of one brief version, language and format (None when not written)."""
    rows = _lake_rows(lake, snapshot, "brief_file", [expedition_id, version, lang, fmt])
    return str(rows[0][0]) if rows else None


def _survey_progress(view: PartnerView, expedition_id: str, t: Any) -> list[dict[str, Any]]:
    out = []
    for kind in SURVEY_KINDS:
        tbl = view.tables.get(f"survey_{kind}")
        n = int(pc.sum(pc.equal(tbl.column("expedition_id"), expedition_id)).as_py() or 0) if tbl is not None else 0
        out.append({"kind": t.value("survey", kind), "count": t.num(n)})
    return out


def expedition_page(lake: Lake, settings: Settings, data: LakeData, view: PartnerView, expedition_id: str,
                    lang: str) -> dict[str, Any]:
    """Everything the page of one (visible) expedition shows, in ``lang``."""
    from expedition.delivery.api.briefs_bridge import brief_context
    from expedition.outputs.briefs.blocks import Lang
    from expedition.outputs.briefs.changes import history_with_changes
    from expedition.outputs.briefs.detail import evidence_text
    from expedition.outputs.briefs.first_page import change_lines, event_title
    from expedition.outputs.briefs.i18n import texts
    from expedition.outputs.briefs.reasons import decision_sentence, roman

    t = texts(lang)
    lg = Lang(t, settings.home / "cache")
    ctx = brief_context(lake, settings, data, expedition_id)
    d = ctx.data
    exp, a = d["expedition"], d["assessment"]

    def history() -> list[dict[str, Any]]:
        con = lake.connect(read_only=True, snapshot=data.snapshot_id)
        try:
            from expedition.outputs.briefs.changes import version_history

            hist = version_history(con, expedition_id)
        finally:
            con.close()
        return history_with_changes(lake, hist, expedition_id, exp["mainshock_event_id"])

    versions = data.memo(f"versions/{expedition_id}", history)
    people = a.get("population_mmi7plus_count") if a else None
    auth = d.get("authoritative") or {}
    assessments = view.tables.get("expedition_assessments")
    rows = assessments.filter(pc.equal(assessments.column("expedition_id"), expedition_id)).to_pylist() \
        if assessments is not None else []
    return {
        "expedition_id": expedition_id,
        "title": event_title(d, lg),
        "status": t.value("status", exp.get("expedition_status")),
        "alert": a.get("alert_level") or exp.get("alert_level") or "none",
        "alert_text": t.value("alert", a.get("alert_level") or exp.get("alert_level") or "none"),
        "auth_alert": auth.get("alert_level"),
        "auth_alert_text": t.value("alert", auth.get("alert_level")) if auth.get("alert_level") else t["na"],
        "auth_updated": t.date(auth.get("updated_utc")) if auth.get("alert_level") else "",
        "tier": t.value("tier", exp.get("expedition_tier")),
        "countries": lg.countries(exp.get("country_iso3_list")),
        "team": t.join(exp.get("team_members") or []) or t["team_none"],
        "fatalities": t.num(a.get("fatality_expected")) if a else t["na"],
        "assessments": [{
            "when": t.date(r.get("assessed_utc")), "event": r.get("event_id"), "alert": t.value("alert", r.get("alert_level")),
            "mmi": roman(r.get("mmi_max")), "place": lg.place(str(r.get("mmi_max_place") or ""), r.get("mmi_max_country_iso3")),
            "people": t.num(r.get("population_mmi7plus_count")), "fatalities": t.num(r.get("fatality_expected")),
        } for r in sorted(rows, key=lambda r: str(r.get("assessed_utc")))],
        "decisions": [{
            "when": t.date(r.get("decided_utc")), "event": r["event_id"],
            "text": decision_sentence(r, t, lg.country, lg.place, people if r["event_id"] == exp["mainshock_event_id"] else None),
        } for r in d.get("decisions") or []],
        "versions": [{
            "version": v["version"], "when": t.date(v["generated_utc"]), "files": v["files"],
            "changes": change_lines({"changes": v["changes"]}, lg),
        } for v in reversed(versions)],
        "pending_changes": change_lines(d, lg),
        "surveys": _survey_progress(view, expedition_id, t),
        "advice": [{
            "advice_id": it["advice_id"], "short_id": it["advice_id"][:10], "rule": f"{it['rule_id']} v{it['rule_version']}",
            "text": it["text_zh"] if lang == "zh" else it["text_en"], "evidence": evidence_text(it["evidence"], t),
            "status": t.value("status_word", it["status"]), "approved": it["status"] == "approved",
            "approved_by": t.join(it["approved_by"]),
        } for it in d.get("advice") or []],
    }
