"""Exposure read from an intensity grid (our model's or an authoritative ShakeMap):
``estimate_shaking_on_grid``. On our own prediction-only grid
(``IntensityGrid.mmi_sigma_event`` set) each population point's people are shared among the bins by
a normal intensity of the grid's median and the event-term sigma (the GMM's between-event tau through
the WGRW12 slope, about 0.5 MMI): the expected exposure. Why: Jaiswal & Wald (2010) fitted PAGER's
rates on ShakeMap Atlas maps (Allen et al. 2008, USGS OFR 2008-1236) built with intensity and
instrumental observations, which fix each event's between-event term (ShakeMap's bias correction,
Worden et al. 2018, BSSA 108(2)); a map without observations leaves it unknown, and the expected loss
integrates over it. A ShakeMap grid (observations, no ``mmi_sigma_event``) is read at its median, as
USGS PAGER does. Limit: the event term is common to every site, so this is the mean over it, not
the median (see docs/science.md, "Event term").

``quiet_estimate`` is the result for an event with no populated place within reach (no grid computed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from expedition.science.geo.countries import CountryIndex
from expedition.science.geo.distance import haversine_km
from expedition.science.geo.places import Places
from expedition.science.hazard.bins import (
    MMI_BINS,
    bin_sums,
    expected_bin_sums,
    mean_bin_sums,
    mmi_bin_of,
)
from expedition.science.hazard.estimate import ShakingEstimate, place_fields
from expedition.science.hazard.grid import IntensityGrid
from expedition.science.hazard.growth import growth_factors
from expedition.science.hazard.population import BUILTIN_POPULATION_YEAR, PopulationPoints, places_with_rural
from expedition.science.hazard.rupture import RuptureModel, rupture_distance_km

__all__ = ["estimate_shaking_on_grid", "grid_box_km", "quiet_estimate"]


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
        **place_fields(near, mmi, sigma, rdist, mmi >= 3.5, countries, reach_threshold_mmi, top_n),
        exposure_by_mmi=exposure,
        exposure_by_country=by_country,
        countries_reached=reached,
        reach_threshold_mmi=float(reach_threshold_mmi),
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
