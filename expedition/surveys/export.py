"""Export an expedition's survey observations: GeoParquet, GeoJSON or CSV.

* GeoParquet 1.1.0: the geometry column ``site_geometry`` as WKB with the ``geo`` file metadata
  (``primary_column``, ``encoding``, ``geometry_types``, ``bbox``, ``crs`` = OGC:CRS84 as PROJJSON),
  so GeoPandas, QGIS and DuckDB open it as a layer;
* GeoJSON (RFC 7946): one Feature per observation, longitude/latitude, properties = the columns;
* CSV: the columns, the geometry as WKT (``site_geometry_wkt``).

Files are written to a temporary name and renamed into place. Rows are read from the kind's view
(``survey_buildings``...), so only landed observations are exported.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from expedition.surveys.errors import SurveyError
from expedition.surveys.kinds import KindSpec, kind_spec
from expedition.surveys.parse import private_duckdb
from warehouse.atomic import write_bytes_atomic
from warehouse.lake import Lake

__all__ = ["CRS84_PROJJSON", "ExportResult", "export_survey", "geo_metadata", "read_observations",
           "write_csv", "write_geojson", "write_geoparquet"]

ExportFormat = Literal["parquet", "geojson", "csv"]
GEOMETRY = "site_geometry"
_TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
               6: "MultiPolygon", 7: "GeometryCollection"}
#: OGC:CRS84 (WGS 84, longitude then latitude) as PROJJSON, the CRS of every survey geometry.
CRS84_PROJJSON = {
    "$schema": "https://proj.org/schemas/v0.7/projjson.schema.json",
    "type": "GeographicCRS",
    "name": "WGS 84 (CRS84)",
    "datum": {
        "type": "GeodeticReferenceFrame",
        "name": "World Geodetic System 1984",
        "ellipsoid": {"name": "WGS 84", "semi_major_axis": 6378137, "inverse_flattening": 298.257223563},
    },
    "coordinate_system": {
        "subtype": "ellipsoidal",
        "axis": [
            {"name": "Geodetic longitude", "abbreviation": "Lon", "direction": "east", "unit": "degree"},
            {"name": "Geodetic latitude", "abbreviation": "Lat", "direction": "north", "unit": "degree"},
        ],
    },
    "id": {"authority": "OGC", "code": "CRS84"},
}


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int
    format: str


def read_observations(lake: Lake, expedition_id: str, kind: KindSpec) -> pa.Table:
    """The landed observations of one kind and expedition, geometry as WKB, in file and row order."""
    cols = ", ".join(f'ST_AsWKB("{c}") AS "{c}"' if c in kind.table.geometry_columns else f'"{c}"'
                     for c in kind.table.columns)
    con = lake.connect(read_only=True)
    try:
        table = con.execute(
            f'SELECT {cols} FROM "{kind.view}" WHERE expedition_id = $expedition_id '
            "ORDER BY ingested_time_utc, raw_sha256, raw_row_number",
            {"expedition_id": expedition_id},
        ).to_arrow_table()
    except duckdb.Error as exc:
        raise SurveyError(f"cannot read {kind.view}: {exc}") from exc
    finally:
        con.close()
    plain = [pa.field(f.name, f.type) for f in table.schema]  # drop extension/field metadata
    return table.cast(pa.schema(plain))


def _atomic_write(path: Path, data: bytes) -> None:
    write_bytes_atomic(path, data)


def _geoms(table: pa.Table) -> np.ndarray:
    import shapely

    return np.asarray(shapely.from_wkb(np.asarray(table[GEOMETRY].to_numpy(zero_copy_only=False), dtype=object)))


def geo_metadata(table: pa.Table) -> dict[str, object]:
    """GeoParquet 1.1.0 ``geo`` metadata for ``table``'s ``site_geometry`` column."""
    import shapely

    geoms = _geoms(table)
    ids = shapely.get_type_id(geoms)
    types = sorted({_TYPE_NAMES[int(i)] for i in np.unique(ids[ids >= 0])})
    column: dict[str, object] = {"encoding": "WKB", "geometry_types": types, "crs": CRS84_PROJJSON,
                                 "edges": "planar"}
    present = ids >= 0
    if present.any():
        b = shapely.bounds(geoms[present])
        column["bbox"] = [float(np.min(b[:, 0])), float(np.min(b[:, 1])), float(np.max(b[:, 2])), float(np.max(b[:, 3]))]
    return {"version": "1.1.0", "primary_column": GEOMETRY, "columns": {GEOMETRY: column}}


def write_geoparquet(table: pa.Table, path: Path) -> Path:
    """``table`` as GeoParquet 1.1.0 at ``path`` (atomic)."""
    import pyarrow.parquet as pq

    meta = dict(table.schema.metadata or {})
    meta[b"geo"] = json.dumps(geo_metadata(table)).encode()
    buf = io.BytesIO()
    pq.write_table(table.replace_schema_metadata(meta), buf, compression="zstd")
    _atomic_write(path, buf.getvalue())
    return path


def _iso_times(table: pa.Table) -> pa.Table:
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type):
            seconds = table[f.name].cast(pa.timestamp("s", tz="UTC"), safe=False)  # %S would print microseconds
            table = table.set_column(i, f.name, pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%SZ"))
    return table


def write_geojson(table: pa.Table, path: Path) -> Path:
    """``table`` as a GeoJSON FeatureCollection at ``path`` (atomic; one DuckDB ``to_json`` for the properties)."""
    import shapely

    geoms = _geoms(table)
    geo_json = pa.array(np.where(shapely.get_type_id(geoms) >= 0, shapely.to_geojson(geoms), "null"), pa.string())
    props = _iso_times(table.drop([GEOMETRY]))
    con = private_duckdb()
    try:
        con.register("p", props)
        prop_json = con.execute("SELECT to_json(p) AS j FROM p").to_arrow_table()["j"].combine_chunks()
    finally:
        con.close()
    features = pc.binary_join_element_wise('{"type": "Feature", "geometry": ', geo_json, ', "properties": ',
                                           prop_json, "}", "")
    body = ",\n".join(features.to_pylist())
    text = '{"type": "FeatureCollection", "features": [\n' + body + "\n]}\n"
    _atomic_write(path, text.encode("utf-8"))
    return path


def write_csv(table: pa.Table, path: Path) -> Path:
    """``table`` as CSV at ``path`` (atomic), the geometry as WKT."""
    import pyarrow.csv as pacsv
    import shapely

    geoms = _geoms(table)
    wkt = pa.array(shapely.to_wkt(geoms, rounding_precision=-1), pa.string())
    out = _iso_times(table.drop([GEOMETRY])).append_column("site_geometry_wkt", wkt)
    buf = io.BytesIO()
    pacsv.write_csv(out, buf)
    _atomic_write(path, buf.getvalue())
    return path


def export_survey(lake: Lake, expedition_id: str, kind: str, fmt: ExportFormat = "parquet",
                  out: Path | str | None = None) -> ExportResult:
    """Export ``kind`` observations of ``expedition_id`` to ``out`` (default ``<id>_<kind>.<ext>`` here)."""
    spec = kind_spec(kind)
    ext = {"parquet": "parquet", "geojson": "geojson", "csv": "csv"}.get(fmt)
    if ext is None:
        raise SurveyError(f"unknown export format {fmt!r}; use parquet, geojson or csv")
    path = Path(out) if out is not None else Path(f"{expedition_id}_{spec.name}.{ext}")
    table = read_observations(lake, expedition_id, spec)
    writer = {"parquet": write_geoparquet, "geojson": write_geojson, "csv": write_csv}[fmt]
    writer(table, path)
    return ExportResult(path, table.num_rows, fmt)
