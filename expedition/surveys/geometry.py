"""Survey geometry on whole arrays: WKB points from coordinates, ODK geotraces, GeoJSON shapes.

Everything is EPSG:4326 with longitude first (GeoJSON and WKB order); ODK geopoints and geotraces
are written latitude first (``"lat lon alt accuracy"``, vertices separated by ``;``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Shapes", "distance_km", "maybe_beyond_km", "parse_geopoints", "parse_geotraces", "point_wkb", "shapes_of"]

_POINT = np.dtype([("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])  # packed: 21 bytes
_LATLON = r"^\s*(?P<lat>[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s+(?P<lon>[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)(?:\s+\S+)*\s*$"


def _np(a: pa.Array | pa.ChunkedArray) -> np.ndarray:
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    return np.asarray(a.to_numpy(zero_copy_only=False), dtype=np.float64)


def point_wkb(lon: pa.Array | pa.ChunkedArray, lat: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Little-endian WKB points, null where either coordinate is null (no per-row Python).

    The records and offsets are written straight into buffers of Arrow's memory pool (numpy only
    views them), so a million points cost no fresh process memory beyond the result."""
    x = _np(pc.fill_null(lon, np.nan))
    y = _np(pc.fill_null(lat, np.nan))
    n = len(x)
    data = pa.allocate_buffer(n * _POINT.itemsize)
    rec = np.frombuffer(data, dtype=_POINT)
    rec["order"] = 1
    rec["type"] = 1
    rec["x"] = x
    rec["y"] = y
    offsets = pa.allocate_buffer((n + 1) * 4)
    off = np.frombuffer(offsets, dtype=np.int32)
    off[:] = np.arange(0, (n + 1) * _POINT.itemsize, _POINT.itemsize, dtype=np.int32)
    valid = pa.array(~(np.isnan(x) | np.isnan(y)))
    validity = valid.buffers()[1] if valid.false_count else None
    return pa.Array.from_buffers(pa.binary(), n, [validity, offsets, data], null_count=valid.false_count)


def parse_geopoints(text: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.Array, pa.Array]:
    """ODK geopoint strings ``"lat lon [alt [accuracy]]"`` -> (lat, lon, unreadable mask)."""
    parts = pc.extract_regex(pc.fill_null(text, ""), _LATLON)
    lat = pc.cast(pc.struct_field(parts, "lat"), pa.float64(), safe=False)
    lon = pc.cast(pc.struct_field(parts, "lon"), pa.float64(), safe=False)
    bad = pc.and_(pc.is_valid(text), pc.is_null(parts))
    return lat, lon, bad


@dataclass
class Shapes:
    """WKB shapes with a representative point (points: the point; lines: the first vertex)."""

    wkb: pa.Array
    lat: pa.Array
    lon: pa.Array
    bad: pa.Array  # shape present but unusable (wrong type, too few vertices, coordinates out of range)
    why: str


def parse_geotraces(text: pa.Array | pa.ChunkedArray) -> Shapes:
    """ODK geotrace strings (``"lat lon alt acc;lat lon alt acc;..."``) -> WKB LineStrings."""
    import shapely

    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    n = len(text)
    lists = pc.split_pattern(pc.fill_null(text, ""), ";")
    parents = np.asarray(pc.list_parent_indices(lists).to_numpy(), dtype=np.int64)
    flat = pc.list_flatten(lists)
    keep = np.asarray(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(flat)), 0).to_numpy(zero_copy_only=False))
    parents, flat = parents[keep], flat.filter(pa.array(keep))
    lat, lon, _ = parse_geopoints(flat)
    y, x = _np(pc.fill_null(lat, np.nan)), _np(pc.fill_null(lon, np.nan))
    ok = ~np.isnan(x) & ~np.isnan(y) & (np.abs(y) <= 90) & (np.abs(x) <= 180)
    count = np.bincount(parents, minlength=n)
    broken = np.bincount(parents[~ok], minlength=n) > 0
    good_rows = (count >= 2) & ~broken
    sel = good_rows[parents]
    geoms = np.full(n, None, dtype=object)
    if sel.any():
        rows, dense = np.unique(parents[sel], return_inverse=True)  # shapely wants indices 0..k-1
        geoms[rows] = shapely.linestrings(np.column_stack([x[sel], y[sel]]), indices=dense)
    present = np.asarray(pc.is_valid(text).to_numpy(zero_copy_only=False))
    first = np.full(n, -1, dtype=np.int64)
    first[parents[::-1]] = np.arange(len(parents))[::-1]  # index of each row's first vertex
    fy = np.where(good_rows, y[np.maximum(first, 0)] if len(y) else np.nan, np.nan)
    fx = np.where(good_rows, x[np.maximum(first, 0)] if len(x) else np.nan, np.nan)
    return Shapes(
        wkb=pa.array(shapely.to_wkb(geoms), pa.binary()),
        lat=pa.array(fy, mask=~good_rows),
        lon=pa.array(fx, mask=~good_rows),
        bad=pa.array(present & ~good_rows),
        why="a geotrace of at least 2 vertices 'lat lon alt acc;lat lon alt acc', latitudes within ±90, longitudes within ±180",
    )


def shapes_of(wkb: pa.Array, lines_allowed: bool) -> Shapes:
    """Check WKB shapes (from GeoJSON): Points (and LineStrings when allowed) with valid coordinates."""
    import shapely

    geoms = shapely.from_wkb(np.asarray(wkb.to_numpy(zero_copy_only=False), dtype=object))
    type_id = shapely.get_type_id(geoms)
    allowed = (type_id == 0) | ((type_id == 1) if lines_allowed else False)
    bounds = shapely.bounds(geoms)
    in_range = (np.abs(bounds[:, 1]) <= 90) & (np.abs(bounds[:, 3]) <= 90) & (np.abs(bounds[:, 0]) <= 180) & (
        np.abs(bounds[:, 2]) <= 180)
    present = type_id >= 0
    good = present & allowed & in_range & ~shapely.is_empty(geoms)
    first = shapely.get_point(geoms, 0)
    rep = np.where(type_id == 0, geoms, first)
    x, y = shapely.get_x(rep), shapely.get_y(rep)
    kinds = "Point or LineString" if lines_allowed else "Point"
    return Shapes(
        wkb=pc.if_else(pa.array(good), wkb, pa.scalar(None, pa.binary())),
        lat=pa.array(y, mask=~good),
        lon=pa.array(x, mask=~good),
        bad=pa.array(present & ~good),
        why=f"a GeoJSON {kinds} with longitudes within ±180 and latitudes within ±90",
    )


def distance_km(lat: pa.Array | pa.ChunkedArray, lon: pa.Array | pa.ChunkedArray, lat0: float,
                lon0: float) -> pa.Array | pa.ChunkedArray:
    """Great-circle (haversine) distance in km from (lat0, lon0), null where a coordinate is null.

    The haversine formula (Sinnott 1984, Sky & Telescope 68(2):159) on a sphere of the IUGG mean
    radius, as :func:`expedition.science.geo.distance.haversine_km`, evaluated with Arrow kernels so the
    temporaries come from Arrow's memory pool."""
    from expedition.science.geo.distance import EARTH_RADIUS_KM

    rad = math.pi / 180.0
    phi = pc.multiply(lat, rad)
    half_dphi = pc.multiply(pc.subtract(phi, lat0 * rad), 0.5)
    half_dlmb = pc.multiply(pc.subtract(pc.multiply(lon, rad), lon0 * rad), 0.5)
    s1, s2 = pc.sin(half_dphi), pc.sin(half_dlmb)
    a = pc.add(pc.multiply(s1, s1), pc.multiply(pc.multiply(pc.cos(phi), math.cos(lat0 * rad)), pc.multiply(s2, s2)))
    a = pc.max_element_wise(pc.min_element_wise(a, 1.0, skip_nulls=False), 0.0, skip_nulls=False)
    return pc.multiply(pc.asin(pc.sqrt(a)), 2.0 * EARTH_RADIUS_KM)


def maybe_beyond_km(lat: pa.Array | pa.ChunkedArray, lon: pa.Array | pa.ChunkedArray, lat0: float, lon0: float,
                    radius_km: float) -> np.ndarray:
    """True where a point *may* lie more than ``radius_km`` from (lat0, lon0) by :func:`distance_km`;
    every point it leaves out is certainly within (false where a coordinate is null).

    A cheap bound instead of the trigonometry for every row: the haversine term
    ``a = sin²(Δφ/2) + cos φ cos φ0 sin²(Δλ/2)`` is at most ``(Δφ/2)² + cos φ0 (Δλ/2)²`` (as
    ``sin² x <= x²`` and ``0 <= cos φ <= 1``), and the distance exceeds the radius only when ``a``
    exceeds ``sin²(radius / 2R)``. The bound is compared with a threshold lowered by a relative 1e-6,
    far more than the rounding of either side, so the exact distances of the rows kept decide alone."""
    from expedition.science.geo.distance import EARTH_RADIUS_KM

    half_angle = radius_km / (2.0 * EARTH_RADIUS_KM)
    y, x = _np(lat), _np(lon)
    if not half_angle < math.pi / 2:  # a radius past the antipode: no cheap bound, every point is a candidate
        return ~(np.isnan(y) | np.isnan(x))
    threshold = math.sin(half_angle) ** 2 * (1.0 - 1e-6)
    rad = math.pi / 180.0
    dphi = np.subtract(y, lat0)
    dphi *= 0.5 * rad
    np.square(dphi, out=dphi)
    dlmb = np.subtract(x, lon0)
    dlmb *= 0.5 * rad
    np.square(dlmb, out=dlmb)
    dlmb *= max(math.cos(lat0 * rad), 0.0)
    dphi += dlmb
    return np.greater(dphi, threshold)  # NaN (a null coordinate) compares false
