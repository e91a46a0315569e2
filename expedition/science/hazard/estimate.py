"""What an exposure estimate finds (:class:`ShakingEstimate`, with its places and countries), and the
summaries both estimators make of predicted intensities at places: the strongest shaking per country
and the most affected places (:mod:`expedition.science.hazard.exposure` for place predictions,
:mod:`expedition.science.hazard.exposure_grid` for intensity grids)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from expedition.science.geo.countries import CountryIndex
from expedition.science.geo.places import Places
from expedition.science.hazard.grid import IntensityGrid
from expedition.science.hazard.ipe import to_roman
from expedition.science.hazard.rupture import RuptureModel

__all__ = [
    "CountryShaking", "PlaceShaking", "ShakingEstimate", "most_affected_places", "place_fields", "safe_name",
    "strongest_per_country",
]


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


def safe_name(countries: CountryIndex, code: str, lang: str) -> str:
    return (
        countries.names_en.get(code, code)
        if lang == "en"
        else countries.names_zh.get(code, countries.names_en.get(code, code))
    )


def strongest_per_country(
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
                name_en=safe_name(countries, code, "en"),
                name_zh=safe_name(countries, code, "zh"),
                max_mmi=float(mmi[i]),
                place_name=str(near.name[i]),
                population_at_or_above_threshold=int(pop[m & (mmi >= threshold)].sum()),
            )
        )
    out.sort(key=lambda c: (-c.max_mmi, c.country_iso3))
    return out


def most_affected_places(
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


def place_fields(near: Places, mmi: NDArray[np.float64], sigma: NDArray[np.float64], rdist: NDArray[np.float64],
                 felt: NDArray[np.bool_], countries: CountryIndex, threshold: float, top_n: int) -> dict[str, Any]:
    """The :class:`ShakingEstimate` fields both estimators derive from intensities at places: the places
    with their intensity, sigma and rupture distance, the strongest shaking per country with a ``felt``
    place, the ``top_n`` most affected places and the strongest intensity."""
    return {
        "places": near,
        "place_mmi": mmi,
        "place_sigma": sigma,
        "place_rupture_distance_km": rdist,
        "country_max": strongest_per_country(near, mmi, felt, countries, threshold),
        "top_places": most_affected_places(near, mmi, sigma, rdist, top_n),
        "max_mmi": float(mmi.max()) if mmi.size else float("nan"),
    }

