"""Exports: GeoParquet 1.1.0 that GeoPandas opens (geometry, CRS, bbox), GeoJSON that GDAL (pyogrio) opens, CSV."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from expedition.surveys.context import context_for
from expedition.surveys.export import export_survey
from expedition.surveys.ingest import ingest_file
from tests.survey_support import (
    DATA,
    seed_expedition,
)


@pytest.fixture(scope="module")
def surveyed(survey_lake: Any) -> tuple[Any, str]:
    lake = survey_lake
    exp = seed_expedition(lake)
    ctx = context_for(lake, exp)
    for name in ("buildings_odk_export.csv", "ground_failure.geojson"):
        assert ingest_file(lake, DATA / name, ctx).errors == 0
    return lake, exp


def _read_geo_parquet(path: Path) -> Any:
    import geopandas

    with warnings.catch_warnings():  # geopandas/shapely deprecations are not ours to fix
        warnings.simplefilter("ignore", DeprecationWarning)
        return geopandas.read_parquet(path)


@pytest.mark.slow
def test_geoparquet_opens_in_geopandas_with_geometry_crs_and_bbox(surveyed: tuple[Any, str], tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    lake, exp = surveyed
    res = export_survey(lake, exp, "buildings", "parquet", tmp_path / "b.parquet")
    with open(DATA / "buildings_odk_export.csv", newline="") as fh:
        src = {r["building/building_id"]: r for r in csv.DictReader(fh)}
    assert res.rows == len(src)
    geo = json.loads(pq.read_schema(res.path).metadata[b"geo"])
    col = geo["columns"]["site_geometry"]
    assert (geo["version"], geo["primary_column"], col["encoding"], col["geometry_types"]) == (
        "1.1.0", "site_geometry", "WKB", ["Point"])
    lats = [float(r["_location_latitude"]) for r in src.values()]
    lons = [float(r["_location_longitude"]) for r in src.values()]
    assert col["bbox"] == [min(lons), min(lats), max(lons), max(lats)]
    gdf = _read_geo_parquet(res.path)
    assert gdf.geometry.name == "site_geometry"
    assert gdf.crs is not None and gdf.crs.equals("OGC:CRS84")
    for _, row in gdf.iterrows():
        s = src[row["building_id"]]
        point = row["site_geometry"]
        assert (point.x, point.y) == (float(s["_location_longitude"]), float(s["_location_latitude"]))
        assert row["damage_ems98_grade"] == int(s["building/damage_grade"])


def test_lines_geojson_via_gdal_and_csv_with_wkt(surveyed: tuple[Any, str], tmp_path: Path) -> None:
    import pyogrio

    lake, exp = surveyed
    src = json.loads((DATA / "ground_failure.geojson").read_text())["features"]
    gj = export_survey(lake, exp, "ground_failure", "geojson", tmp_path / "gf.geojson")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        df = pyogrio.read_dataframe(gj.path)
    assert sorted(df["failure_id"]) == sorted(f["properties"]["failure_id"] for f in src)
    by_id = {f["properties"]["failure_id"]: f["geometry"] for f in src}
    for _, row in df.iterrows():
        expected = by_id[row["failure_id"]]
        assert row.geometry.geom_type == expected["type"]
        coords = [list(c) for c in row.geometry.coords]
        assert coords == ([expected["coordinates"]] if expected["type"] == "Point" else expected["coordinates"])
    parquet = export_survey(lake, exp, "ground_failure", "parquet", tmp_path / "gf.parquet")
    gdf = _read_geo_parquet(parquet.path)
    assert sorted(gdf.geometry.geom_type) == sorted(f["geometry"]["type"] for f in src)
    out = export_survey(lake, exp, "ground_failure", "csv", tmp_path / "gf.csv")
    with open(out.path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["failure_id"]: r["site_geometry_wkt"].split(" ")[0] for r in rows} == {
        k: v["type"].upper() for k, v in by_id.items()}
    assert all(r["surveyed_time_utc"].endswith("Z") for r in rows)
