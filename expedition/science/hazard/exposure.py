"""Shaking at populated places and population exposed per intensity, from magnitude and a rupture model.

``estimate_shaking`` predicts the median MMI (and its sigma) at every GeoNames place within reach of
the rupture, then sums place populations per intensity bin (IV..X, bins centred on integers as in
PAGER exposure tables: IV = [3.5, 4.5), ..., X = [9.5, inf)), per country and overall, and lists the
most affected places and the countries reached. Every result carries its provenance and caveats.

``estimate_shaking_on_grid`` reads exposure from an intensity grid. On our own prediction-only grid
(``IntensityGrid.mmi_sigma_event`` set) each population point's people are shared among the bins by
a normal intensity of the grid's median and the event-term sigma (the GMM's between-event tau through
the WGRW12 slope, about 0.5 MMI): the expected exposure. Why: Jaiswal & Wald (2010) fitted PAGER's
rates on ShakeMap Atlas maps (Allen et al. 2008, USGS OFR 2008-1236) built with intensity and
instrumental observations, which fix each event's between-event term (ShakeMap's bias correction,
Worden et al. 2018, BSSA 108(2)); a map without observations leaves it unknown, and the expected loss
integrates over it. A ShakeMap grid (observations, no ``mmi_sigma_event``) is read at its median, as
USGS PAGER does. Limit: the event term is common to every site, so this is the mean over it, not
the median (see docs/science.md, "Event term").

Speed: places are pre-filtered with a KD-tree radius query (the distance at which the model's MMI
falls below 3.5, plus the rupture's half extent), so a large event costs tens of milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from expedition.science.geo.countries import CountryIndex
from expedition.science.geo.distance import from_local_xy_km, haversine_km, local_xy_km
from expedition.science.geo.places import Places
from expedition.science.hazard import HazardInputError
from expedition.science.hazard.bins import (
    MMI_BINS,
    bin_probabilities,
    bin_sums,
    expected_bin_sums,
    mean_bin_sums,
    mmi_bin_of,
)
from expedition.science.hazard.grid import IntensityGrid
from expedition.science.hazard.growth import growth_factors
from expedition.science.hazard.ipe import IPE_MODELS, predict_mmi, to_roman
from expedition.science.hazard.population import BUILTIN_POPULATION_YEAR, PopulationPoints, places_with_rural
from expedition.science.hazard.rupture import RuptureModel, rupture_distance_km

__all__ = [
    "MMI_BINS",
    "CountryShaking",
    "PlaceShaking",
    "ShakingEstimate",
    "bin_probabilities",
    "estimate_shaking",
    "estimate_shaking_on_grid",
    "quiet_estimate",
    "mmi_bin_of",
    "reach_km",
]

MODELS = ("allen2012", "allen2012_rrup", "allen2012_rhyp", "atkinson2014")
_MAX_REACH_KM = 3000.0


@dataclass(frozen=True)
class PlaceShaking:
    """Predicted shaking at one populated place."""

    name: str
    country_iso3: str
    population: int
    latitude: float
    longitude: float
    rupture_distance_km: float
    mmi: float
    sigma: float

    @property
    def intensity(self) -> str:
        return to_roman(self.mmi)


@dataclass(frozen=True)
class CountryShaking:
    """The strongest predicted shaking at a populated place of one country."""

    country_iso3: str
    name_en: str
    name_zh: str
    max_mmi: float
    place_name: str
    population_at_or_above_threshold: int

    @property
    def intensity(self) -> str:
        return to_roman(self.max_mmi)


@dataclass(frozen=True)
class ShakingEstimate:
    """Everything ``estimate_shaking`` found, with provenance (see the module notes)."""

    magnitude: float
    latitude: float
    longitude: float
    depth_km: float
    rupture: RuptureModel
    model: str
    model_citation: str
    places: Places
    place_mmi: NDArray[np.float64]
    place_sigma: NDArray[np.float64]
    place_rupture_distance_km: NDArray[np.float64]
    exposure_by_mmi: dict[str, int]
    exposure_by_country: dict[str, dict[str, int]]
    country_max: list[CountryShaking]
    top_places: list[PlaceShaking]
    countries_reached: list[str]
    reach_threshold_mmi: float
    max_mmi: float
    epicentre_country_iso3: str
    nearest_country_iso3: str
    nearest_country_distance_km: float
    caveats: list[str] = field(default_factory=list)
    provenance: dict[str, str] = field(default_factory=dict)
    #: the intensity grid the exposure was read from (our model's or an authoritative ShakeMap)
    grid: IntensityGrid | None = None
    #: exposure with every intensity one sigma lower / higher (sigma carried from the grid)
    exposure_low_by_country: dict[str, dict[str, int]] | None = None
    exposure_high_by_country: dict[str, dict[str, int]] | None = None
    population_source: str = ""


def _ipe_name(model: str, rupture: RuptureModel) -> str:
    if model not in MODELS:
        raise HazardInputError(f"unknown intensity model {model!r}: expected one of {MODELS}")
    if model == "allen2012":  # the Allen et al. (2012) form that matches the source model
        return "allen2012_rhyp" if rupture.kind == "point" else "allen2012_rrup"
    return model


def reach_km(model: str, magnitude: float, mmi_floor: float) -> float:
    """Model distance (km) beyond which the median MMI stays below ``mmi_floor`` (capped at 3000 km)."""
    r = np.geomspace(0.1, _MAX_REACH_KM, 600)
    mmi, _ = predict_mmi(model, magnitude, r)
    below = np.flatnonzero(mmi < mmi_floor)
    # IPEs decrease monotonically with distance: the first grid point below the floor bounds the reach
    return float(r[below[0]]) if below.size else _MAX_REACH_KM


def _horizontal(r_km: float, top_depth_km: float) -> float:
    return float(np.sqrt(max(r_km**2 - top_depth_km**2, 0.0)))


def _rupture_samples(
    rupture: RuptureModel, step_km: float = 20.0
) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """Points along the rupture (every <= step_km) and the extra radius that covers the gaps."""
    if rupture.kind in ("point", "wc1994_line"):
        lat0, lon0 = rupture.vertices[0]
        extra = rupture.length_km / 2.0 if rupture.kind == "wc1994_line" else 0.0
        return np.array([lat0]), np.array([lon0]), extra
    lats: list[float] = []
    lons: list[float] = []
    for (a_lat, a_lon), (b_lat, b_lon) in zip(rupture.vertices[:-1], rupture.vertices[1:]):
        ab = local_xy_km([b_lat], [b_lon], a_lat, a_lon)[0]
        n = max(int(np.ceil(np.hypot(*ab) / step_km)), 1)
        la, lo = from_local_xy_km(np.outer(np.linspace(0.0, 1.0, n + 1), ab), a_lat, a_lon)
        lats.extend(la.tolist())
        lons.extend(lo.tolist())
    return np.array(lats), np.array(lons), step_km / 2.0


def estimate_shaking(  # noqa: PLR0913
    magnitude: float,
    lat: float,
    lon: float,
    depth_km: float,
    rupture: RuptureModel,
    places: Places,
    countries: CountryIndex,
    model: str = "allen2012",
    *,
    reach_threshold_mmi: float = 5.5,
    top_n: int = 10,
) -> ShakingEstimate:
    """Shaking and exposure of an earthquake (see the module notes).

    ``reach_threshold_mmi`` (default 5.5, i.e. intensity VI or more) decides ``countries_reached``
    and the per-country exposed population. ``model``: ``allen2012`` (Allen et al. 2012, the
    Rhyp form for a point source and the Rrup form for a finite rupture), ``allen2012_rrup``,
    ``allen2012_rhyp`` or ``atkinson2014``; distances are always measured to the rupture model.
    """
    if not (np.isfinite([magnitude, lat, lon, depth_km]).all() and 0 < magnitude < 10 and depth_km >= 0):
        raise HazardInputError(
            "estimate_shaking: need 0 < magnitude < 10, finite lat/lon and depth_km >= 0, "
            f"got {magnitude}, {lat}, {lon}, {depth_km}"
        )
    ipe = _ipe_name(model, rupture)
    # 1. candidate places: within the distance where MMI falls below IV's lower edge
    c_lat, c_lon = rupture.center
    radius = _horizontal(reach_km(ipe, magnitude, 3.5), rupture.top_depth_km) + rupture.half_extent_km
    near = places.within(c_lat, c_lon, radius)
    rdist = rupture_distance_km(rupture, near.lat, near.lon)
    mmi, sigma = predict_mmi(ipe, magnitude, rdist)
    bins = mmi_bin_of(mmi)
    pop = near.population
    # 2. exposure per intensity bin, overall and per country (country of the place from GeoNames)
    exposure, by_country = bin_sums(bins, pop.astype(float), near.country_iso3)
    country_max = _country_max(near, mmi, bins >= 0, countries, reach_threshold_mmi)
    # 3. most affected places: strongest shaking first, then the most people
    top = _top_places(near, mmi, sigma, rdist, top_n)
    # 4. countries whose territory lies within the threshold distance of the rupture
    r_thr = _horizontal(reach_km(ipe, magnitude, reach_threshold_mmi), rupture.top_depth_km)
    reached: dict[str, None] = {}
    if reach_km(ipe, magnitude, reach_threshold_mmi) > rupture.top_depth_km:
        s_lat, s_lon, extra = _rupture_samples(rupture)
        for la, lo in zip(s_lat, s_lon):
            for code in countries.countries_within(float(la), float(lo), r_thr + extra):
                reached.setdefault(code, None)
    epi_iso, epi_dist = countries.nearest_country([lat], [lon])
    inside = countries.country_of([lat], [lon])[0]
    citation = IPE_MODELS[ipe].citation
    return ShakingEstimate(
        magnitude=float(magnitude),
        latitude=float(lat),
        longitude=float(lon),
        depth_km=float(depth_km),
        rupture=rupture,
        model=ipe,
        model_citation=citation,
        places=near,
        place_mmi=mmi,
        place_sigma=sigma,
        place_rupture_distance_km=rdist,
        exposure_by_mmi=exposure,
        exposure_by_country=by_country,
        country_max=country_max,
        top_places=top,
        countries_reached=list(reached),
        reach_threshold_mmi=float(reach_threshold_mmi),
        max_mmi=float(mmi.max()) if mmi.size else float("nan"),
        epicentre_country_iso3=str(inside),
        nearest_country_iso3=str(epi_iso[0]),
        nearest_country_distance_km=float(epi_dist[0]),
        caveats=_caveats(magnitude, rupture, ipe, places),
        provenance={
            "model": ipe,
            "model_citation": citation,
            "places_source": places.source,
            "boundaries_source": countries.source,
            "rupture_source": f"{rupture.kind}: {rupture.source}",
            "exposure_bins": "MMI bins centred on integers (IV = 3.5-4.5 ... X >= 9.5), as in USGS PAGER exposure tables",
            "country_of_place": "GeoNames country code of each place",
        },
    )


def _safe_name(countries: CountryIndex, code: str, lang: str) -> str:
    return (
        countries.names_en.get(code, code)
        if lang == "en"
        else countries.names_zh.get(code, countries.names_en.get(code, code))
    )


def _caveats(magnitude: float, rupture: RuptureModel, ipe: str, places: Places) -> list[str]:
    out = [
        f"Population is counted at GeoNames place points ({places.source}): a coarse proxy. Rural people "
        "between places are missing and a whole city sits at one point.",
        f"Intensities are median predictions of {ipe} without site amplification; one sigma is about "
        "0.5-1 intensity unit, so a place can shake one level more or less.",
    ]
    if rupture.kind == "point" and magnitude >= 6.5:
        out.append(
            "Point-source model for a large earthquake: shaking near the rupture away from the epicentre is underestimated."
        )
    if rupture.kind == "wc1994_line":
        out.append(
            f"Rupture strike unknown: distances assume a {rupture.length_km:.0f} km Wells & Coppersmith (1994) rupture "
            "centred on the epicentre in every direction; real ruptures can be much longer (Myanmar 2025: about 450 km)."
        )
    if rupture.kind == "aftershock_zone":
        out.append(
            f"Rupture traced from the early aftershock zone ({rupture.n_events} events); "
            "it is a lower bound of the rupture extent."
        )
    return out


def _country_max(
    near: Places, mmi: NDArray[np.float64], felt: NDArray[np.bool_], countries: CountryIndex, threshold: float
) -> list[CountryShaking]:
    """Strongest intensity at a place of each country with a ``felt`` place, strongest first."""
    pop = near.population
    out: list[CountryShaking] = []
    for code in np.unique(near.country_iso3[felt]).tolist():
        m = near.country_iso3 == code
        i = int(np.flatnonzero(m)[np.argmax(mmi[m])])
        out.append(
            CountryShaking(
                country_iso3=code,
                name_en=_safe_name(countries, code, "en"),
                name_zh=_safe_name(countries, code, "zh"),
                max_mmi=float(mmi[i]),
                place_name=str(near.name[i]),
                population_at_or_above_threshold=int(pop[m & (mmi >= threshold)].sum()),
            )
        )
    out.sort(key=lambda c: (-c.max_mmi, c.country_iso3))
    return out


def _top_places(
    near: Places,
    mmi: NDArray[np.float64],
    sigma: NDArray[np.float64],
    rdist: NDArray[np.float64],
    top_n: int,
) -> list[PlaceShaking]:
    """The ``top_n`` places with the strongest shaking, then the most people."""
    pop = near.population
    order = np.lexsort((-pop, -mmi))[: max(top_n, 0)]
    return [
        PlaceShaking(
            str(near.name[i]),
            str(near.country_iso3[i]),
            int(pop[i]),
            float(near.lat[i]),
            float(near.lon[i]),
            float(rdist[i]),
            float(mmi[i]),
            float(sigma[i]),
        )
        for i in order
    ]


@dataclass(frozen=True)
class _Layer:
    lons: NDArray[np.float64]
    lats: NDArray[np.float64]
    mmi: NDArray[np.float64]


def _sample(
    grid: IntensityGrid, values: NDArray[np.float64], lat: NDArray[np.float64], lon: NDArray[np.float64]
) -> NDArray[np.float64]:
    # the grid's own bilinear sampler applied to another layer (sigma) of the same validated grid
    return IntensityGrid.sample(_Layer(grid.lons, grid.lats, values), lat, lon)  # type: ignore[arg-type]


def _scaled(pts: PopulationPoints, from_year: int, to_year: int) -> PopulationPoints:
    """Population points moved from ``from_year`` to ``to_year`` (PAGER's growth rule, per country)."""
    return PopulationPoints(
        pts.lat,
        pts.lon,
        pts.population * growth_factors(pts.country_iso3, from_year, to_year),
        pts.country_iso3,
        f"{pts.source}; scaled from {from_year} to {to_year} with UN WPP 2015 growth rates (as USGS PAGER)",
        pts.place_index,
    )


def grid_box_km(grid: IntensityGrid) -> tuple[float, float, float]:
    """(centre lat, centre lon, radius km) of a circle that contains the grid."""
    c_lat = float((grid.lats[0] + grid.lats[-1]) / 2.0)
    c_lon = float((grid.lons[0] + grid.lons[-1]) / 2.0)
    corner = haversine_km(c_lat, c_lon, float(grid.lats[0]), float(grid.lons[0]))
    return c_lat, (c_lon + 180.0) % 360.0 - 180.0, float(corner) + 1.0


def estimate_shaking_on_grid(  # noqa: PLR0913
    grid: IntensityGrid,
    *,
    magnitude: float,
    lat: float,
    lon: float,
    depth_km: float,
    rupture: RuptureModel,
    places: Places,
    countries: CountryIndex,
    population: PopulationPoints | None = None,
    reach_threshold_mmi: float = 5.5,
    top_n: int = 10,
    model: str = "",
    model_citation: str = "",
    caveats: list[str] | None = None,
    epicentre_iso3: str | None = None,
    nearest: tuple[str, float] | None = None,
    average_hypotheses: bool = False,
    event_year: int | None = None,
    event_term: bool = True,
) -> ShakingEstimate:
    """Exposure and the place-based outputs read from an :class:`IntensityGrid` (ours or a ShakeMap).

    With ``mmi_hypotheses`` on the grid (our model averaged several rupture hypotheses) and
    ``average_hypotheses``, the exposure per bin is the mean of the hypotheses' exposures (the
    expected exposure over the unknown strike), not the exposure of the mean intensity.
    With ``mmi_sigma_event`` on the grid (our prediction-only model, not a ShakeMap) and
    ``event_term``, each point's people are shared among the bins by a normal intensity distribution
    of that sigma (the event term tau of the GMM through the GMICE slope): the expected exposure of a
    map whose event term no observation has fixed (see docs/science.md, "Event term").
    ``event_year`` scales the built-in population (year ``BUILTIN_POPULATION_YEAR``) to the event's
    year with PAGER's growth rule (:mod:`expedition.science.hazard.growth`); a raster is not scaled.

    ``population`` defaults to the built-in places+rural points (see :mod:`expedition.science.hazard.population`).
    Exposure bins use the grid's median intensity; with ``mmi_sigma`` the exposures one sigma lower
    and higher are kept as well. ``epicentre_iso3`` ('' at sea) and ``nearest`` (ISO3, km) may be
    passed when already known (``locate_many`` computes them for a whole batch at once)."""
    c_lat, c_lon, radius = grid_box_km(grid)
    idx, _ = places.within_indices(c_lat, c_lon, radius)
    near = places.take(idx)
    mmi = _sample(grid, grid.mmi, near.lat, near.lon)
    inside = np.isfinite(mmi)
    near = near.take(np.flatnonzero(inside))
    idx = idx[inside]
    mmi = mmi[inside]
    sigma = (
        _sample(grid, grid.mmi_sigma, near.lat, near.lon) if grid.mmi_sigma is not None else np.full(mmi.shape, np.nan)
    )
    pts = population if population is not None else places_with_rural(places, idx)
    if population is None and event_year is not None and event_year != BUILTIN_POPULATION_YEAR:
        pts = _scaled(pts, BUILTIN_POPULATION_YEAR, event_year)
    p_mmi = _sample(grid, grid.mmi, pts.lat, pts.lon)
    ok = np.isfinite(p_mmi)
    p_pop = np.where(ok, pts.population, 0.0)
    p_mmi = np.where(ok, p_mmi, 0.0)
    binning = "median intensity"
    if average_hypotheses and grid.mmi_hypotheses is not None and len(grid.mmi_hypotheses) > 1:
        binning = "averaged over the rupture hypotheses"
        layers = np.array([_sample(grid, h, pts.lat, pts.lon) for h in grid.mmi_hypotheses])
        exposure, by_country = mean_bin_sums(np.where(ok, layers, 0.0), p_pop, pts.country_iso3)
    elif event_term and grid.mmi_sigma_event is not None:
        p_tau = np.nan_to_num(_sample(grid, grid.mmi_sigma_event, pts.lat, pts.lon), nan=0.0)
        exposure, by_country = expected_bin_sums(p_mmi, np.where(ok, p_tau, 0.0), p_pop, pts.country_iso3)
        binning = "expected over the GMM event term tau"
    else:
        exposure, by_country = bin_sums(mmi_bin_of(p_mmi), p_pop, pts.country_iso3)
    low = high = None
    if grid.mmi_sigma is not None:
        p_sig = np.nan_to_num(_sample(grid, grid.mmi_sigma, pts.lat, pts.lon), nan=0.0)
        _, low = bin_sums(mmi_bin_of(p_mmi - p_sig), p_pop, pts.country_iso3)
        _, high = bin_sums(mmi_bin_of(p_mmi + p_sig), p_pop, pts.country_iso3)
    rdist = rupture_distance_km(rupture, near.lat, near.lon) if len(near) else np.zeros(0)
    country_max = _country_max(near, mmi, mmi >= 3.5, countries, reach_threshold_mmi)
    top = _top_places(near, mmi, sigma, rdist, top_n)
    # countries reached: those whose people (population points) feel the threshold or more, and the
    # epicentre's country when the epicentre does (territory without people is not counted)
    reached_set = {str(c) for c in pts.country_iso3[p_mmi >= reach_threshold_mmi].tolist() if c}
    if nearest is None:
        epi_iso, epi_dist = countries.nearest_country([lat], [lon])
        nearest = (str(epi_iso[0]), float(epi_dist[0]))
    inside_iso = countries.country_of([lat], [lon])[0] if epicentre_iso3 is None else epicentre_iso3
    epi_mmi = float(grid.sample(np.array([lat]), np.array([lon]))[0])
    if inside_iso and np.isfinite(epi_mmi) and epi_mmi >= reach_threshold_mmi:
        reached_set.add(str(inside_iso))
    reached = sorted(reached_set)
    notes = list(caveats or [])
    notes.append(f"Population: {pts.source}.")
    if binning.startswith("expected"):  # one line either way (the one-page brief lists the caveats)
        notes.append("Intensities carry sigma: exposure is expected over the model's event term, and one sigma "
                     "lower and higher is kept.")
    elif grid.mmi_sigma is not None:
        notes.append("Intensities carry sigma: exposure one sigma lower and higher is kept beside the median.")
    return ShakingEstimate(
        magnitude=float(magnitude),
        latitude=float(lat),
        longitude=float(lon),
        depth_km=float(depth_km),
        rupture=rupture,
        model=model or grid.source,
        model_citation=model_citation,
        places=near,
        place_mmi=mmi,
        place_sigma=sigma,
        place_rupture_distance_km=rdist,
        exposure_by_mmi=exposure,
        exposure_by_country=by_country,
        country_max=country_max,
        top_places=top,
        countries_reached=reached,
        reach_threshold_mmi=float(reach_threshold_mmi),
        max_mmi=float(mmi.max()) if mmi.size else float("nan"),
        epicentre_country_iso3=str(inside_iso),
        nearest_country_iso3=nearest[0],
        nearest_country_distance_km=nearest[1],
        caveats=notes,
        provenance={
            "model": model or grid.source,
            "model_citation": model_citation,
            "intensity_source": grid.source,
            "intensity_version": grid.version,
            "grid_max_mmi": f"{grid.max_mmi:.2f}",
            "places_source": places.source,
            "population_source": pts.source,
            "boundaries_source": countries.source,
            "rupture_source": f"{rupture.kind}: {rupture.source}",
            "exposure_bins": "MMI bins centred on integers (IV = 3.5-4.5 ... X >= 9.5), as in USGS PAGER exposure tables",
            "exposure_binning": binning,
            **{f"grid_{k}": v for k, v in grid.attributes.items()},
        },
        grid=grid,
        exposure_low_by_country=low,
        exposure_high_by_country=high,
        population_source=pts.source,
    )


def quiet_estimate(  # noqa: PLR0913
    *,
    magnitude: float,
    lat: float,
    lon: float,
    depth_km: float,
    rupture: RuptureModel,
    places: Places,
    epicentre_iso3: str,
    nearest: tuple[str, float],
    radius_km: float,
    model: str,
    reach_threshold_mmi: float = 5.5,
) -> ShakingEstimate:
    """The estimate of an event with no populated place inside its intensity IV area: nothing exposed.

    The screen before the full chain (most catalogued earthquakes are small or far from people):
    no grid is computed, every exposure is zero and the caveat says why."""
    empty = places.take(np.zeros(0, dtype=np.intp))
    none = np.zeros(0)
    note = f"No populated place within {radius_km:.0f} km (the intensity IV area of {model}): nobody exposed, grid not computed."
    return ShakingEstimate(
        magnitude=float(magnitude),
        latitude=float(lat),
        longitude=float(lon),
        depth_km=float(depth_km),
        rupture=rupture,
        model=model,
        model_citation="",
        places=empty,
        place_mmi=none,
        place_sigma=none,
        place_rupture_distance_km=none,
        exposure_by_mmi={b: 0 for b in MMI_BINS},
        exposure_by_country={},
        country_max=[],
        top_places=[],
        countries_reached=[],
        reach_threshold_mmi=float(reach_threshold_mmi),
        max_mmi=float("nan"),
        epicentre_country_iso3=epicentre_iso3,
        nearest_country_iso3=nearest[0],
        nearest_country_distance_km=nearest[1],
        caveats=[note],
        provenance={"model": model, "places_source": places.source, "screen": note},
        population_source="none within reach",
    )
