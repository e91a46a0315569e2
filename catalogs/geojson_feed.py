"""USGS real-time GeoJSON summary feed (``summary/*.geojson``) and ComCat GeoJSON event detail.

A ``FeatureCollection`` of point features (a single ``Feature``, as the detail endpoint returns,
is accepted too). Per feature:

* ``provider_event_id`` = the feature ``id`` (``us7000abcd``), else ``net`` + ``code``;
* ``alias_ids`` = the other ids in ``properties.ids`` (``,us7000abcd,at00xyz,`` -> ``['at00xyz']``);
* time = ``properties.time`` and ``updated_time_utc`` = ``properties.updated`` (milliseconds since the
  epoch, UTC); ``geometry.coordinates`` = ``[longitude, latitude, depth_km]``;
* ``magnitude_value``/``magnitude_type`` = ``mag``/``magType``; ``region_name`` = ``place``;
  ``review_status`` = ``status`` lower-cased; ``event_type`` = ``type`` (QuakeML vocabulary);
* ``origin_agency`` and ``magnitude_author`` = ``net``: the summary names one preferred source
  network for the event and has no separate location/magnitude source;
* ``provider`` = ``USGS`` unless the caller says otherwise (ComCat ids are USGS ids);
* ``source_ref`` = ``<file name>#<feature number>`` (1-based).
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any, Literal, overload

import pyarrow as pa

from catalogs.errors import ParseError
from catalogs.parse_common import (
    ParseProblem,
    SourceLike,
    assemble,
    check_rows,
    finish,
    read_all,
    source_label,
    utc_from_us,
)
from catalogs.providers_map import normalize_event_type, normalize_status

__all__ = ["parse_geojson_feed"]

log = logging.getLogger(__name__)

COLUMN_NAMES = {
    "origin_time_utc": "properties.time",
    "origin_latitude_deg": "geometry.coordinates[1]",
    "origin_longitude_deg": "geometry.coordinates[0]",
    "origin_depth_km": "geometry.coordinates[2]",
    "magnitude_value": "properties.mag",
}


def _load(data: bytes, label: str) -> Any:
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text at byte {exc.start}", label) from exc
    except json.JSONDecodeError as exc:
        raise ParseError(f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", label) from exc
    except RecursionError as exc:
        raise ParseError("malformed JSON: nested too deeply", label) from exc


def _features(doc: Any, label: str) -> list[Any]:
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection" and isinstance(doc.get("features"), list):
        return list(doc["features"])
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        return [doc]
    raise ParseError("not a GeoJSON feed: expected a FeatureCollection (or a Feature) of earthquakes", label)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


class _Bad(Exception):
    """One bad value in a feature (already recorded as a problem)."""


class _Reader:
    def __init__(self, label: str) -> None:
        self.label = label
        self.problems: list[ParseProblem] = []

    def bad(self, number: int, column: str, value: Any, expected: str) -> _Bad:
        self.problems.append(ParseProblem(self.label, number, column, repr(value), expected))
        return _Bad()

    def number(self, value: Any, number: int, column: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            if isinstance(value, str):
                try:
                    return float(value)
                except ValueError:
                    pass
            raise self.bad(number, column, value, "a number")
        return float(value)

    def millis(self, value: Any, number: int, column: str) -> int | None:
        v = self.number(value, number, column)
        if v is None:
            return None
        if not math.isfinite(v) or abs(v) > 4e14:  # +-12,000 years in ms: beyond is not a time
            raise self.bad(number, column, value, "milliseconds since 1970-01-01 UTC")
        return int(round(v * 1000))

    def feature(self, f: Any, number: int) -> dict[str, Any]:
        if not isinstance(f, dict):
            raise self.bad(number, "feature", f, "a GeoJSON Feature object")
        props = f.get("properties")
        if not isinstance(props, dict):
            raise self.bad(number, "properties", props, "an object of event properties")
        geom = f.get("geometry")
        coords = geom.get("coordinates") if isinstance(geom, dict) else None
        if coords is None:
            coords = []
        if not isinstance(coords, list):
            raise self.bad(number, "geometry.coordinates", coords, "[longitude, latitude, depth]")
        lon, lat, depth = (list(coords) + [None, None, None])[:3]
        event_id = _text(f.get("id"))
        if event_id is None and _text(props.get("net")) and _text(props.get("code")):
            event_id = f"{_text(props.get('net'))}{_text(props.get('code'))}"
        if event_id is None:
            raise self.bad(number, "id", f.get("id"), "the ComCat event id")
        ids = props.get("ids")
        aliases = (
            [i.strip() for i in ids.split(",") if i.strip() and i.strip() != event_id] if isinstance(ids, str) else []
        )
        net = _text(props.get("net"))
        return {
            "provider_event_id": event_id,
            "origin_time_utc": self.millis(props.get("time"), number, "properties.time"),
            "origin_latitude_deg": self.number(lat, number, "geometry.coordinates[1]"),
            "origin_longitude_deg": self.number(lon, number, "geometry.coordinates[0]"),
            "origin_depth_km": self.number(depth, number, "geometry.coordinates[2]"),
            "magnitude_value": self.number(props.get("mag"), number, "properties.mag"),
            "magnitude_type": _text(props.get("magType")),
            "magnitude_author": net,
            "origin_agency": net,
            "review_status": normalize_status(_text(props.get("status"))),
            "event_type": normalize_event_type(_text(props.get("type"))),
            "region_name": _text(props.get("place")),
            "updated_time_utc": self.millis(props.get("updated"), number, "properties.updated"),
            "alias_ids": aliases,
        }


@overload
def parse_geojson_feed(
    source: SourceLike, provider: str = "USGS", source_name: str | None = None, *, strict: Literal[True] = True
) -> pa.Table: ...
@overload
def parse_geojson_feed(
    source: SourceLike, provider: str = "USGS", source_name: str | None = None, *, strict: Literal[False]
) -> tuple[pa.Table, list[ParseProblem]]: ...
def parse_geojson_feed(
    source: SourceLike, provider: str = "USGS", source_name: str | None = None, *, strict: bool = True
) -> pa.Table | tuple[pa.Table, list[ParseProblem]]:
    """Read a USGS GeoJSON summary feed (path, bytes or binary stream) into solution rows.

    Example: ``parse_geojson_feed("all_day.geojson")``.
    Raises :class:`ParseError` naming file, feature number and property (``strict=False``: rows and problems).
    """
    label = source_label(source, source_name)
    doc = _load(read_all(source, label), label)
    reader = _Reader(label)
    rows: list[dict[str, Any]] = []
    numbers: list[int] = []
    for number, f in enumerate(_features(doc, label), start=1):
        try:
            rows.append(reader.feature(f, number))
        except _Bad:
            if strict:
                raise reader.problems[-1].to_error() from None
            continue
        numbers.append(number)
    columns: dict[str, Any] = {k: [r[k] for r in rows] for k in (rows[0] if rows else _EMPTY)}
    columns["origin_time_utc"] = utc_from_us(columns["origin_time_utc"])
    columns["updated_time_utc"] = utc_from_us(columns["updated_time_utc"])
    columns["provider"] = [provider or "USGS"] * len(rows)
    columns["source_ref"] = [f"{label}#{k}" for k in numbers]
    table, problems = check_rows(assemble(columns), label, COLUMN_NAMES, numbers, reader.problems)
    return finish(table, problems, strict)


_EMPTY = (
    "provider_event_id origin_time_utc origin_latitude_deg origin_longitude_deg origin_depth_km magnitude_value "
    "magnitude_type magnitude_author origin_agency review_status event_type region_name updated_time_utc alias_ids"
).split()
