"""ShakeMap-style shaking: tectonic setting -> ground-motion model -> site term (Vs30) -> GMICE -> MMI grid.

The chain mirrors USGS ShakeMap without observations (Worden et al. 2020, ShakeMap manual v4):

1. :func:`tectonic_setting` picks the setting from depth, the epicentre's position (at sea or on
   land) and the mechanism when known (see its docstring; no Slab2 geometry ships with the project).
2. The rupture hypotheses (:mod:`expedition.science.hazard.planes`) give Rrup and Rjb at every site.
3. :func:`expedition.science.hazard.gmm.ground_motion` gives ln PGA / ln PGV with the site's Vs30
   (``Vs30Source``: one documented default, or a raster the user configures).
4. Worden et al. (2012) converts PGV (preferred, as ShakeMap) or PGA to MMI with its sigma.
5. Several rupture hypotheses (unknown strike, two nodal planes) are averaged: MMI is their mean
   and the spread between them adds to the variance.

:func:`shaking_grid` evaluates the chain on a regular grid covering the area of median MMI >= IV and
returns an :class:`~expedition.science.hazard.grid.IntensityGrid` (the type a ShakeMap ``grid.xml`` also fills).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from expedition.science.geo.distance import haversine_km, local_xy_km
from expedition.science.hazard import HazardInputError
from expedition.science.hazard.gmice import mmi_from_ground_motion, mmi_sigma_from_ln
from expedition.science.hazard.gmm import SETTINGS, GroundMotion, ground_motion
from expedition.science.hazard.grid import IntensityGrid
from expedition.science.hazard.planes import PlaneRupture, site_distances_xy

__all__ = [
    "DEFAULT_VS30",
    "SLAB_SEA_KM",
    "MODEL_VERSION",
    "site_label",
    "ShakingModel",
    "Vs30Source",
    "build_model",
    "grid_axes",
    "mmi_at",
    "mmi_hypotheses_at",
    "reach_km",
    "shaking_grid",
    "tectonic_setting",
    "vs30_from_raster",
]

FloatArray = NDArray[np.float64]
MODEL_VERSION = "qe-shaking 2.0"
#: Global default Vs30 (m/s) without a Vs30 raster: NEHRP site class D (stiff soil), the typical
#: value of the alluvial valleys and plains where people live (the Wald & Allen 2007 slope proxy gives
#: 180-360 m/s for class D). Chosen from the calibration sweep 300/350/400/500/760 m/s
#: (docs/science.md): 300 m/s had the smallest bias and spread, so the calibration figures are
#: in-sample for this one global parameter. A configured Vs30 raster replaces it.
DEFAULT_VS30 = 300.0
MMI_FLOOR = 3.5  # lower edge of intensity IV
MAX_HALF_KM = 1500.0
MAX_CELLS_PER_SIDE = 100
MIN_CELL_KM = 1.0

Vs30Source = Callable[[FloatArray, FloatArray], FloatArray]


#: Intraslab needs a slab: without a slab model (Slab2), an intermediate-depth event is taken as
#: intraslab only when the sea is within this distance of the epicentre. Slabs reach 45-70 km depth
#: beneath forearcs and volcanic arcs, 100-250 km from the trench, and trenches lie offshore
#: (Hayes et al. 2018, Slab2); deep events farther inland lie under continental collision zones
#: (Himalaya, Zagros, Tien Shan), where ShakeMap selects deep active-crust models (STREC,
#: Garcia et al. 2012, BSSA 102(1); ShakeMap select.conf ``active_crustal_deep``).
SLAB_SEA_KM = 300.0


def tectonic_setting(
    depth_km: float,
    at_sea: bool,
    *,
    rake: float | None = None,
    dip: float | None = None,
    override: str | None = None,
    sea_km: float | None = None,
) -> tuple[str, str]:
    """(setting, reason). Without a slab model the rule is geometric and documented:

    * ``override`` (one of ``SETTINGS``) wins, e.g. from a regionalisation or an operator;
    * depth >= 45 km: ``intraslab`` (only subducting slabs host such events; Puebla 2017 at 51 km,
      Padang 2009 at 81 km) when the epicentre is at sea or ``sea_km`` (distance from the epicentre
      to the nearest sea, None when unknown) is at most ``SLAB_SEA_KM``; farther inland
      ``deep_crust`` (Sikkim 2011 at 50 km under the Himalaya);
    * epicentre at sea, depth 15-45 km, and a thrust mechanism (rake 45-135, dip <= 40) or no
      mechanism: ``interface`` (megathrust events: Maule, Illapel, Tohoku, Sumatra);
    * otherwise ``active_crust``. ``stable_crust`` is only chosen by override.
    """
    if override is not None:
        if override not in SETTINGS:
            raise HazardInputError(f"unknown tectonic setting {override!r}: expected one of {SETTINGS}")
        return override, "given"
    if not np.isfinite(depth_km):
        raise HazardInputError(f"tectonic_setting: depth must be finite, got {depth_km}")
    if depth_km >= 45.0:
        if at_sea or sea_km is None or sea_km <= SLAB_SEA_KM:
            where = "at sea" if at_sea else "sea distance unknown" if sea_km is None else f"sea {sea_km:.0f} km away"
            return "intraslab", f"depth {depth_km:.0f} km >= 45 km, {where}"
        return "deep_crust", f"depth {depth_km:.0f} km >= 45 km, sea {sea_km:.0f} km > {SLAB_SEA_KM:.0f} km away: no slab"
    thrust_or_unknown = rake is None or (45.0 <= rake <= 135.0 and (dip is None or dip <= 40.0))
    if at_sea and 15.0 <= depth_km and thrust_or_unknown:
        return (
            "interface",
            f"offshore, depth {depth_km:.0f} km, {'thrust mechanism' if rake is not None else 'no mechanism'}",
        )
    return "active_crust", f"depth {depth_km:.0f} km" + (
        ", on land" if not at_sea else ", offshore non-thrust or shallow"
    )


def _constant_vs30(value: float) -> Vs30Source:
    def f(lat: FloatArray, lon: FloatArray) -> FloatArray:
        return np.full(np.shape(lat), value)

    return f


@dataclass(frozen=True)
class ShakingModel:
    """One event's shaking model: magnitude, hypocentre, setting, rupture hypotheses and site model."""

    magnitude: float
    lat: float
    lon: float
    depth_km: float
    setting: str
    setting_reason: str
    ruptures: tuple[PlaneRupture, ...]
    vs30: Vs30Source
    vs30_label: str
    rake: float | None = None
    #: the Vs30 when it is one value everywhere (enables the radial shortcut for point sources)
    vs30_constant: float | None = None
    #: subduction ground motion: "zhao06" (Zhao et al. 2006 alone) or "shakemap" (ShakeMap's
    #: weighted NSHMP 2014 sets, :mod:`expedition.science.hazard.gmm_subduction`)
    subduction_set: str = "zhao06"

    def __post_init__(self) -> None:
        if not self.ruptures:
            raise HazardInputError("a shaking model needs at least one rupture hypothesis")
        if self.setting not in SETTINGS:
            raise HazardInputError(f"unknown tectonic setting {self.setting!r}")

    @property
    def orientation(self) -> str:
        return self.ruptures[0].orientation

    @property
    def gmm_name(self) -> str:
        if self.setting in ("active_crust", "stable_crust"):
            return "BSSA14"
        if self.setting == "deep_crust":
            return "Zhao06 crustal"
        return f"NSHMP14 {self.setting} set" if self.subduction_set == "shakemap" else f"Zhao06 {self.setting}"

    @property
    def source(self) -> str:
        """Provenance string for an IntensityGrid."""
        return f"{MODEL_VERSION} {self.gmm_name}+WGRW12, {self.orientation}, {self.vs30_label}"


def mmi_at(model: ShakingModel, lat: ArrayLike, lon: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """(median MMI, sigma) at sites, averaged over the model's rupture hypotheses."""
    mean, sigma, _ = mmi_hypotheses_at(model, lat, lon)
    return mean, sigma


def mmi_hypotheses_at(model: ShakingModel, lat: ArrayLike, lon: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(mean MMI, sigma, MMI of each hypothesis stacked on a first axis) at sites.

    The mean is over the equally weighted rupture hypotheses; sigma combines the models' own sigma
    with the spread between hypotheses (law of total variance)."""
    mean, sigma, stack, _ = _chain(model, lat, lon)
    return mean, sigma, stack


def _to_mmi(gm: GroundMotion) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(MMI, sigma_MMI, event-term sigma in MMI) from PGV (ShakeMap's preference) or PGA."""
    if gm.ln_pgv is not None and gm.sigma_ln_pgv is not None:
        imt, ln, sig, tau = "pgv", gm.ln_pgv, gm.sigma_ln_pgv, gm.tau_ln_pgv
    else:
        imt, ln, sig, tau = "pga", gm.ln_pga, gm.sigma_ln_pga, gm.tau_ln_pga
    mmi, s = mmi_from_ground_motion(imt, ln, sig)
    t = mmi_sigma_from_ln(imt, ln, tau) if tau is not None else np.zeros_like(mmi)
    return mmi, s, t


def _chain(model: ShakingModel, lat: ArrayLike, lon: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """:func:`mmi_hypotheses_at` plus the event-term sigma in MMI (tau through the GMICE slope,
    averaged over the hypotheses)."""
    la = np.atleast_1d(np.asarray(lat, dtype=float))
    lo = np.atleast_1d(np.asarray(lon, dtype=float))
    if model.vs30_constant is not None and all(r.orientation == "point" for r in model.ruptures) and la.size > 2000:
        mean, sigma, tau = _radial_mmi(model, la, lo)
        return mean, sigma, mean[None, ...], tau
    vs = model.vs30(la, lo)
    # one local frame for every hypothesis (they share the hypocentre)
    xy = local_xy_km(la.ravel(), lo.ravel(), model.lat, model.lon)
    rhypo = None
    if model.subduction_set != "zhao06" and model.setting in ("interface", "intraslab"):
        rhypo = np.sqrt(np.sum(xy**2, axis=1) + model.depth_km**2).reshape(la.shape)  # BC Hydro intraslab
    mmis = []
    sig2 = []
    taus = []
    for rup in model.ruptures:
        rrup, rjb = site_distances_xy(rup, xy)
        rrup, rjb = rrup.reshape(la.shape), rjb.reshape(la.shape)
        gm = ground_motion(
            model.setting, model.magnitude, rrup, rjb, vs, model.depth_km, model.rake,
            rhypo_km=rhypo, subduction_set=model.subduction_set,
        )
        mmi, s, t = _to_mmi(gm)
        mmis.append(mmi)
        sig2.append(s**2)
        taus.append(t)
    stack = np.array(mmis)
    mean = stack.mean(axis=0)
    # law of total variance over equally weighted hypotheses
    var = np.mean(sig2, axis=0) + stack.var(axis=0)
    return mean, np.sqrt(var), stack, np.mean(taus, axis=0)


def _radial_mmi(model: ShakingModel, la: FloatArray, lo: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """A point source on uniform Vs30 depends on epicentral distance only: evaluate the chain on a
    dense distance profile (0.1 km steps near the source) and interpolate (error < 0.01 MMI)."""
    repi = haversine_km(model.lat, model.lon, la, lo)
    r = np.unique(np.concatenate([np.arange(0.0, 50.0, 0.1), np.geomspace(50.0, max(float(repi.max()), 51.0), 800)]))
    assert model.vs30_constant is not None
    vs = np.full_like(r, model.vs30_constant)
    rh = np.sqrt(r**2 + model.depth_km**2)
    gm = ground_motion(
        model.setting, model.magnitude, rh, r, vs, model.depth_km, model.rake,
        rhypo_km=rh, subduction_set=model.subduction_set,
    )
    mmi, s, t = _to_mmi(gm)
    return np.interp(repi, r, mmi), np.interp(repi, r, s), np.interp(repi, r, t)


def reach_km(model: ShakingModel, mmi_floor: float = MMI_FLOOR) -> float:
    """Horizontal distance from the rupture beyond which the median MMI (softest site) stays below the floor."""
    ztor = (
        min(p.top_depth_km for rup in model.ruptures for p in rup.planes)
        if model.ruptures[0].planes
        else model.depth_km
    )
    vs = min(float(model.vs30(np.array([model.lat]), np.array([model.lon]))[0]), DEFAULT_VS30)
    return _reach(
        model.setting, round(model.magnitude, 2), round(ztor, 1), round(model.depth_km, 1), vs, model.rake, mmi_floor,
        model.subduction_set,
    )


@lru_cache(maxsize=4096)
def _reach(
    setting: str,
    magnitude: float,
    ztor: float,
    depth_km: float,
    vs30: float,
    rake: float | None,
    mmi_floor: float,
    subduction_set: str = "zhao06",
) -> float:
    r = np.geomspace(0.5, MAX_HALF_KM, 300)
    rrup = np.sqrt(r**2 + ztor**2)
    vs = np.full_like(r, vs30)
    gm = ground_motion(
        setting, magnitude, rrup, r, vs, depth_km, rake,
        rhypo_km=np.sqrt(r**2 + depth_km**2), subduction_set=subduction_set,
    )
    if gm.ln_pgv is not None:
        mmi, _ = mmi_from_ground_motion("pgv", gm.ln_pgv)
    else:
        mmi, _ = mmi_from_ground_motion("pga", gm.ln_pga)
    below = np.flatnonzero(mmi < mmi_floor)
    return float(r[below[0]]) if below.size else MAX_HALF_KM


def site_label(default_mps: float, raster: str | None = None) -> str:
    """The site model as a compact identifier (it is part of the model name, shown in every language):
    ``Vs30_default=300m/s`` (one value everywhere) or ``Vs30_raster=<file>,default=300m/s``."""
    if raster is None:
        return f"Vs30_default={default_mps:.0f}m/s"
    return f"Vs30_raster={raster.replace(' ', '_')},default={default_mps:.0f}m/s"


def build_model(  # noqa: PLR0913
    magnitude: float,
    lat: float,
    lon: float,
    depth_km: float,
    setting: tuple[str, str],
    ruptures: Sequence[PlaneRupture],
    *,
    vs30: Vs30Source | float = DEFAULT_VS30,
    vs30_label: str | None = None,
    rake: float | None = None,
    subduction_set: str = "zhao06",
) -> ShakingModel:
    """A :class:`ShakingModel` (``vs30`` a constant in m/s or a function of (lat, lon))."""
    constant: float | None = None
    if isinstance(vs30, (int, float)):
        label = vs30_label or site_label(float(vs30))
        fn = _constant_vs30(float(vs30))
        constant = float(vs30)
    else:
        label = vs30_label or site_label(DEFAULT_VS30, "raster")
        fn = vs30
    return ShakingModel(
        float(magnitude),
        float(lat),
        float(lon),
        max(float(depth_km), 0.0),
        setting[0],
        setting[1],
        tuple(ruptures),
        fn,
        label,
        rake,
        constant,
        subduction_set,
    )


def grid_axes(model: ShakingModel, half_km: float | None = None) -> tuple[FloatArray, FloatArray]:
    """Longitudes and latitudes of the grid covering the MMI >= IV area (cell >= 1 km, <= 160 cells a side)."""
    extent = max((r.extent_km() for r in model.ruptures), default=0.0)
    half = min((half_km if half_km is not None else reach_km(model)) + extent, MAX_HALF_KM)
    half = max(half, 5.0)
    cell_km = max(2.0 * half / MAX_CELLS_PER_SIDE, MIN_CELL_KM)
    dlat = cell_km / 111.195
    coslat = max(np.cos(np.radians(model.lat)), 0.05)
    dlon = dlat / coslat
    nlat = int(np.ceil(half / 111.195 / dlat))
    nlon = int(np.ceil(half / (111.195 * coslat) / dlon))
    lats = model.lat + dlat * np.arange(nlat, -nlat - 1, -1)  # north to south, as ShakeMap
    lats = lats[(lats >= -90.0) & (lats <= 90.0)]
    lons = model.lon + dlon * np.arange(-nlon, nlon + 1)
    if lons[0] < -180.0:  # keep longitudes increasing across the date line (values above 180 allowed)
        lons = lons + 360.0
    return np.asarray(lons, dtype=np.float64), np.asarray(lats, dtype=np.float64)


def shaking_grid(model: ShakingModel, event_id: str | None = None) -> IntensityGrid:
    """The model evaluated on a grid covering its median MMI >= IV area, as an :class:`IntensityGrid`."""
    lons, lats = grid_axes(model)
    glon, glat = np.meshgrid(lons, lats)
    wrapped = np.where(glon > 180.0, glon - 360.0, np.where(glon < -180.0, glon + 360.0, glon))
    mmi, sigma, stack, tau = _chain(model, glat.ravel(), wrapped.ravel())
    hypotheses = stack.reshape((stack.shape[0], *glat.shape)) if stack.shape[0] > 1 else None
    return IntensityGrid(
        lons=lons,
        lats=lats,
        mmi=mmi.reshape(glat.shape),
        mmi_sigma=sigma.reshape(glat.shape),
        mmi_sigma_event=tau.reshape(glat.shape),
        source=model.source,
        version=MODEL_VERSION,
        event_id=event_id,
        attributes={
            "setting": model.setting,
            "setting_reason": model.setting_reason,
            "gmm": model.gmm_name,
            "gmice": "WGRW12",
            "rupture_orientation": model.orientation,
            "rupture_source": model.ruptures[0].source,
            "site": model.vs30_label,
        },
        mmi_hypotheses=hypotheses,
    )


def vs30_from_raster(path: Path, default: float = DEFAULT_VS30) -> Vs30Source:
    """A Vs30 source reading a raster (WGS84 longitude/latitude, m/s) at the nearest cell; ``default``
    outside the raster or on nodata. The raster is opened once and read whole (Vs30 grids are small)."""
    try:
        import rasterio
        from rasterio.errors import RasterioError
    except ImportError as exc:  # pragma: no cover - rasterio is a dependency
        raise HazardInputError("rasterio is not installed: cannot read a Vs30 raster") from exc
    try:
        with rasterio.open(path) as src:
            if src.crs is None or not src.crs.is_geographic:
                raise HazardInputError(f"{path}: a Vs30 raster must be in geographic longitude/latitude (EPSG:4326)")
            data = src.read(1).astype(float)
            if src.nodata is not None:
                data[data == src.nodata] = np.nan
            inv = ~src.transform
    except RasterioError as exc:
        raise HazardInputError(f"{path}: cannot read the Vs30 raster: {exc}") from exc
    data[~(data > 0)] = np.nan

    def f(lat: FloatArray, lon: FloatArray) -> FloatArray:
        col, row = inv @ (np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        r = np.floor(row).astype(np.intp)
        c = np.floor(col).astype(np.intp)
        ok = (r >= 0) & (r < data.shape[0]) & (c >= 0) & (c < data.shape[1])
        out = np.full(np.shape(lat), float(default))
        vals = data[r[ok], c[ok]]
        out[ok] = np.where(np.isfinite(vals), vals, default)
        return out

    return f
