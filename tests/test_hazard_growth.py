"""Population scaled to the event's year with the UN WPP 2015 rates PAGER ships, against PAGER's own code.

Expected values were computed with USGS PAGER's code (PyPI esi-utils-pager 1.1.19,
``PopulationGrowth.fromDefault().adjustPopulation(1e7, un_code, 2018, year)``, which rounds to whole
people after each year; ours is not rounded, hence the 1-person tolerance on 10 million).
"""

from __future__ import annotations

import numpy as np
import pytest

from expedition.science.geo.countries import CountryIndex, load_countries
from expedition.science.geo.places import Places, load_places
from expedition.science.hazard.exposure import estimate_shaking_on_grid
from expedition.science.hazard.grid import IntensityGrid
from expedition.science.hazard.growth import DEFAULT_RATE, growth_factor, growth_factors, growth_rate, load_growth_rates
from expedition.science.hazard.population import BUILTIN_POPULATION_YEAR
from expedition.science.hazard.rupture import point_rupture

PAGER_VECTORS = [  # iso3, from, to, PAGER's adjustPopulation(1e7, ...)
    ("IRN", 2018, 1990, 6568340.0),
    ("JPN", 2018, 1995, 9775827.0),
    ("MEX", 2018, 1985, 5775922.0),
    ("MMR", 2018, 2025, 10588315.0),
    ("IND", 2018, 1978, 4824979.0),
]


@pytest.mark.parametrize(("iso3", "year0", "year1", "expected"), PAGER_VECTORS)
def test_growth_matches_pager_adjust_population(iso3: str, year0: int, year1: int, expected: float) -> None:
    assert 1e7 * growth_factor(iso3, year0, year1) == pytest.approx(expected, abs=1.0)


def test_rate_rules_and_default() -> None:
    rates = load_growth_rates()
    assert len(rates) > 200 and "IRN" in rates
    # PAGER's getRate: nearest period end; before 1950 the first rate, after 2015 the last one
    assert growth_rate("IRN", 1987) == pytest.approx(0.04026)  # 1980-1985 (end 1985 is nearest)
    assert growth_rate("IRN", 1900) == pytest.approx(0.02392) and growth_rate("IRN", 2030) == pytest.approx(0.01267)
    assert growth_rate("XXX", 2000) == DEFAULT_RATE
    assert growth_factor("IRN", 2000, 2000) == 1.0
    f = growth_factors(np.array(["IRN", "JPN", "IRN"]), 2018, 1990)
    assert f[0] == f[2] and f[0] < f[1] < 1.0


@pytest.fixture(scope="module")
def world() -> tuple[CountryIndex, Places]:
    return load_countries(), load_places()


def test_exposure_of_an_old_event_uses_its_years_population(world: tuple[CountryIndex, Places]) -> None:
    countries, places = world
    lons, lats = np.linspace(56.0, 58.0, 41), np.linspace(30.0, 28.0, 41)  # around Bam, Iran
    grid = IntensityGrid(lons, lats, np.full((41, 41), 7.0), "test", "1")
    kw = dict(magnitude=6.6, lat=29.0, lon=58.35, depth_km=10.0, rupture=point_rupture(29.0, 57.0, 10.0))
    today = estimate_shaking_on_grid(grid, places=places, countries=countries, **kw)
    then = estimate_shaking_on_grid(grid, places=places, countries=countries, event_year=2003, **kw)
    ratio = then.exposure_by_country["IRN"]["VII"] / today.exposure_by_country["IRN"]["VII"]
    assert ratio == pytest.approx(growth_factor("IRN", BUILTIN_POPULATION_YEAR, 2003), rel=1e-3)
    assert "scaled from 2018 to 2003" in then.population_source and "scaled" not in today.population_source
