"""Charts of a brief, drawn with matplotlib (Agg) from the brief context only: a map, damage grade by
typology as stacked bars, and intensity residuals. Each returns PNG bytes; the PNG metadata is fixed
(no software or time stamp), so the same context gives the same bytes."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.figure import Figure

from expedition.outputs.briefs.fonts import CJK_FAMILY, cjk_font
from expedition.outputs.briefs.i18n import texts

__all__ = ["damage_bars_png", "map_png", "residuals_png"]

GRADE_COLOURS = ("#1a9850", "#a6d96a", "#fee08b", "#fdae61", "#f46d43", "#a50026")
_registered: set[str] = set()


@contextmanager
def _style(lang: str) -> Iterator[None]:
    families = ["DejaVu Sans"]
    if lang == "zh":
        path, _ = cjk_font()
        if str(path) not in _registered:
            font_manager.fontManager.addfont(str(path))
            _registered.add(str(path))
        families = [CJK_FAMILY, "DejaVu Sans"]
    with matplotlib.rc_context({"font.family": families, "font.size": 8, "axes.titlesize": 9, "svg.hashsalt": "qe",
                         "axes.unicode_minus": False}):
        yield


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    # Figure without pyplot: no global figure manager, no display backend (Agg renders the PNG).
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None}, bbox_inches="tight")
    return buf.getvalue()


def map_png(data: dict[str, Any], lang: str, cache_dir: Path | None = None) -> bytes:
    """Epicentre, rupture estimate, countries (members shaded), places by est. MMI, survey points by grade."""
    import shapely

    from expedition.science.geo.countries import load_countries

    t = texts(lang)
    exp = data["expedition"]
    lat0, lon0 = exp["mainshock_latitude_deg"], exp["mainshock_longitude_deg"]
    half = 3.2
    box = shapely.box(lon0 - half * 1.4, lat0 - half, lon0 + half * 1.4, lat0 + half)
    countries = load_countries(cache_dir)
    members = set(data.get("members") or [])
    with _style(lang):
        fig = Figure(figsize=(6.4, 4.6))
        ax = fig.subplots()
        hits = np.nonzero(shapely.intersects(countries.geometries, box))[0]
        for i in sorted(hits, key=lambda k: str(countries.feature_iso3[k])):
            geom = shapely.intersection(countries.geometries[i], box)
            iso3 = str(countries.feature_iso3[i])
            polys = getattr(geom, "geoms", [geom])
            for poly in polys:
                if poly.geom_type != "Polygon" or poly.is_empty:
                    continue
                x, y = poly.exterior.xy
                ax.fill(x, y, facecolor="#dbe9f6" if iso3 in members else "#f2f2f2", edgecolor="#777777", lw=0.5)
            c = shapely.centroid(geom)
            if not c.is_empty and iso3 in countries.names_en:
                ax.text(c.x, c.y, countries.name(iso3, lang), fontsize=7, color="#555555", ha="center", alpha=0.8)
        places = data.get("map_places") or []
        if places:
            sc = ax.scatter([p["longitude"] for p in places], [p["latitude"] for p in places],
                            c=[p["mmi"] for p in places], cmap="YlOrRd", vmin=3, vmax=10, s=12,
                            edgecolors="#333333", linewidths=0.3, label=t["map_places"], zorder=3)
            cb = fig.colorbar(sc, ax=ax, shrink=0.7, pad=0.02)
            cb.set_label(t["estimated_mmi"])
        pts = (data.get("findings") or {}).get("survey_points") or []
        if pts:
            ax.scatter([p["site_longitude_deg"] for p in pts], [p["site_latitude_deg"] for p in pts],
                       c=[GRADE_COLOURS[min(int(p["damage_grade"]), 5)] for p in pts], marker="s", s=10,
                       edgecolors="black", linewidths=0.2, label=t["map_survey"], zorder=4)
        length = (data.get("assessment") or {}).get("rupture_length_km") or 0.0
        if length:
            ang = np.linspace(0, 2 * np.pi, 181)
            r_deg = length / 2 / 111.2
            ax.plot(lon0 + r_deg * np.cos(ang) / np.cos(np.radians(lat0)), lat0 + r_deg * np.sin(ang),
                    ls="--", color="#a50026", lw=0.8, zorder=4)
        ax.scatter([lon0], [lat0], marker="*", s=220, color="#d7191c", edgecolors="black", linewidths=0.6,
                   label=t["map_epicentre"], zorder=5)
        ax.set_xlim(lon0 - half * 1.4, lon0 + half * 1.4)
        ax.set_ylim(lat0 - half, lat0 + half)
        ax.set_aspect(1 / np.cos(np.radians(lat0)))
        ax.tick_params(labelsize=7)
        ax.legend(loc="lower left", fontsize=7, framealpha=0.9)
        return _png(fig)


def _scale_for_bars(findings: dict[str, Any]) -> str | None:
    rows = findings.get("damage_share_by_typology") or []
    if not rows:
        return None
    by: dict[str, tuple[int, int]] = {}
    for r in rows:
        g, n = by.get(r["damage_scale"], (0, 0))
        by[r["damage_scale"]] = (max(g, int(r["damage_scale_grades"] or 0)), n + int(r["building_count"]))
    return sorted(by, key=lambda s: (-by[s][0], -by[s][1], s))[0]


def damage_bars_png(findings: dict[str, Any], lang: str, scale: str | None = None, top: int = 8) -> bytes | None:
    """Share of each damage grade per typology (the ``top`` typologies by count) as stacked bars."""
    t = texts(lang)
    scale = scale or _scale_for_bars(findings)
    rows = [r for r in findings.get("damage_by_typology") or [] if r["damage_scale"] == scale]
    if not rows:
        return None
    totals: dict[str, int] = {}
    for r in rows:
        totals[r["typology"]] = int(r["typology_building_count"])
    typs = sorted(totals, key=lambda k: (-totals[k], k))[:top]
    grades = sorted({int(r["damage_grade"]) for r in rows})
    share = {(r["typology"], int(r["damage_grade"])): float(r["grade_share"]) for r in rows}
    with _style(lang):
        fig = Figure(figsize=(6.4, 3.2))
        ax = fig.subplots()
        bottom = np.zeros(len(typs))
        for g in grades:
            vals = np.array([share.get((ty, g), 0.0) for ty in typs])
            colour = GRADE_COLOURS[min(g, 5)] if max(grades) > 3 else GRADE_COLOURS[min(2 * g - 1, 5)]
            ax.barh(range(len(typs)), vals, left=bottom, color=colour, label=f"{t['grade']} {g}", edgecolor="white", lw=0.4)
            bottom += vals
        ax.set_yticks(range(len(typs)), [f"{ty} (n={totals[ty]})" for ty in typs], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel(t["chart_stacked_y"])
        ax.set_title(f"{t['chart_stacked']}: {scale}", fontsize=8)
        ax.legend(ncol=len(grades), fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False)
        return _png(fig)


def residuals_png(findings: dict[str, Any], lang: str) -> bytes | None:
    """Observed minus predicted intensity against rupture distance, with the model's one-sigma band."""
    t = texts(lang)
    rows = findings.get("residuals") or []
    if not rows:
        return None
    x = np.array([r["rupture_distance_km"] for r in rows], dtype=float)
    y = np.array([r["intensity_residual"] for r in rows], dtype=float)
    s = np.array([r["ipe_sigma"] for r in rows], dtype=float)
    order = np.argsort(x, kind="stable")
    with _style(lang):
        fig = Figure(figsize=(6.4, 2.8))
        ax = fig.subplots()
        ax.fill_between(x[order], -s[order], s[order], color="#cccccc", alpha=0.6, label="±1σ")
        ax.axhline(0, color="black", lw=0.6)
        ax.scatter(x, y, s=14, color="#2c7bb6", edgecolors="black", linewidths=0.3, zorder=3)
        ax.set_xlabel(t["chart_residuals_x"])
        ax.set_ylabel(t["chart_residuals_y"])
        ax.set_title(t["chart_residuals"], fontsize=8)
        ax.legend(fontsize=7, loc="upper right")
        return _png(fig)
