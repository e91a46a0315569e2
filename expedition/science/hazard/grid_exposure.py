"""Exposure on an intensity grid: population per MMI bin from any :class:`IntensityGrid`.

The adapter between a shaking field (an authoritative ShakeMap, or later our own gridded model) and
the decision path. :func:`shaking_on_grid` samples the grid (bilinear) at population points and
returns the same :class:`~expedition.science.hazard.exposure.ShakingEstimate` that
:func:`~expedition.science.hazard.exposure.estimate_shaking` returns, so PAGER, the policy, the decision
reasons and the briefs read it unchanged.

Population points come from a :class:`PopulationPoints` source. Today that is
:func:`points_from_places` (GeoNames places: a city's people at one point, rural people missing);
a gridded population raster (LandScan, WorldPop, GHS-POP) fills the same shape with one point per
populated cell (its centre, its people, its country), and nothing else changes.

Points outside the grid get no intensity and are not counted (ShakeMap grids extend to about
MMI II-III, far beyond the MMI IV lower edge of the first exposure bin).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from expedition.science.geo.countries import CountryIndex
from expedition.science.geo.distance import haversine_km
from expedition.science.geo.places import Places
from expedition.science.hazard import HazardInputError
from expedition.science.hazard.exposure import MMI_BINS, CountryShaking, PlaceShaking, ShakingEstimate, mmi_bin_of
from expedition.science.hazard.grid import IntensityGrid
from expedition.science.hazard.ipe import to_roman
from expedition.science.hazard.rupture import RuptureModel, rupture_distance_km

__all__ = ["PopulationPoints", "points_from_places", "population_by_mmi", "shaking_on_grid"]


@dataclass(frozen=True)
class PopulationPoints:
    """People at points: a place each, or a populated raster cell each (its centre)."""

    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    population: NDArray[np.int64]
    country_iso3: NDArray[np.str_]
    name: NDArray[np.object_]
    source: str
    places: Places | None = None  # the places these points are, when they are places


def points_from_places(places: Places, grid: IntensityGrid) -> PopulationPoints:
    """The GeoNames places that lie within the grid's extent."""
    lons, lats = grid.lons, grid.lats
    c_lat = float((lats.min() + lats.max()) / 2.0)
    c_lon = float((lons[0] + lons[-1]) / 2.0)
    corners = haversine_km(c_lat, c_lon, np.array([lats.min(), lats.min(), lats.max(), lats.max()]),
                           np.array([lons[0], lons[-1], lons[0], lons[-1]]))
    near = places.within(c_lat, c_lon, float(np.max(corners)) + 1.0)
    return PopulationPoints(near.lat, near.lon, near.population, near.country_iso3, near.name, places.source, near)


def population_by_mmi(grid: IntensityGrid, points: PopulationPoints) -> dict[str, int]:
    """People per intensity bin (IV..X, bins centred on integers as in PAGER exposure tables)."""
    mmi = grid.sample(points.lat, points.lon)
    bins = mmi_bin_of(np.where(np.isfinite(mmi), mmi, 0.0))
    return {b: int(points.population[bins == k].sum()) for k, b in enumerate(MMI_BINS)}


def _sigma_at(grid: IntensityGrid, lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.float64]:
    if grid.mmi_sigma is None:
        return np.full(lat.shape, np.nan)
    return dataclasses.replace(grid, mmi=grid.mmi_sigma, mmi_sigma=None).sample(lat, lon)


def shaking_on_grid(  # noqa: PLR0913
    grid: IntensityGrid,
    magnitude: float,
    lat: float,
    lon: float,
    depth_km: float,
    rupture: RuptureModel,
    points: PopulationPoints,
    countries: CountryIndex,
    *,
    reach_threshold_mmi: float = 5.5,
    top_n: int = 10,
) -> ShakingEstimate:
    """Shaking and exposure of an earthquake read from ``grid`` at ``points`` (see the module notes)."""
    if points.places is None:
        raise HazardInputError("shaking_on_grid needs place points for the place list (raster points: use population_by_mmi)")
    mmi_all = grid.sample(points.lat, points.lon)
    inside = np.isfinite(mmi_all)
    near = points.places.take(np.flatnonzero(inside))
    mmi = mmi_all[inside]
    sigma = _sigma_at(grid, near.lat, near.lon)
    rdist = rupture_distance_km(rupture, near.lat, near.lon) if len(near) else np.zeros(0)
    bins = mmi_bin_of(mmi)
    pop = near.population
    exposure = {b: int(pop[bins == k].sum()) for k, b in enumerate(MMI_BINS)}
    by_country: dict[str, dict[str, int]] = {}
    country_max: list[CountryShaking] = []
    for code in np.unique(near.country_iso3[bins >= 0]).tolist():
        m = near.country_iso3 == code
        by_country[code] = {b: int(pop[m & (bins == k)].sum()) for k, b in enumerate(MMI_BINS)}
        i = int(np.flatnonzero(m)[np.argmax(mmi[m])])
        country_max.append(CountryShaking(
            country_iso3=code, name_en=countries.names_en.get(code, code),
            name_zh=countries.names_zh.get(code, countries.names_en.get(code, code)), max_mmi=float(mmi[i]),
            place_name=str(near.name[i]), population_at_or_above_threshold=int(pop[m & (mmi >= reach_threshold_mmi)].sum()),
        ))
    country_max.sort(key=lambda c: (-c.max_mmi, c.country_iso3))
    order = np.lexsort((-pop, -mmi))[: max(top_n, 0)]
    top = [PlaceShaking(str(near.name[i]), str(near.country_iso3[i]), int(pop[i]), float(near.lat[i]), float(near.lon[i]),
                        float(rdist[i]), float(mmi[i]), float(sigma[i])) for i in order]
    # countries whose territory shakes at the threshold: grid cells at or above it (not only places)
    glon, glat = np.meshgrid(grid.lons, grid.lats)
    strong = grid.mmi >= reach_threshold_mmi
    reached = [str(c) for c in dict.fromkeys(countries.country_of(glat[strong], glon[strong]).tolist()) if c]
    epi_iso, epi_dist = countries.nearest_country([lat], [lon])
    where = countries.country_of([lat], [lon])[0]
    sigma_note = grid.attributes.get("sigma", "")
    return ShakingEstimate(
        magnitude=float(magnitude), latitude=float(lat), longitude=float(lon), depth_km=float(depth_km),
        rupture=rupture, model="shakemap", model_citation=grid.source, places=near, place_mmi=mmi, place_sigma=sigma,
        place_rupture_distance_km=rdist, exposure_by_mmi=exposure, exposure_by_country=by_country,
        country_max=country_max, top_places=top, countries_reached=reached,
        reach_threshold_mmi=float(reach_threshold_mmi), max_mmi=float(mmi.max()) if mmi.size else float("nan"),
        epicentre_country_iso3=str(where), nearest_country_iso3=str(epi_iso[0]),
        nearest_country_distance_km=float(epi_dist[0]),
        caveats=[
            f"Intensities from the authoritative {grid.source} (strongest on the grid: MMI {to_roman(grid.max_mmi)}), "
            f"sampled at populated places; sigma: {sigma_note or 'not given'}.",
            f"Population is counted at GeoNames place points ({points.source}): rural people between places are missing.",
        ],
        provenance={
            "model": "shakemap",
            "model_citation": grid.source,
            "intensity_source": grid.source,
            "intensity_version": grid.version,
            "intensity_agency": grid.attributes.get("agency", ""),
            "places_source": points.source,
            "boundaries_source": countries.source,
            "rupture_source": f"{rupture.kind}: {rupture.source}",
            "exposure_bins": "MMI bins centred on integers (IV = 3.5-4.5 ... X >= 9.5), as in USGS PAGER exposure tables",
            "country_of_place": "GeoNames country code of each place",
        },
    )
