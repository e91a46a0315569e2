"""Tectonic regions of USGS STREC (Garcia et al. 2012, BSSA 102(1), 11-21) read from its polygons.

STREC, the SeismoTectonic Regime Earthquake Calculator USGS ShakeMap uses to choose its ground-motion
models, ships global polygons of active, stable, subduction and volcanic regions in its PyPI package
``usgs-strec`` (``strec/data/{active,stable,subduction,volcanic}.geojson``, public domain / CC0, USGS).
This module reads those files from the installed package and answers which region contains an
epicentre with STREC's own precedence (``strec.gmreg.Regionalizer.getRegions``: active, then stable,
then subduction, else volcanic). It does not import STREC's code: only its data files are read
(``importlib.resources``), so none of STREC's dependencies (geopandas, openquake via esi-utils-rupture,
sciencebasepy) is needed; see docs/science.md for the install figures.

Distances follow STREC (``strec.distance.get_distance_to_regime``): planar distance in degrees to
the nearest polygon times 111 km, 0 inside.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from importlib.abc import Traversable
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import shapely

from expedition.science.hazard import HazardInputError

__all__ = ["REGIONS", "STREC_PACKAGE", "RegionInfo", "TectonicRegions", "load_regions", "strec_data"]

log = logging.getLogger(__name__)

STREC_PACKAGE = "strec.data"
#: STREC's region files, in its precedence order (Regionalizer.getRegions)
REGIONS = ("active", "stable", "subduction", "volcanic")
KM_PER_DEG = 111.0  # STREC's KMPERDEG


@dataclass(frozen=True)
class RegionInfo:
    """STREC's region of an epicentre: ``Active``, ``Stable``, ``Subduction`` or ``Volcanic``; the
    subduction zone's Slab2 code (``sam``, ``cam``, ``him``...) when inside one; the distance (km)
    to the nearest polygon of each region (0 inside)."""

    region: str
    subduction_zone: str | None
    distance_km: dict[str, float]

    @property
    def label(self) -> str:
        zone = f" ({self.subduction_zone})" if self.subduction_zone else ""
        return f"STREC {self.region}{zone}"


class TectonicRegions:
    """STREC's polygons, indexed (one STRtree per region) for many look-ups."""

    def __init__(self, geometries: dict[str, list[tuple[str | None, shapely.Geometry]]], source: str) -> None:
        missing = [r for r in REGIONS if not geometries.get(r)]
        if missing:
            raise HazardInputError(f"tectonic regions from {source}: no polygons for {missing}")
        self.source = source
        self._ids = {r: [i for i, _ in geometries[r]] for r in REGIONS}
        self._geoms = {r: np.array([g for _, g in geometries[r]], dtype=object) for r in REGIONS}
        for g in self._geoms.values():
            shapely.prepare(g)
        self._trees = {r: shapely.STRtree(self._geoms[r]) for r in REGIONS}

    @classmethod
    def from_folder(cls, folder: Traversable, source: str | None = None) -> TectonicRegions:
        """Read ``<region>.geojson`` for every region in ``folder`` (STREC's data folder)."""
        geoms: dict[str, list[tuple[str | None, shapely.Geometry]]] = {}
        for region in REGIONS:
            try:
                doc = json.loads(folder.joinpath(f"{region}.geojson").read_text(encoding="utf-8"))
                feats = doc["features"]
                geoms[region] = [
                    (
                        (f.get("properties") or {}).get("ID"),
                        shapely.make_valid(shapely.from_geojson(json.dumps(f["geometry"]))),
                    )
                    for f in feats
                ]
            except (OSError, ValueError, KeyError, TypeError, shapely.errors.GEOSException) as exc:
                raise HazardInputError(f"cannot read STREC's {region}.geojson in {folder}: {exc}") from exc
        return cls(geoms, source or str(folder))

    def distance_km(self, region: str, lat: float, lon: float) -> float:
        """STREC's distance (km) from the epicentre to the nearest polygon of ``region`` (0 inside)."""
        pt = shapely.Point(_wrap(lon), lat)
        tree = self._trees[region]
        if tree.query(pt, predicate="intersects").size:
            return 0.0
        idx = tree.query_nearest(pt)
        return float(shapely.distance(self._geoms[region][idx[0]], pt)) * KM_PER_DEG

    def lookup(self, lat: float, lon: float) -> RegionInfo:
        """The region containing the epicentre, with STREC's precedence, and the distances."""
        if not (np.isfinite(lat) and np.isfinite(lon)):
            raise HazardInputError(f"tectonic region: coordinates must be finite, got {lat}, {lon}")
        pt = shapely.Point(_wrap(lon), lat)
        dist = {r: self.distance_km(r, lat, lon) for r in REGIONS}
        region = next((r for r in REGIONS[:3] if dist[r] == 0.0), "volcanic")
        zone = None
        if region == "subduction":
            hits = self._trees["subduction"].query(pt, predicate="intersects")
            zone = next((self._ids["subduction"][i] for i in sorted(hits) if self._ids["subduction"][i]), None)
            if zone is not None:
                zone = zone.split("_")[0]  # alu_pos / alu_neg -> alu
        return RegionInfo(region.capitalize(), zone, dist)


def _wrap(lon: float) -> float:
    return (float(lon) + 180.0) % 360.0 - 180.0


def strec_data(without: str) -> tuple[Traversable, str] | None:
    """The data folder of the installed ``usgs-strec`` package and its label ("usgs-strec 2.3.14"), or
    None when it is not installed (logged with ``without``: what the chain does instead)."""
    try:
        folder = resources.files(STREC_PACKAGE)
    except ModuleNotFoundError:
        log.info("usgs-strec is not installed: %s", without)
        return None
    try:
        ver = version("usgs-strec")
    except PackageNotFoundError:  # the data is there without metadata (e.g. a source checkout)
        ver = "?"
    return folder, f"usgs-strec {ver}"


@lru_cache(maxsize=1)
def load_regions() -> TectonicRegions | None:
    """STREC's regions from the installed ``usgs-strec`` package, or None when it is not installed
    (the chain then falls back to its geometric rule, and says so)."""
    data = strec_data("tectonic regions fall back to the depth and sea-distance rule")
    return None if data is None else TectonicRegions.from_folder(*data)


def _ramp(x: float, x1: float, p1: float, x2: float, p2: float) -> float:
    """STREC's ramp (``strec.sm_probs.get_probability``): p1 up to x1, p2 from x2, linear between."""
    if x <= x1:
        return p1
    if x >= x2:
        return p2
    return p1 + (p2 - p1) * (x - x1) / (x2 - x1)


def subduction_probabilities(depth_km: float, magnitude: float) -> dict[str, float]:
    """Crustal / interface / intraslab probabilities of an event in a STREC subduction region when no
    slab model is at hand: ``strec.sm_probs.get_subduction_probs`` (above_slab False) with the
    ``[subduction]`` parameters of STREC's and ShakeMap's ``select.conf``: interface by depth is a
    trapezoid (0 at 17 km, 1 from 27 to 45 km, 0 from 55 km), inflated towards 1 by magnitude
    (0 at M7.0, 1 at M8.5); the rest is crustal above ``default_slab_depth`` = 36 km, intraslab below."""
    p_depth = _ramp(depth_km, 17.0, 0.0, 27.0, 1.0) + _ramp(depth_km, 45.0, 0.0, 55.0, -1.0)
    p_int = p_depth + (1.0 - p_depth) * _ramp(magnitude, 7.0, 0.0, 8.5, 1.0)
    if depth_km > 36.0:
        return {"crustal": 0.0, "interface": p_int, "intraslab": 1.0 - p_int}
    return {"crustal": 1.0 - p_int, "interface": p_int, "intraslab": 0.0}


#: STREC's select.conf depth layers (km): active/volcanic crust shallow above 30 km, deep below;
#: subduction crustal above 15, interface 15-70, intraslab below 70 (used here only as the
#: "layers" variant measured in docs/science.md; inside a subduction region ShakeMap uses Slab2 or,
#: without it, :func:`subduction_probabilities`)
ACR_DEEP_KM = 30.0
SUB_LAYERS_KM = (15.0, 70.0)


def setting_from_region(
    info: RegionInfo, depth_km: float, magnitude: float, rule: str = "noslab", acr_deep_km: float = ACR_DEEP_KM
) -> tuple[str, str]:
    """(setting, reason) from STREC's region and the hypocentral depth, as ShakeMap's ``select``
    module picks its GMPE sets (the most probable one; ShakeMap blends them by probability):

    * Stable -> ``stable_crust``;
    * Active or Volcanic: depth < ``acr_deep_km`` (ShakeMap: 30 km) ``active_crust``, deeper
      ``deep_crust`` (ShakeMap's ``active_crustal_deep``: Rrup models);
    * Subduction: ``rule`` "noslab" -> the most probable of :func:`subduction_probabilities` (crustal
      -> ``active_crust``); "layers" -> STREC's depth layers 15 / 70 km.
    """
    where = info.label
    if info.region == "Stable":
        return "stable_crust", f"{where}"
    if info.region in ("Active", "Volcanic"):
        if depth_km >= acr_deep_km:
            return "deep_crust", f"{where}, depth {depth_km:.0f} km >= {acr_deep_km:.0f} km"
        return "active_crust", f"{where}, depth {depth_km:.0f} km"
    if rule == "layers":
        kind = "crustal" if depth_km < SUB_LAYERS_KM[0] else "interface" if depth_km < SUB_LAYERS_KM[1] else "intraslab"
        reason = f"{where}, depth {depth_km:.0f} km (layers 15/70 km)"
    elif rule == "noslab":
        probs = subduction_probabilities(depth_km, magnitude)
        kind = max(probs, key=lambda k: probs[k])
        reason = f"{where}, depth {depth_km:.0f} km, M{magnitude:.1f}: " + ", ".join(
            f"{k} {v:.2f}" for k, v in probs.items()
        )
    else:
        raise HazardInputError(f"unknown subduction rule {rule!r}: expected 'noslab' or 'layers'")
    return ("active_crust" if kind == "crustal" else kind), reason
