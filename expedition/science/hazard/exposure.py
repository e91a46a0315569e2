"""Shaking at populated places and population exposed per intensity, from magnitude and a rupture model.

``estimate_shaking`` predicts the median MMI (and its sigma) at every GeoNames place within reach of
the rupture, then sums place populations per intensity bin (IV..X, bins centred on integers as in
PAGER exposure tables: IV = [3.5, 4.5), ..., X = [9.5, inf)), per country and overall, and lists the
most affected places and the countries reached. Every result carries its provenance and caveats.

``estimate_shaking_on_grid`` (:mod:`expedition.science.hazard.exposure_grid`) reads exposure from an
intensity grid instead; both return a :class:`~expedition.science.hazard.estimate.ShakingEstimate`.

Speed: places are pre-filtered with a KD-tree radius query (the distance at which the model's MMI
falls below 3.5, plus the rupture's half extent), so a large event costs tens of milliseconds.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from expedition.science.geo.countries import CountryIndex
from expedition.science.geo.distance import from_local_xy_km, local_xy_km
from expedition.science.geo.places import Places
from expedition.science.hazard import HazardInputError
from expedition.science.hazard.bins import (
    MMI_BINS,
    bin_probabilities,
    bin_sums,
    mmi_bin_of,
)
from expedition.science.hazard.estimate import (
    CountryShaking,
    PlaceShaking,
    ShakingEstimate,
    place_fields,
)
from expedition.science.hazard.exposure_grid import estimate_shaking_on_grid, quiet_estimate
from expedition.science.hazard.ipe import IPE_MODELS, predict_mmi
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
    # 3. countries whose territory lies within the threshold distance of the rupture
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
        **place_fields(near, mmi, sigma, rdist, bins >= 0, countries, reach_threshold_mmi, top_n),
        exposure_by_mmi=exposure,
        exposure_by_country=by_country,
        countries_reached=list(reached),
        reach_threshold_mmi=float(reach_threshold_mmi),
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


