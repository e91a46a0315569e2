"""Everything a brief shows, gathered from the lake at ONE snapshot.

:func:`build_context` opens the lake at a single snapshot (``Lake.connect(snapshot=N)``), reads the
expedition, its event and every agency's solution, the stored assessment (exposure, places, alert,
forecast, provenance), the analytics views of the field surveys and the advice with its sign-offs,
and returns a :class:`BriefContext`: plain JSON-ready data in a deterministic order. The same
snapshot always gives the same context (its hash, :attr:`BriefContext.sha256`, leaves out the
snapshot id), so the same brief. Sections without data are empty and the brief says so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import numpy as np

from catalogs.distance import haversine_km
from expedition.decisions.response.details import expedition_details
from expedition.errors import BriefError
from expedition.outputs.advice.rules import load_rule_set
from expedition.outputs.advice.store import advice_of, rule_set_for
from expedition.outputs.briefs.changes import changes_between, inventory, previous_inventory, version_history
from expedition.outputs.briefs.shaking import BriefShaking, assessment_shaking
from warehouse import sqlfiles

if TYPE_CHECKING:
    from expedition.settings import Settings
    from warehouse.lake import Lake

__all__ = ["BriefContext", "build_context"]

log = logging.getLogger(__name__)

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
MAP_RADIUS_KM = 300.0
MAP_PLACE_MIN_POPULATION = 15000
UNHASHED = ("changes", "previous_version")


@dataclass(frozen=True)
class BriefContext:
    """The data of one brief. ``data`` is JSON-ready; ``snapshot_id`` is the lake snapshot it was read at;
    ``shaking`` the assessment's shaking field the map draws (derived from the same snapshot, so not hashed)."""

    expedition_id: str
    snapshot_id: int
    data: dict[str, Any]
    shaking: BriefShaking | None = field(default=None, compare=False, repr=False)

    @property
    def sha256(self) -> str:
        """Hash of what the brief shows (the snapshot id, generation time and the comparison with the
        previous version are not part of it)."""
        shown = {k: v for k, v in self.data.items() if k not in UNHASHED}
        return hashlib.sha256(_canonical(shown).encode("utf-8")).hexdigest()


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, default=_jsonable, separators=(",", ":"))


def _jsonable(v: Any) -> Any:
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, np.generic):
        return v.item()
    return str(v)


def _clean(v: Any) -> Any:
    """Recursively: datetimes to ISO text, floats rounded to 6 digits (NaN to None), tuples to lists."""
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else round(v, 6)
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return v


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    try:
        cur = con.execute(sql, params)
    except duckdb.CatalogException:
        return []  # the table or view does not exist in this lake yet
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _view(con: duckdb.DuckDBPyConnection, view: str, expedition_id: str) -> list[dict[str, Any]]:
    # identifiers: our own view names; the value is bound
    return _rows(con, f'SELECT * EXCLUDE (expedition_id) FROM "{view}" WHERE expedition_id = ? ORDER BY ALL',
                 [expedition_id])


def _event(con: duckdb.DuckDBPyConnection, event_id: str) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    ev = _rows(con, "SELECT * FROM events WHERE event_id = ?", [event_id])
    sols = _rows(
        con,
        "SELECT provider, provider_event_id, origin_agency, origin_time_utc, origin_latitude_deg, origin_longitude_deg, "
        "origin_depth_km, magnitude_value, magnitude_type FROM event_solutions WHERE event_id = ? "
        "QUALIFY row_number() OVER (PARTITION BY provider ORDER BY updated_time_utc DESC NULLS LAST, solution_id) = 1 "
        "ORDER BY provider",
        [event_id],
    )
    event = ev[0] if ev else {}
    spread: dict[str, Any] = {"agency_count": len(sols)}
    if len(sols) >= 2:
        mags = [s["magnitude_value"] for s in sols if s["magnitude_value"] is not None]
        lat = np.array([s["origin_latitude_deg"] for s in sols], dtype=float)
        lon = np.array([s["origin_longitude_deg"] for s in sols], dtype=float)
        times = [s["origin_time_utc"] for s in sols if s["origin_time_utc"] is not None]
        d = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
        spread.update({
            "magnitude": (max(mags) - min(mags)) if mags else None,
            "location_km": float(np.nanmax(d)),
            "time_s": (max(times) - min(times)).total_seconds() if times else None,
        })
    return event, sols, spread


def _local_time(places: Any, lat: float, lon: float, origin: dt.datetime | None) -> dict[str, Any]:
    if places is None or origin is None or len(places) == 0:
        return {}
    d = haversine_km(lat, lon, places.lat, places.lon)
    i = int(np.argmin(d))
    tz = str(places.timezone[i] or "")
    try:
        local = origin.astimezone(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        return {"timezone_place": str(places.name[i])}
    offset = local.utcoffset()
    return {"local_time": local.isoformat(), "timezone": tz, "timezone_place": str(places.name[i]),
            "utc_offset_h": offset.total_seconds() / 3600 if offset is not None else 0.0}


def _map_places(settings: Settings, exp: dict[str, Any], shaking: BriefShaking | None
                ) -> tuple[Any, list[dict[str, Any]], dict[str, Any]]:
    """Populated places near the epicentre with their MMI in the assessment's shaking (``shaking``)."""
    from expedition.science.geo.places import load_places

    if shaking is None:
        return None, [], {}
    lat, lon = exp["mainshock_latitude_deg"], exp["mainshock_longitude_deg"]
    places = load_places(min_population=MAP_PLACE_MIN_POPULATION, cache_dir=settings.home / "cache")
    near = places.within(lat, lon, MAP_RADIUS_KM)
    mmi = shaking.mmi_at(near.lat, near.lon)
    out: list[dict[str, Any]] = [
        {"name": str(near.name[i]), "country_iso3": str(near.country_iso3[i]), "latitude": float(near.lat[i]),
         "longitude": float(near.lon[i]), "population": int(near.population[i]), "mmi": float(mmi[i])}
        for i in range(len(near))
    ]
    out.sort(key=lambda p: (-int(p["population"]), str(p["name"])))
    prov = {"places_source": places.source, "min_population": MAP_PLACE_MIN_POPULATION, "radius_km": MAP_RADIUS_KM,
            "model": shaking.source, "shaking_kind": shaking.kind, "rupture_source": shaking.rupture_source}
    return places, out[:400], prov


def _members(settings: Settings, at: dt.datetime | None) -> list[str]:
    from expedition.decisions.membership import load_membership

    if at is None:
        return []
    return sorted(load_membership(settings).members_at(at))


#: The analytics views of the findings, by the survey kind they are computed from (each view's rows are
#: those of its expedition's observations of that kind: no observation, no row).
_FINDINGS_VIEWS = {
    "buildings": ("damage_by_typology", "damage_share_by_typology", "damage_grade_mean", "damage_by_distance",
                  "damage_by_intensity", "survey_coverage"),
    "intensity": ("intensity_residuals", "intensity_residual_summary"),
    "ground_failure": ("ground_failure",),
    "lifelines": ("lifeline_functionality",),
}
_FINDINGS_ORDER = ("damage_by_typology", "damage_share_by_typology", "damage_grade_mean", "damage_by_distance",
                   "damage_by_intensity", "intensity_residuals", "intensity_residual_summary", "ground_failure",
                   "lifeline_functionality", "survey_coverage")


def _surveyed_kinds(con: duckdb.DuckDBPyConnection, expedition_id: str) -> set[str]:
    """The survey kinds with observations of ``expedition_id`` (every kind when that cannot be told)."""
    rows = _rows(con, "SELECT DISTINCT observation_kind AS kind FROM survey_observation_keys WHERE expedition_id = ?",
                 [expedition_id])
    return {str(r["kind"]) for r in rows} if rows or _has_view(con, "survey_observation_keys") else set(_FINDINGS_VIEWS)


def _has_view(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(_rows(con, "SELECT 1 AS x FROM duckdb_views() WHERE view_name = ? LIMIT 1", [name]))


def _findings(con: duckdb.DuckDBPyConnection, expedition_id: str) -> dict[str, Any]:
    # Ten analytics views cost about a second even on empty tables: only those of the kinds surveyed are read.
    kinds = _surveyed_kinds(con, expedition_id)
    wanted = {name for kind in kinds for name in _FINDINGS_VIEWS.get(kind, ())}
    v: dict[str, Any] = {name: _view(con, f"analytics_{name}", expedition_id) if name in wanted else []
                         for name in _FINDINGS_ORDER}
    if "buildings" in kinds:
        points = _rows(
            con,
            "SELECT site_latitude_deg, site_longitude_deg, damage_grade, damage_scale_grades FROM analytics_building_grades "
            "WHERE expedition_id = ? AND site_latitude_deg IS NOT NULL ORDER BY observation_id LIMIT 5000",
            [expedition_id],
        )
        located = _rows(con, "SELECT count(*) FILTER (WHERE site_latitude_deg IS NULL) AS unlocated, count(*) AS n "
                             "FROM analytics_building_grades WHERE expedition_id = ?", [expedition_id])
    else:
        points, located = [], []
    v["survey_points"] = points
    v["building_count"] = int(located[0]["n"]) if located else 0
    v["unlocated_count"] = int(located[0]["unlocated"] or 0) if located else 0
    v["residuals"] = v.pop("intensity_residuals")
    return v


def _decisions(con: duckdb.DuckDBPyConnection, settings: Settings, expedition_id: str) -> list[dict[str, Any]]:
    """The trigger decisions naming the expedition, with the structured fields their reasons come from."""
    from expedition.decisions.membership import load_membership

    rows = _rows(con, sqlfiles.read_sql("briefs/decisions_of.sql"), [expedition_id])
    if not rows:
        return []
    membership = load_membership(settings)
    for r in rows:
        member, at = r.get("nearest_member_iso3"), r.get("origin_time_utc")
        r["member_since"] = membership.member_since(member, at) if member and at is not None else None
    return rows


def _authoritative(con: duckdb.DuckDBPyConnection, event_id: str) -> dict[str, Any]:
    """The newest authoritative USGS PAGER alert stored for the event (the latest ``losspager`` version in
    ``event_products``, as the response reads it): alert_level, source, product_id, updated_utc; else {}."""
    rows = _rows(con, sqlfiles.read_sql("briefs/authoritative_alert.sql"), [event_id])
    return rows[0] if rows else {}


def _event_assessment(con: duckdb.DuckDBPyConnection, decision_id: str | None) -> dict[str, Any]:
    """The ``event_assessments`` row of the decision of the assessment shown (its alerts and stored fatality
    probabilities); {} for a manual opening or an assessment recorded before that table."""
    if not decision_id:
        return {}
    rows = _rows(con, sqlfiles.read_sql("briefs/event_assessment.sql"), [decision_id])
    return rows[0] if rows else {}


#: the columns of the event assessment the brief shows as the alert basis: our alert, the authoritative
#: one and which drove the decision
_ALERT_BASIS = ("alert_level_ours", "alert_level_authoritative", "alert_authoritative_source", "alert_level_acted",
                "alert_basis")


def _fatality_probabilities(
    stored: dict[str, Any], a: dict[str, Any], countries: list[str]
) -> dict[str, Any] | None:
    """The probabilities stored with the assessment's decision, else PAGER's about its expected value."""
    from expedition.outputs.briefs.fatality_probs import (
        CITATION,
        combined_zeta,
        fatality_probabilities,
        stored_probabilities,
    )

    if a.get("fatality_probabilities"):
        return dict(a["fatality_probabilities"])
    found = stored_probabilities(stored) if stored else None
    if found is not None:
        return found
    if a.get("fatality_expected") is None:
        return None
    zeta = combined_zeta(countries)
    return {"ranges": fatality_probabilities(float(a["fatality_expected"]), zeta), "zeta": zeta,
            "countries": countries, "method": CITATION}


def build_context(lake: Lake, settings: Settings, expedition_id: str, snapshot: int | None = None) -> BriefContext:
    """Read everything the brief of ``expedition_id`` shows at one lake snapshot (default: the current one)."""
    snap = snapshot if snapshot is not None else lake.current_snapshot()
    con = lake.connect(read_only=True, snapshot=snap)
    try:
        details = expedition_details(lake, expedition_id, con=con)
        exp = details["expedition"]
        event, solutions, spread = _event(con, exp["mainshock_event_id"])
        findings = _findings(con, exp["expedition_id"])
        advice = advice_of(con, exp["expedition_id"])
        decisions = _decisions(con, settings, exp["expedition_id"])
        stock = inventory(con, exp["expedition_id"], exp["mainshock_event_id"])
        authoritative = _authoritative(con, exp["mainshock_event_id"])
        assessment = details.get("mainshock_assessment") or {}
        stored = _event_assessment(con, assessment.get("decision_id"))
        basis = {k: stored[k] for k in _ALERT_BASIS} if stored else {}
        history = version_history(con, exp["expedition_id"])
        probs = _fatality_probabilities(stored, assessment, _fatality_countries(assessment, exp)) if assessment else None
        shaking = assessment_shaking(con, settings, exp, stored)
    finally:
        con.close()
    try:
        places, map_places, map_prov = _map_places(settings, exp, shaking)
    except Exception as exc:  # reference data missing: the map shows the epicentre only
        raise BriefError(f"cannot read populated places for the map of {expedition_id}: {exc}") from exc
    origin = exp.get("mainshock_origin_time_utc")
    local = _local_time(places, exp["mainshock_latitude_deg"], exp["mainshock_longitude_deg"], origin)
    rule_set = rule_set_for(settings) if advice else load_rule_set()
    statuses = {a.status for a in advice}
    data = {
        "expedition": exp,
        "event": {**event, **local},
        "solutions": solutions,
        "spread": spread,
        "assessment": ({k: assessment.get(k) for k in (
            "assessment_id", "event_revision", "alert_level", "fatality_expected", "fatality_method", "mmi_max",
            "mmi_max_place", "mmi_max_country_iso3", "mmi_by_country", "population_by_mmi",
            "population_mmi7plus_count", "forecast", "caveats", "provenance", "model_versions", "shaking_model",
            "rupture_method", "rupture_length_km", "rupture_event_count", "aftershock_regime",
            "fatality_probabilities")} | basis) if assessment else {},
        "map_places": map_places,
        "map_provenance": map_prov,
        "members": _members(settings, origin),
        "findings": findings,
        "advice": [{
            "advice_id": a.advice_id, "rule_id": a.rule_id, "rule_version": a.rule_version,
            "rule_set_version": a.rule_set_version, "category": a.category, "subject": a.subject,
            "text_en": a.text_en, "text_zh": a.text_zh, "source": a.source, "evidence": a.evidence,
            "status": a.status, "approved_by": a.approved_by,
        } for a in advice],
        "advice_status": "none" if not advice else ("approved" if statuses == {"approved"} else "draft"),
        "rule_set": {"name": rule_set.name, "version": rule_set.version, "sha256": rule_set.sha256},
        "decisions": decisions,
        "inventory": stock,
        "authoritative": authoritative,
    }
    if data["assessment"]:
        data["assessment"]["fatality_probabilities"] = probs
    ctx = BriefContext(exp["expedition_id"], int(snap), _clean(data), shaking)
    prev_version, prev = previous_inventory(lake, history, ctx.expedition_id, exp["mainshock_event_id"], ctx.sha256)
    ctx.data["previous_version"] = prev_version
    ctx.data["changes"] = changes_between(prev, ctx.data["inventory"])
    return ctx


def _fatality_countries(a: dict[str, Any], exp: dict[str, Any]) -> list[str]:
    """Countries the expected fatalities come from: those of the assessment reaching MMI V, else the expedition's."""
    by = a.get("mmi_by_country") or {}
    shaken = sorted(c for c, v in by.items() if isinstance(v, dict) and float(v.get("mmi") or 0) >= 4.5)
    return shaken or sorted(exp.get("country_iso3_list") or [])
