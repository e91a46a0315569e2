"""Charts of a brief, drawn with matplotlib (Agg) from the brief context only: a map, damage grade by
typology as stacked bars, and intensity residuals. Each returns PNG bytes; the PNG metadata is fixed
(no software or time stamp), so the same context gives the same bytes."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.figure import Figure

from expedition.outputs.briefs.fonts import CJK_FAMILY, cjk_font
from expedition.outputs.briefs.i18n import texts

if TYPE_CHECKING:
    from expedition.outputs.briefs.shaking import BriefShaking

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


# USGS ShakeMap intensity colours (Worden et al. 2012 palette), MMI I..X
MMI_COLOURS = ("#ffffff", "#bfccff", "#a0e6ff", "#80ffff", "#7aff93", "#ffff00", "#ffc800", "#ff9100", "#ff0000", "#c80000")
ALERT_COLOURS = {"green": "#00b04f", "yellow": "#ffd700", "orange": "#ff8c00", "red": "#d7191c"}
LABELLED_PLACES = 8


def map_png(data: dict[str, Any], lg: Any, cache_dir: Path | None = None, shaking: BriefShaking | None = None) -> bytes:
    """The intensity map: the assessment's shaking (``shaking``, see :mod:`expedition.outputs.briefs.shaking`) as
    filled MMI contours and its rupture, country borders and names, the largest places labelled, survey points
    by grade."""
    import shapely
    from matplotlib.colors import BoundaryNorm, ListedColormap

    from expedition.science.geo.countries import load_countries

    t = lg.t
    exp = data["expedition"]
    lat0, lon0 = exp["mainshock_latitude_deg"], exp["mainshock_longitude_deg"]
    half = 3.2
    box = shapely.box(lon0 - half * 1.4, lat0 - half, lon0 + half * 1.4, lat0 + half)
    countries = load_countries(cache_dir)
    grid = shaking.grid if shaking is not None else None
    with _style(lg.code):
        fig = Figure(figsize=(6.4, 4.9))
        ax = fig.subplots()
        ax.set_facecolor("#dfeef7")
        if grid is not None:
            cmap = ListedColormap(MMI_COLOURS)
            norm = BoundaryNorm(np.arange(0.5, 11.0, 1.0), cmap.N)
            cs = ax.contourf(grid.lons, grid.lats, grid.mmi, levels=np.arange(0.5, 11.0, 1.0), cmap=cmap, norm=norm,
                             alpha=0.75, zorder=1)
            cb = fig.colorbar(cs, ax=ax, shrink=0.75, pad=0.02, ticks=range(1, 11))
            cb.ax.set_yticklabels([r for r in ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")], fontsize=6)
            cb.set_label(t["estimated_mmi"], fontsize=7)
        hits = np.nonzero(shapely.intersects(countries.geometries, box))[0]
        for i in sorted(hits, key=lambda k: str(countries.feature_iso3[k])):
            geom = shapely.intersection(countries.geometries[i], box)
            iso3 = str(countries.feature_iso3[i])
            for poly in getattr(geom, "geoms", [geom]):
                if poly.geom_type != "Polygon" or poly.is_empty:
                    continue
                x, y = poly.exterior.xy
                ax.plot(x, y, color="#444444", lw=0.6, zorder=2)
            c = shapely.centroid(geom)
            if not c.is_empty:
                ax.text(c.x, c.y, lg.country(iso3), fontsize=7, color="#333333", ha="center", alpha=0.9, zorder=5,
                        style="italic")
        places = sorted(data.get("map_places") or [], key=lambda p: -int(p["population"]))
        if places:
            ax.scatter([p["longitude"] for p in places], [p["latitude"] for p in places], s=6, color="black", zorder=4,
                       label=t["map_places"])
            for p in places[:LABELLED_PLACES]:
                ax.annotate(lg.place(p["name"], p["country_iso3"]), (p["longitude"], p["latitude"]), fontsize=6.5,
                            xytext=(3, 2), textcoords="offset points", zorder=6,
                            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.6})
        pts = (data.get("findings") or {}).get("survey_points") or []
        if pts:
            ax.scatter([p["site_longitude_deg"] for p in pts], [p["site_latitude_deg"] for p in pts],
                       c=[GRADE_COLOURS[min(int(p["damage_grade"]), 5)] for p in pts], marker="s", s=10,
                       edgecolors="black", linewidths=0.2, label=t["map_survey"], zorder=4)
        if shaking is not None and shaking.traces:
            for k, ((a_lat, a_lon), (b_lat, b_lon)) in enumerate(shaking.traces):
                ax.plot([a_lon, b_lon], [a_lat, b_lat], color="#7a0177", lw=2.2, zorder=5,
                        label=t["map_rupture"] if k == 0 else None)
        elif shaking is not None and shaking.rupture_extent_km:
            ang = np.linspace(0, 2 * np.pi, 181)
            r_deg = shaking.rupture_extent_km / 111.2
            ax.plot(lon0 + r_deg * np.cos(ang) / np.cos(np.radians(lat0)), lat0 + r_deg * np.sin(ang),
                    ls="--", color="#7a0177", lw=1.0, zorder=5, label=t["map_rupture_extent"])
        ax.scatter([lon0], [lat0], marker="*", s=220, color="#d7191c", edgecolors="black", linewidths=0.6,
                   label=t["map_epicentre"], zorder=7)
        ax.set_xlim(lon0 - half * 1.4, lon0 + half * 1.4)
        ax.set_ylim(lat0 - half, lat0 + half)
        ax.set_aspect(1 / np.cos(np.radians(lat0)))
        ax.tick_params(labelsize=6)
        ax.legend(loc="lower left", fontsize=6, framealpha=0.9)
        return _png(fig)


def fatality_histogram_png(probs: dict[str, Any], alert: str | None, lang: str) -> bytes:
    """PAGER-style bars: the probability of each fatality range, coloured by the alert each range means."""
    t = texts(lang)
    ranges = probs.get("ranges") or []
    colours = ["#00b04f", "#ffd700", "#ffd700", "#ff8c00", "#d7191c", "#d7191c", "#d7191c"]
    labels = ["<1", "1-10", "10-100", "100-1k", "1k-10k", "10k-100k", "100k+"]
    vals = [float(r["probability"]) for r in ranges]
    with _style(lang):
        fig = Figure(figsize=(3.0, 3.6))
        ax = fig.subplots()
        bars = ax.bar(range(len(vals)), vals, color=colours[: len(vals)], edgecolor="#333333", lw=0.5)
        for b, v in zip(bars, vals):
            ax.text(b.get_x() + b.get_width() / 2, v + 0.01, f"{v:.0%}", ha="center", fontsize=6.5)
        ax.set_xticks(range(len(vals)), labels[: len(vals)], rotation=45, fontsize=6.5)
        ax.set_ylim(0, max(vals + [0.1]) * 1.18)
        ax.set_yticks([])
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.set_title(t["hist_title"], fontsize=8)
        ax.set_xlabel(t["hist_x"], fontsize=7)
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
