"""Population for exposure: rasters (any CRS, ASCII grids, bad files) and the built-in places+rural fallback."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from expedition.science.geo.countries import CountryIndex, load_countries
from expedition.science.geo.places import Places, load_places
from expedition.science.hazard.exposure import estimate_shaking_on_grid
from expedition.science.hazard.grid import IntensityGrid
from expedition.science.hazard.pager import pager_estimate
from expedition.science.hazard.population import (
    PopulationRasterError,
    national_population,
    places_with_rural,
    raster_population,
    rural_shares,
)
from expedition.science.hazard.rupture import point_rupture

rasterio = pytest.importorskip("rasterio")
from rasterio.crs import CRS  # noqa: E402
from rasterio.transform import from_origin  # noqa: E402


@pytest.fixture(scope="module")
def countries() -> CountryIndex:
    return load_countries()


@pytest.fixture(scope="module")
def places() -> Places:
    return load_places(min_population=1000)


def _write(path: Path, data: np.ndarray, transform: object, crs: object, driver: str = "GTiff") -> Path:
    with rasterio.open(
        path,
        "w",
        driver=driver,
        height=data.shape[0],
        width=data.shape[1],
        count=1,
        dtype="float32",
        crs=crs,
        transform=transform,
        nodata=-1.0,
    ) as dst:
        dst.write(data.astype("float32"), 1)
    return path


def test_geotiff_in_wgs84_gives_cell_points(tmp_path: Path, countries: CountryIndex) -> None:
    # 0.1-degree cells over Kathmandu valley, 1,000 people each, one nodata cell
    data = np.full((10, 10), 1000.0)
    data[0, 0] = -1.0
    path = _write(tmp_path / "pop.tif", data, from_origin(85.0, 28.0, 0.1, 0.1), CRS.from_epsg(4326))
    pts = raster_population(path, (85.0, 86.0), (27.0, 28.0), countries)
    assert len(pts) == 99 and pts.population.sum() == pytest.approx(99_000)
    assert set(pts.country_iso3.tolist()) <= {"NPL", "IND", "CHN"} and "NPL" in pts.country_iso3
    assert pts.source == "raster: pop.tif"
    # a window: only the cells inside the box
    part = raster_population(path, (85.0, 85.5), (27.5, 28.0), countries)
    assert part.population.sum() == pytest.approx(24_000)


def test_projected_raster_is_reprojected_keeping_the_people(tmp_path: Path, countries: CountryIndex) -> None:
    # Web Mercator cells of 5 km around Kathmandu, 100 people each
    x0, y0 = 9_460_000.0, 3_250_000.0
    data = np.full((20, 20), 100.0)
    path = _write(tmp_path / "merc.tif", data, from_origin(x0, y0, 5000.0, 5000.0), CRS.from_epsg(3857))
    pts = raster_population(path, (84.0, 87.0), (26.0, 29.0), countries)
    assert pts.population.sum() == pytest.approx(40_000, rel=0.02)  # sum resampling keeps the count


def test_ascii_grid_with_projection_file(tmp_path: Path, countries: CountryIndex) -> None:
    path = tmp_path / "pop.asc"
    path.write_text(
        "ncols 4\nnrows 2\nxllcorner 85.0\nyllcorner 27.5\ncellsize 0.1\nNODATA_value -9999\n"
        "10 20 30 40\n-9999 0 5 5\n",
        encoding="ascii",
    )
    (tmp_path / "pop.prj").write_text(CRS.from_epsg(4326).to_wkt(), encoding="ascii")
    pts = raster_population(path, (85.0, 85.4), (27.5, 27.7), countries)
    assert pts.population.sum() == pytest.approx(110.0)


def test_bad_rasters_raise_one_clear_error(tmp_path: Path, countries: CountryIndex) -> None:
    nocrs = tmp_path / "nocrs.asc"
    nocrs.write_text("ncols 2\nnrows 2\nxllcorner 85\nyllcorner 27\ncellsize 0.5\n1 2\n3 4\n", encoding="ascii")
    with pytest.raises(PopulationRasterError, match="no coordinate reference system"):
        raster_population(nocrs, (85.0, 86.0), (27.0, 28.0), countries)
    far = _write(tmp_path / "far.tif", np.ones((5, 5)), from_origin(0.0, 5.0, 1.0, 1.0), CRS.from_epsg(4326))
    with pytest.raises(PopulationRasterError, match="no population over"):
        raster_population(far, (85.0, 86.0), (27.0, 28.0), countries)
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"not a raster")
    with pytest.raises(PopulationRasterError, match="cannot read"):
        raster_population(junk, (85.0, 86.0), (27.0, 28.0), countries)


def test_rural_fallback_keeps_national_totals(places: Places) -> None:
    nat = national_population()
    share = rural_shares(places)
    m = places.country_iso3 == "NPL"
    total = float(places.population[m].sum() + share[m].sum())
    # GeoNames places of 1,000+ hold only part of Nepal; with the rural shares the country is whole
    assert float(places.population[m].sum()) < 0.5 * nat["NPL"]
    assert total == pytest.approx(nat["NPL"], rel=1e-9)
    # equal shares per place within a country
    assert np.ptp(share[m]) == pytest.approx(0.0)
    idx = np.flatnonzero(m)[:5]
    pts = places_with_rural(places, idx)
    assert pts.population == pytest.approx(places.population[idx] + share[idx])
    assert pts.source.startswith("places+rural")


def test_exposure_and_pager_from_a_grid_with_either_population(
    tmp_path: Path, places: Places, countries: CountryIndex
) -> None:
    # a ShakeMap-like grid: intensity VIII inside 27.5-28 N, VI elsewhere, sigma 0.5
    lons = np.arange(84.0, 87.01, 0.05)
    lats = np.arange(29.0, 26.99, -0.05)
    mmi = np.where((lats[:, None] > 27.5) & (lats[:, None] < 28.0), 8.0, 6.0) * np.ones((1, lons.size))
    grid = IntensityGrid(lons, lats, mmi, "ShakeMap 4 test", "1", mmi_sigma=np.full(mmi.shape, 0.5))
    rup = point_rupture(27.7, 85.3, 10.0)
    est = estimate_shaking_on_grid(
        grid, magnitude=7.8, lat=27.7, lon=85.3, depth_km=10.0, rupture=rup, places=places, countries=countries
    )
    assert est.population_source.startswith("places+rural")
    assert est.exposure_by_mmi["VIII"] > 1_000_000  # Kathmandu valley
    assert est.top_places[0].mmi == pytest.approx(8.0)
    assert est.exposure_low_by_country is not None and est.exposure_high_by_country is not None
    assert est.exposure_high_by_country["NPL"]["IX"] > 0  # one sigma higher moves VIII to IX
    assert "NPL" in est.countries_reached and est.grid is grid
    res = pager_estimate(est)
    assert res.level in ("orange", "red")
    assert res.fatalities_low is not None and res.fatalities_high is not None
    assert res.fatalities_low < res.expected_fatalities < res.fatalities_high
    assert any("places+rural" in c for c in res.caveats)
    # the same grid with a raster population: exposure equals the raster's people per intensity
    data = np.full((20, 30), 500.0)
    path = _write(tmp_path / "pop.tif", data, from_origin(84.5, 28.5, 0.1, 0.1), CRS.from_epsg(4326))
    pts = raster_population(path, (84.0, 87.0), (27.0, 29.0), countries)
    est2 = dataclasses.replace(
        estimate_shaking_on_grid(
            grid,
            magnitude=7.8,
            lat=27.7,
            lon=85.3,
            depth_km=10.0,
            rupture=rup,
            places=places,
            countries=countries,
            population=pts,
        )
    )
    assert est2.population_source == "raster: pop.tif"
    assert sum(est2.exposure_by_mmi.values()) == pytest.approx(pts.population.sum(), rel=1e-6)
    assert est2.exposure_by_mmi["VIII"] == pytest.approx(500.0 * 30 * 4, rel=0.1)


def test_vs30_raster_is_read_at_the_nearest_cell(tmp_path: Path) -> None:
    from expedition.science.hazard.shaking import vs30_from_raster

    data = np.array([[200.0, 760.0], [-1.0, 400.0]])
    path = _write(tmp_path / "vs30.tif", data, from_origin(10.0, 20.0, 1.0, 1.0), CRS.from_epsg(4326))
    vs = vs30_from_raster(path, default=300.0)
    got = vs(np.array([19.5, 19.5, 18.5, 18.5, 0.0]), np.array([10.5, 11.5, 10.5, 11.5, 0.0]))
    assert got.tolist() == [200.0, 760.0, 300.0, 400.0, 300.0]  # nodata and outside -> default


@pytest.mark.slow  # builds a fresh context (reference-data caches) and assesses Gorkha three times
def test_assess_with_a_bad_raster_still_judges_the_event(tmp_path: Path) -> None:
    from bench.bench_impact import GORKHA as ev  # the Gorkha 2015 event row the impact benchmark times
    from expedition.decisions.response.assess import assess, load_context
    from expedition.settings import load_settings

    far = _write(tmp_path / "far.tif", np.ones((5, 5)), from_origin(0.0, 5.0, 1.0, 1.0), CRS.from_epsg(4326))
    ctx = load_context(load_settings(home=tmp_path / "home", population_raster=far))
    a = assess(ctx, ev)
    assert a.pager is not None and a.pager.level in ("orange", "red")  # Gorkha 2015: about 9,000 dead
    assert any("Population raster unusable" in c and "no population over" in c for c in a.caveats)
    assert a.shaking.population_source.startswith("places+rural")
    assert a.setting == "active_crust" and a.rupture_orientation == "unknown_strike"
    assert a.intensity_source.startswith("qe-shaking 2.0 BSSA14+WGRW12")
    # an authoritative grid replaces our model: exposure is read from it
    grid = a.shaking.grid
    assert grid is not None
    b = assess(ctx, ev, intensity_grid=grid)
    assert b.intensity_source == grid.source and b.shaking.exposure_by_mmi == a.shaking.exposure_by_mmi
    # the focal mechanism orients the rupture (Gorkha: strike 295, dip 11, thrust)
    c = assess(ctx, ev, nodal_planes=[(295.0, 11.0)], rake=108.0)
    assert c.rupture_orientation == "focal_mechanism"
    # the same mechanism from a stored moment-tensor product gives the same estimate
    from expedition.decisions.response.products import Authoritative

    mt = Authoritative(ev.event_id, mechanism_product_id="urn:mt", mechanism_planes=((295.0, 11.0, 108.0),))
    d = assess(ctx, ev, products=mt)
    assert d.rupture_orientation == "focal_mechanism" and d.intensity_kind == "model"
    assert d.shaking.exposure_by_mmi == c.shaking.exposure_by_mmi and d.intensity_source == c.intensity_source
    # an authoritative grid in the products wins over the mechanism: exposure is read from the grid
    e = assess(ctx, ev, products=Authoritative(ev.event_id, grid=grid, mechanism_planes=mt.mechanism_planes))
    assert e.intensity_from_shakemap and e.shaking.exposure_by_mmi == a.shaking.exposure_by_mmi
