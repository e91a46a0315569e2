"""FDSN event query semantics over solution rows: parameter parsing and vectorised selection.

Used by the local FDSN event service (:mod:`catalogs.fdsnws_server`). Parameters follow the FDSN
web service specification for ``fdsnws-event`` 1.2 (long and short names):

``starttime/start``, ``endtime/end`` (inclusive), ``updatedafter`` (strictly after),
``minlatitude/minlat``, ``maxlatitude/maxlat``, ``minlongitude/minlon``, ``maxlongitude/maxlon``
(a box crossing the antimeridian has min > max), ``latitude/lat``, ``longitude/lon``,
``minradius``, ``maxradius`` (degrees), ``mindepth``, ``maxdepth`` (km), ``minmagnitude/minmag``,
``maxmagnitude/maxmag``, ``magnitudetype/magtype``, ``eventtype``, ``eventid`` (the provider id or
one of its alias ids), ``catalog``/``contributor`` (the row's provider), ``limit``, ``offset``
(1-based), ``orderby`` (``time``, ``time-asc``, ``magnitude``, ``magnitude-asc``),
``format`` (``xml``, ``text`` or ``geojson``), ``nodata`` (204 or 404). ``includeallorigins``,
``includeallmagnitudes`` and ``includearrivals`` are accepted and ignored (rows hold one origin and
one magnitude). Anything else is a :class:`QueryError` (HTTP 400).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from catalogs.distance import central_angle_rad
from catalogs.errors import CatalogError
from catalogs.rows import SOLUTION_ROW_SCHEMA

__all__ = ["QueryError", "EventQuery", "EventIndex", "parse_query"]

ALIASES = {
    "start": "starttime", "end": "endtime", "minlat": "minlatitude", "maxlat": "maxlatitude",
    "minlon": "minlongitude", "maxlon": "maxlongitude", "lat": "latitude", "lon": "longitude",
    "minmag": "minmagnitude", "maxmag": "maxmagnitude", "magtype": "magnitudetype",
}
IGNORED = {"includeallorigins", "includeallmagnitudes", "includearrivals"}
ORDERS = ("time", "time-asc", "magnitude", "magnitude-asc")
_NULL = np.iinfo(np.int64).min


class QueryError(CatalogError):
    """A query parameter is unknown or has a bad value (the service answers HTTP 400)."""


@dataclass(frozen=True)
class EventQuery:
    starttime: int | None = None  # microseconds since 1970 UTC
    endtime: int | None = None
    updatedafter: int | None = None
    minlatitude: float | None = None
    maxlatitude: float | None = None
    minlongitude: float | None = None
    maxlongitude: float | None = None
    latitude: float | None = None
    longitude: float | None = None
    minradius: float | None = None
    maxradius: float | None = None
    mindepth: float | None = None
    maxdepth: float | None = None
    minmagnitude: float | None = None
    maxmagnitude: float | None = None
    magnitudetype: str | None = None
    eventtype: str | None = None
    eventid: str | None = None
    catalog: str | None = None
    contributor: str | None = None
    limit: int | None = None
    offset: int = 1
    orderby: str = "time"
    format: str = "xml"
    nodata: int = 204


_TIMES = {"starttime", "endtime", "updatedafter"}
_FLOATS = {f.name for f in fields(EventQuery) if f.type == "float | None"}
_RANGES = {
    "minlatitude": (-90, 90), "maxlatitude": (-90, 90), "latitude": (-90, 90),
    "minlongitude": (-180, 180), "maxlongitude": (-180, 180), "longitude": (-180, 180),
    "minradius": (0, 180), "maxradius": (0, 180),
}


def parse_time(text: str) -> int:
    """ISO 8601 date or date-time (UTC unless zoned) as microseconds since 1970."""
    value = text.strip()
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise QueryError(f"bad time {text!r}: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.ffffff]") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    delta = when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def parse_query(params: Mapping[str, Sequence[str]]) -> EventQuery:
    """An :class:`EventQuery` from URL parameters (as ``urllib.parse.parse_qs`` gives them)."""
    known = {f.name for f in fields(EventQuery)}
    out: dict[str, Any] = {}
    for raw_name, values in params.items():
        name = ALIASES.get(raw_name.lower(), raw_name.lower())
        if name in IGNORED:
            continue
        if name not in known:
            raise QueryError(f"unknown parameter {raw_name!r}")
        if name in out:
            raise QueryError(f"parameter {name!r} given more than once")
        value = values[-1]
        out[name] = _convert(name, value)
    q = EventQuery(**out)
    if q.orderby not in ORDERS:
        raise QueryError(f"orderby must be one of {', '.join(ORDERS)}, got {q.orderby!r}")
    if q.format not in ("xml", "text", "geojson"):
        raise QueryError(f"format must be xml, text or geojson, got {q.format!r}")
    if q.nodata not in (204, 404):
        raise QueryError(f"nodata must be 204 or 404, got {q.nodata}")
    if q.limit is not None and q.limit < 1:
        raise QueryError(f"limit must be a positive integer, got {q.limit}")
    if q.offset < 1:
        raise QueryError(f"offset must be 1 or more, got {q.offset}")
    if q.starttime is not None and q.endtime is not None and q.starttime > q.endtime:
        raise QueryError("starttime is after endtime")
    radial = (q.minradius, q.maxradius)
    if any(v is not None for v in radial) and (q.latitude is None or q.longitude is None):
        raise QueryError("minradius/maxradius need latitude and longitude")
    return q


def _convert(name: str, value: str) -> Any:
    if name in _TIMES:
        return parse_time(value)
    if name in _FLOATS:
        try:
            number = float(value)
        except ValueError as exc:
            raise QueryError(f"{name} must be a number, got {value!r}") from exc
        if not np.isfinite(number):
            raise QueryError(f"{name} must be finite, got {value!r}")
        lo, hi = _RANGES.get(name, (-np.inf, np.inf))
        if not lo <= number <= hi:
            raise QueryError(f"{name} must be within [{lo}, {hi}], got {value!r}")
        return number
    if name in ("limit", "offset", "nodata"):
        try:
            return int(value)
        except ValueError as exc:
            raise QueryError(f"{name} must be an integer, got {value!r}") from exc
    return value.strip()


class EventIndex:
    """Solution rows with numpy columns for fast selection."""

    def __init__(self, rows: pa.Table) -> None:
        rows = rows.select(SOLUTION_ROW_SCHEMA.names).cast(SOLUTION_ROW_SCHEMA).combine_chunks()
        self.rows = rows

        def ints(name: str) -> np.ndarray:
            return np.asarray(pc.fill_null(pc.cast(rows.column(name), pa.int64()), _NULL).to_numpy(zero_copy_only=False))

        def floats(name: str) -> np.ndarray:
            return np.asarray(rows.column(name).to_numpy(zero_copy_only=False), dtype=np.float64)

        self.time = ints("origin_time_utc")
        self.updated = ints("updated_time_utc")
        self.lat, self.lon = floats("origin_latitude_deg"), floats("origin_longitude_deg")
        self.depth, self.mag = floats("origin_depth_km"), floats("magnitude_value")

    @property
    def providers(self) -> list[str]:
        return sorted(set(self.rows.column("provider").to_pylist()))

    def _text_eq(self, name: str, value: str) -> np.ndarray:
        col = pc.utf8_lower(pc.fill_null(self.rows.column(name), ""))
        return np.asarray(pc.equal(col, value.lower()).to_numpy(zero_copy_only=False), dtype=bool)

    def select(self, q: EventQuery) -> np.ndarray:  # noqa: C901
        """Indices of the matching rows in the requested order (offset and limit not applied)."""
        keep = np.ones(self.rows.num_rows, dtype=bool)
        with np.errstate(invalid="ignore"):
            if q.starttime is not None:
                keep &= (self.time >= q.starttime) & (self.time != _NULL)
            if q.endtime is not None:
                keep &= (self.time <= q.endtime) & (self.time != _NULL)
            if q.updatedafter is not None:
                keep &= (self.updated > q.updatedafter) & (self.updated != _NULL)
            for lo, hi, arr in ((q.minlatitude, q.maxlatitude, self.lat), (q.mindepth, q.maxdepth, self.depth),
                                (q.minmagnitude, q.maxmagnitude, self.mag)):
                if lo is not None:
                    keep &= arr >= lo
                if hi is not None:
                    keep &= arr <= hi
            if q.minlongitude is not None or q.maxlongitude is not None:
                lo_lon = -180.0 if q.minlongitude is None else q.minlongitude
                hi_lon = 180.0 if q.maxlongitude is None else q.maxlongitude
                if lo_lon <= hi_lon:
                    keep &= (self.lon >= lo_lon) & (self.lon <= hi_lon)
                else:  # the box crosses the antimeridian
                    keep &= (self.lon >= lo_lon) | (self.lon <= hi_lon)
            if q.latitude is not None and q.longitude is not None and (q.minradius is not None or q.maxradius is not None):
                d = np.degrees(central_angle_rad(q.latitude, q.longitude, self.lat, self.lon))
                keep &= (d >= (q.minradius or 0.0)) & (d <= (180.0 if q.maxradius is None else q.maxradius))
        if q.magnitudetype:
            keep &= self._text_eq("magnitude_type", q.magnitudetype)
        if q.eventtype:
            allowed = [t.strip().lower() for t in q.eventtype.split(",") if t.strip()]
            types = pc.utf8_lower(pc.fill_null(self.rows.column("event_type"), ""))
            keep &= np.asarray(pc.is_in(types, value_set=pa.array(allowed)).to_numpy(zero_copy_only=False), dtype=bool)
        for value in (q.catalog, q.contributor):
            if value:
                keep &= self._text_eq("provider", value)
        if q.eventid:
            keep &= self._id_match([i.strip() for i in q.eventid.split(",") if i.strip()])
        idx = np.flatnonzero(keep)
        if q.orderby.startswith("time"):
            key = self.time[idx]
        else:
            key = np.nan_to_num(self.mag[idx], nan=-np.inf)
        order = np.lexsort([self.time[idx], key])  # ties broken by time
        if not q.orderby.endswith("-asc"):
            order = order[::-1]
        return idx[order]

    def _id_match(self, ids: list[str]) -> np.ndarray:
        wanted = pa.array(ids, pa.string())
        primary = pc.is_in(self.rows.column("provider_event_id"), value_set=wanted)
        aliases = self.rows.column("alias_ids").combine_chunks()
        parents = np.asarray(pc.list_parent_indices(aliases).to_numpy(zero_copy_only=False))
        flat_hit = np.asarray(pc.is_in(pc.list_flatten(aliases), value_set=wanted).to_numpy(zero_copy_only=False), dtype=bool)
        out = np.asarray(primary.to_numpy(zero_copy_only=False), dtype=bool).copy()
        out[parents[flat_hit]] = True
        return out

    def take(self, idx: np.ndarray) -> pa.Table:
        return self.rows.take(pa.array(idx, pa.int64()))
