"""FDSN event query semantics over the lake's associated catalog (pure functions, vectorised).

:func:`parse_fdsn_params` turns the query string of ``/fdsnws/event/1/query`` into an
:class:`FdsnQuery` (or :class:`FdsnBadRequest` naming the parameter and what was expected), and
:func:`select_events` applies it to the catalog rows with pyarrow kernels. The catalog rows
(:func:`catalog_rows`) are the lake's ``events`` mapped to
:data:`catalogs.rows.SOLUTION_ROW_SCHEMA` with provider ``QE`` and ``provider_event_id`` = our
``event_id``; ``alias_ids`` holds every agency id of the event (``event_aliases``), so
``eventid=us7000kufc`` finds the event too. ``contributor`` filters on the agency whose solution
is preferred (``preferred_provider``). Standard parameters and short forms per FDSN web service
specifications 1.2, section 3 (event service).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from catalogs.rows import SOLUTION_ROW_SCHEMA
from expedition.errors import ExpeditionError
from warehouse.tables.catalog import SOLUTION_FIELDS

CATALOG_NAME = "QE"
ORDERS = ("time", "time-asc", "magnitude", "magnitude-asc")
_ALIASES = {
    "start": "starttime", "end": "endtime", "minlat": "minlatitude", "maxlat": "maxlatitude",
    "minlon": "minlongitude", "maxlon": "maxlongitude", "lat": "latitude", "lon": "longitude",
    "minmag": "minmagnitude", "maxmag": "maxmagnitude", "magtype": "magnitudetype",
}
_FLOATS = {
    "minlatitude": (-90.0, 90.0), "maxlatitude": (-90.0, 90.0), "minlongitude": (-180.0, 180.0),
    "maxlongitude": (-180.0, 180.0), "latitude": (-90.0, 90.0), "longitude": (-180.0, 180.0),
    "minradius": (0.0, 180.0), "maxradius": (0.0, 180.0), "mindepth": (-10.0, 1000.0),
    "maxdepth": (-10.0, 1000.0), "minmagnitude": (-5.0, 12.0), "maxmagnitude": (-5.0, 12.0),
}
_TIMES = ("starttime", "endtime", "updatedafter")
_TEXTS = ("magnitudetype", "eventtype", "eventid", "catalog", "contributor")
_BOOLS = ("includeallorigins", "includeallmagnitudes", "includearrivals")
KNOWN = {*_FLOATS, *_TIMES, *_TEXTS, *_BOOLS, "limit", "offset", "orderby", "format", "nodata", *_ALIASES}


class FdsnBadRequest(ExpeditionError):
    """A query parameter is unknown or malformed (HTTP 400)."""


class FdsnTooLarge(ExpeditionError):
    """More events match than the service answers at once (HTTP 413)."""


@dataclass(frozen=True)
class FdsnQuery:
    floats: dict[str, float]
    times: dict[str, datetime]
    texts: dict[str, list[str]]
    limit: int | None = None
    offset: int = 1
    orderby: str = "time"
    format: str = "xml"
    nodata: int = 204


def _time(name: str, raw: str) -> datetime:
    text = raw.strip()
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise FdsnBadRequest(
            f"parameter {name}={raw!r}: expected an ISO 8601 time such as 2023-02-06T01:17:34 or 2023-02-06"
        ) from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _float(name: str, raw: str) -> float:
    try:
        v = float(raw)
    except ValueError:
        v = math.nan
    lo, hi = _FLOATS[name]
    if not math.isfinite(v) or not lo <= v <= hi:
        raise FdsnBadRequest(f"parameter {name}={raw!r}: expected a number between {lo:g} and {hi:g}")
    return v


def _int(name: str, raw: str, lo: int, hi: int) -> int:
    try:
        v = int(raw)
    except ValueError:
        raise FdsnBadRequest(f"parameter {name}={raw!r}: expected an integer") from None
    if not lo <= v <= hi:
        raise FdsnBadRequest(f"parameter {name}={raw!r}: expected an integer between {lo} and {hi}")
    return v


def parse_fdsn_params(params: Mapping[str, str]) -> FdsnQuery:
    """Validate and normalise FDSN event query parameters (short forms accepted)."""
    floats: dict[str, float] = {}
    times: dict[str, datetime] = {}
    texts: dict[str, list[str]] = {}
    limit: int | None = None
    offset, orderby, fmt, nodata = 1, "time", "xml", 204
    for key, raw in params.items():
        name = _ALIASES.get(key.lower(), key.lower())
        if name not in KNOWN:
            raise FdsnBadRequest(f"unknown parameter {key!r}; supported: {', '.join(sorted(KNOWN - set(_ALIASES)))}")
        if name in _FLOATS:
            floats[name] = _float(name, raw)
        elif name in _TIMES:
            times[name] = _time(name, raw)
        elif name in _TEXTS:
            values = [v.strip() for v in raw.split(",") if v.strip()]
            if not values:
                raise FdsnBadRequest(f"parameter {name} is empty")
            texts[name] = values
        elif name in _BOOLS:
            if raw.strip().lower() not in ("true", "false"):
                raise FdsnBadRequest(f"parameter {name}={raw!r}: expected true or false")
        elif name == "limit":
            limit = _int(name, raw, 1, 10_000_000)
        elif name == "offset":
            offset = _int(name, raw, 1, 10_000_000)
        elif name == "orderby":
            orderby = raw.strip().lower()
            if orderby not in ORDERS:
                raise FdsnBadRequest(f"parameter orderby={raw!r}: expected one of {', '.join(ORDERS)}")
        elif name == "format":
            fmt = raw.strip().lower()
            if fmt not in ("xml", "text", "quakeml"):
                raise FdsnBadRequest(f"parameter format={raw!r}: expected xml or text")
            fmt = "xml" if fmt == "quakeml" else fmt
        elif name == "nodata":
            nodata = _int(name, raw, 204, 404)
            if nodata not in (204, 404):
                raise FdsnBadRequest(f"parameter nodata={raw!r}: expected 204 or 404")
    if "starttime" in times and "endtime" in times and times["starttime"] > times["endtime"]:
        raise FdsnBadRequest("starttime must not be after endtime")
    if any(k in floats for k in ("minradius", "maxradius")):
        floats.setdefault("latitude", 0.0)
        floats.setdefault("longitude", 0.0)
    return FdsnQuery(floats, times, texts, limit, offset, orderby, fmt, nodata)


def catalog_rows(events: pa.Table, aliases: pa.Table | None, snapshot_id: int) -> pa.Table:
    """The lake's events as solution rows (provider ``QE``), with agency ids in ``alias_ids``."""
    n = events.num_rows
    ids = events.column("event_id")
    if aliases is not None and aliases.num_rows:
        grouped = aliases.group_by("event_id").aggregate([("provider_event_id", "list")])
        idx = pc.index_in(ids, value_set=grouped.column("event_id"))
        alias_lists = pc.take(grouped.column("provider_event_id_list"), idx)
    else:
        alias_lists = pa.nulls(n, pa.list_(pa.string()))
    cols: dict[str, pa.Array | pa.ChunkedArray] = {
        "provider": pa.array([CATALOG_NAME] * n, pa.string()),
        "provider_event_id": ids,
        **{f.name: events.column(f.name) for f in SOLUTION_FIELDS},
        "updated_time_utc": events.column("updated_time_utc"),
        "alias_ids": alias_lists,
        "source_ref": pa.array([f"lake snapshot {snapshot_id}"] * n, pa.string()),
    }
    out = pa.table(cols).cast(SOLUTION_ROW_SCHEMA)
    return out.append_column("preferred_provider", events.column("preferred_provider"))


def _lower_in(col: pa.ChunkedArray, values: list[str]) -> pa.ChunkedArray:
    return pc.is_in(pc.utf8_lower(col), value_set=pa.array([v.lower() for v in values]))


def _mask(rows: pa.Table, q: FdsnQuery) -> np.ndarray:
    n = rows.num_rows
    mask = np.ones(n, dtype=bool)

    def apply(expr: pa.ChunkedArray | pa.Array) -> None:
        nonlocal mask
        mask &= pc.fill_null(expr, False).to_numpy(zero_copy_only=False)

    t, f = q.times, q.floats
    time_col = rows.column("origin_time_utc")
    if "starttime" in t:
        apply(pc.greater_equal(time_col, pa.scalar(t["starttime"], time_col.type)))
    if "endtime" in t:
        apply(pc.less_equal(time_col, pa.scalar(t["endtime"], time_col.type)))
    if "updatedafter" in t:
        upd = rows.column("updated_time_utc")
        apply(pc.greater_equal(upd, pa.scalar(t["updatedafter"], upd.type)))
    for name, col, op in (
        ("minlatitude", "origin_latitude_deg", pc.greater_equal),
        ("maxlatitude", "origin_latitude_deg", pc.less_equal),
        ("mindepth", "origin_depth_km", pc.greater_equal),
        ("maxdepth", "origin_depth_km", pc.less_equal),
        ("minmagnitude", "magnitude_value", pc.greater_equal),
        ("maxmagnitude", "magnitude_value", pc.less_equal),
    ):
        if name in f:
            apply(op(rows.column(col), f[name]))
    lon = rows.column("origin_longitude_deg")
    lo, hi = f.get("minlongitude", -180.0), f.get("maxlongitude", 180.0)
    if lo <= hi:
        apply(pc.and_(pc.greater_equal(lon, lo), pc.less_equal(lon, hi)))
    else:  # a box across the antimeridian
        apply(pc.or_(pc.greater_equal(lon, lo), pc.less_equal(lon, hi)))
    if "latitude" in f:
        dist = _distance_deg(
            f["latitude"], f["longitude"],
            rows.column("origin_latitude_deg").to_numpy(zero_copy_only=False),
            lon.to_numpy(zero_copy_only=False),
        )
        with np.errstate(invalid="ignore"):
            mask &= (dist >= f.get("minradius", 0.0)) & (dist <= f.get("maxradius", 180.0))
    texts = q.texts
    if "magnitudetype" in texts:
        apply(_lower_in(rows.column("magnitude_type"), texts["magnitudetype"]))
    if "eventtype" in texts and "*" not in texts["eventtype"]:
        apply(_lower_in(rows.column("event_type"), texts["eventtype"]))
    if "contributor" in texts:
        apply(_lower_in(rows.column("preferred_provider"), texts["contributor"]))
    if "catalog" in texts and CATALOG_NAME.lower() not in [c.lower() for c in texts["catalog"]]:
        mask[:] = False
    if "eventid" in texts:
        wanted = pa.array(texts["eventid"], pa.string())
        by_id = pc.is_in(rows.column("provider_event_id"), value_set=wanted).to_numpy(zero_copy_only=False)
        aliases = rows.column("alias_ids").combine_chunks()
        hit = np.zeros(n, dtype=bool)
        if len(aliases):
            parents = pc.list_parent_indices(aliases)
            found = pc.filter(parents, pc.is_in(pc.list_flatten(aliases), value_set=wanted))
            hit[found.to_numpy(zero_copy_only=False)] = True
        mask &= by_id | hit
    return mask


def _distance_deg(lat0: float, lon0: float, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Great-circle distance in degrees (haversine formula; spherical Earth, as FDSN radii are)."""
    p0, p = np.radians(lat0), np.radians(lat)
    dlat, dlon = p - p0, np.radians(lon - lon0)
    a = np.sin(dlat / 2) ** 2 + np.cos(p0) * np.cos(p) * np.sin(dlon / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def select_events(rows: pa.Table, q: FdsnQuery, max_events: int) -> pa.Table:
    """The rows matching ``q`` in its order, after offset and limit (solution row schema).

    Raises :class:`FdsnTooLarge` when more than ``max_events`` would be returned."""
    if rows.num_rows == 0:
        return rows.select(SOLUTION_ROW_SCHEMA.names)
    picked = rows.filter(pa.array(_mask(rows, q)))
    key = "origin_time_utc" if q.orderby.startswith("time") else "magnitude_value"
    order = "ascending" if q.orderby.endswith("-asc") else "descending"
    picked = picked.sort_by([(key, order), ("provider_event_id", "ascending")])
    start = q.offset - 1
    count = max(picked.num_rows - start, 0)
    if q.limit is not None:
        count = min(count, q.limit)
    if count > max_events:
        raise FdsnTooLarge(
            f"{count} events match; this service returns at most {max_events} per request "
            "(narrow the query or page with limit and offset)"
        )
    return picked.slice(start, count).select(SOLUTION_ROW_SCHEMA.names)
