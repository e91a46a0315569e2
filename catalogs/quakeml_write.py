"""Write solution rows as QuakeML 1.2 BED or FDSN event text (vectorised, for thousands of rows).

Both writers take a table with :data:`catalogs.rows.SOLUTION_ROW_SCHEMA` and build every row with
Arrow string kernels (no per-row Python), so an FDSN event service can answer large queries fast.
Reading the output back with :func:`catalogs.quakeml.parse_quakeml` /
:func:`catalogs.fdsntext.parse_fdsn_text` (or with ObsPy) gives the same values.

QuakeML mapping (one ``<event>`` per row, one origin, at most one magnitude):

* event ``publicID`` = ``smi:local/qe/event?eventid=<provider_event_id>`` (origin and magnitude
  likewise), so the reader's ``eventid=`` rule gives the id back; characters outside the QuakeML
  ResourceIdentifier alphabet are percent-encoded (and decoded by the reader);
* event ``creationInfo/agencyID`` = ``provider`` and ``creationTime`` = ``updated_time_utc``;
* ``description`` of type ``region name`` = ``region_name``; ``type`` = ``event_type`` when it is in
  the QuakeML vocabulary (other values are left out: ObsPy drops events with unknown types);
* origin ``time``/``latitude``/``longitude``, ``depth`` in metres, ``creationInfo/agencyID`` =
  ``origin_agency``; ``review_status`` ``automatic``/``manual`` is written as ``evaluationMode``,
  ``preliminary``/``confirmed``/``reviewed``/``final``/``rejected`` as ``evaluationStatus``;
* magnitude ``mag``/``type``, ``creationInfo/agencyID`` = ``magnitude_author``; omitted when the
  row has no magnitude value. ``alias_ids`` and ``source_ref`` are not carried.

FDSN text mapping: ``EventID`` = ``provider_event_id``, ``Author`` = ``origin_agency``,
``Catalog`` = ``Contributor`` = ``provider``, ``ContributorID`` = ``provider_event_id``, ``MagType``,
``Magnitude``, ``MagAuthor`` = ``magnitude_author``, ``EventLocationName`` = ``region_name`` and
(``with_event_type``) ``EventType``. ``|`` and line breaks inside text become spaces. The format
requires time, latitude and longitude: rows lacking one are left out (and logged).

Depth round-trips through QuakeML to within 1e-12 relative (the format stores metres).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from catalogs.delimited import map_unique
from catalogs.errors import CatalogError
from catalogs.providers_map import EVENT_TYPES
from catalogs.rows import SOLUTION_ROW_SCHEMA

__all__ = ["FDSN_TEXT_HEADER", "write_fdsn_text", "write_quakeml"]

log = logging.getLogger(__name__)

QUAKEML_HEAD = (
    "<?xml version='1.0' encoding='utf-8'?>\n"
    '<q:quakeml xmlns="http://quakeml.org/xmlns/bed/1.2" xmlns:q="http://quakeml.org/xmlns/quakeml/1.2">\n'
    '<eventParameters publicID="smi:local/qe/eventParameters">\n'
)
QUAKEML_TAIL = "</eventParameters>\n</q:quakeml>\n"
FDSN_TEXT_HEADER = (
    "#EventID|Time|Latitude|Longitude|Depth/km|Author|Catalog|Contributor|ContributorID|MagType|Magnitude|"
    "MagAuthor|EventLocationName"
)
MODES = {"automatic", "manual"}
STATUSES = {"preliminary", "confirmed", "reviewed", "final", "rejected"}
# Characters a QuakeML ResourceIdentifier allows after "smi:authority/" (QuakeML-BED-1.2.xsd).
# Those that also delimit the id in "?eventid=<id>" (& ; # = ? /) are percent-encoded too.
_ID_UNSAFE = r"[^\w\-.*()+_~',]"
_ID_SAFE_CHARS = "-.*()+_~',"


def _check(rows: pa.Table) -> None:
    missing = [n for n in SOLUTION_ROW_SCHEMA.names if n not in rows.column_names]
    if missing:
        raise CatalogError(f"rows lack solution column(s) {', '.join(missing)}: expected SOLUTION_ROW_SCHEMA")


def _join(*parts: Any) -> Any:
    """Concatenate strings element-wise; a null part counts as empty."""
    return pc.binary_join_element_wise(*parts, "", null_handling="replace", null_replacement="")


def _wrap(prefix: str, values: Any, suffix: str) -> Any:
    """``prefix + value + suffix`` where the value is not null, else null."""
    return pc.binary_join_element_wise(pa.scalar(prefix), values, pa.scalar(suffix), "")


def _xml_text(values: Any) -> Any:
    """Text escaped for XML content and attributes (only when it holds a special character)."""
    out = pc.cast(values, pa.string())
    if not len(out) or not pc.any(pc.match_substring_regex(out, r'[&<>"]')).as_py():
        return out
    out = pc.replace_substring(out, "&", "&amp;")
    out = pc.replace_substring(out, "<", "&lt;")
    out = pc.replace_substring(out, ">", "&gt;")
    return pc.replace_substring(out, '"', "&quot;")


def _ids(values: Any) -> Any:
    """Event ids safe inside a publicID (percent-encoding only the rare unsafe characters)."""
    if len(values) and pc.any(pc.match_substring_regex(values, _ID_UNSAFE)).as_py():
        values = map_unique(values, lambda v: quote(v, safe=_ID_SAFE_CHARS) if v is not None else None)
    return _xml_text(values)


def _iso(values: Any, suffix: str = "") -> Any:
    """``2024-05-16T06:31:36.891000`` (+ suffix) for UTC timestamps; casting via a naive timestamp is
    many times faster than ``strftime`` or a cast of the zoned type."""
    text = pc.replace_substring(pc.cast(pc.cast(values, pa.timestamp("us")), pa.string()), " ", "T", max_replacements=1)
    return pc.binary_join_element_wise(text, pa.scalar(suffix), "") if suffix else text


def _number(values: Any) -> Any:
    return pc.cast(values, pa.string())


def _vocabulary(values: Any, allowed: set[str] | frozenset[str]) -> Any:
    return pc.if_else(pc.is_in(values, value_set=pa.array(sorted(allowed), pa.string())), values, None)


def _string(table: pa.Table, name: str) -> Any:
    col = table.column(name)
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def write_quakeml(rows: pa.Table) -> bytes:
    """QuakeML 1.2 BED document with one event per row (see the module docstring for the mapping).

    Example: ``write_quakeml(parse_fdsn_text("events.txt"))`` -> bytes that ``obspy.read_events`` reads.
    """
    _check(rows)
    n = rows.num_rows
    if n == 0:
        return (QUAKEML_HEAD + QUAKEML_TAIL).encode()
    ids = _ids(_string(rows, "provider_event_id"))
    ev_id = _join(pa.scalar("smi:local/qe/event?eventid="), ids)
    or_id = _join(pa.scalar("smi:local/qe/origin?eventid="), ids)
    mg_id = _join(pa.scalar("smi:local/qe/magnitude?eventid="), ids)
    time = _string(rows, "origin_time_utc")
    has_origin = pc.is_valid(time)
    mag = _string(rows, "magnitude_value")
    has_mag = pc.is_valid(mag)
    review = _string(rows, "review_status")
    depth_m = pc.round(pc.multiply(_string(rows, "origin_depth_km"), 1000.0), 9)
    updated = _string(rows, "updated_time_utc")
    origin = _join(
        _wrap('<origin publicID="', pc.if_else(has_origin, or_id, None), '">'),
        _wrap("<time><value>", _iso(time, "Z"), "</value></time>"),
        _wrap("<latitude><value>", _number(_string(rows, "origin_latitude_deg")), "</value></latitude>"),
        _wrap("<longitude><value>", _number(_string(rows, "origin_longitude_deg")), "</value></longitude>"),
        _wrap("<depth><value>", _number(depth_m), "</value></depth>"),
        _wrap("<evaluationMode>", _vocabulary(review, MODES), "</evaluationMode>"),
        _wrap("<evaluationStatus>", _vocabulary(review, STATUSES), "</evaluationStatus>"),
        _wrap("<creationInfo><agencyID>", _xml_text(_string(rows, "origin_agency")), "</agencyID></creationInfo>"),
        pc.if_else(has_origin, pa.scalar("</origin>"), None),
    )
    magnitude = _join(
        _wrap('<magnitude publicID="', pc.if_else(has_mag, mg_id, None), '">'),
        _wrap("<mag><value>", _number(mag), "</value></mag>"),
        pc.if_else(has_mag, _wrap("<type>", _xml_text(_string(rows, "magnitude_type")), "</type>"), None),
        pc.if_else(has_mag, pc.if_else(has_origin, _wrap("<originID>", or_id, "</originID>"), None), None),
        pc.if_else(
            has_mag,
            _wrap(
                "<creationInfo><agencyID>", _xml_text(_string(rows, "magnitude_author")), "</agencyID></creationInfo>"
            ),
            None,
        ),
        pc.if_else(has_mag, pa.scalar("</magnitude>"), None),
    )
    event = _join(
        _wrap('<event publicID="', ev_id, '">\n'),
        pc.if_else(has_origin, _wrap("<preferredOriginID>", or_id, "</preferredOriginID>"), None),
        pc.if_else(has_mag, _wrap("<preferredMagnitudeID>", mg_id, "</preferredMagnitudeID>"), None),
        _wrap("<type>", _vocabulary(_string(rows, "event_type"), EVENT_TYPES), "</type>"),
        _wrap(
            "<description><text>",
            _xml_text(_string(rows, "region_name")),
            "</text><type>region name</type></description>",
        ),
        _join(
            pa.scalar("<creationInfo><agencyID>"),
            _xml_text(_string(rows, "provider")),
            pa.scalar("</agencyID>"),
            _wrap("<creationTime>", _iso(updated, "Z"), "</creationTime>"),
            pa.scalar("</creationInfo>\n"),
        ),
        origin,
        magnitude,
        pa.scalar("\n</event>\n"),
    )
    return QUAKEML_HEAD.encode() + _concat(event) + QUAKEML_TAIL.encode()


def _concat(strings: Any) -> bytes:
    """All strings of a non-null string array, back to back."""
    arr = strings.combine_chunks() if isinstance(strings, pa.ChunkedArray) else strings
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    if not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.large_string()) if len(arr) > 1_000_000 else arr
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(arr.buffers()[1], dtype=width)
    start, end = int(offsets[arr.offset]), int(offsets[arr.offset + len(arr)])
    return bytes(arr.buffers()[2][start:end].to_pybytes())


def _text(values: Any) -> Any:
    """Text safe in a ``|``-separated line (separators and line breaks become spaces), null -> ''."""
    out = pc.replace_substring_regex(pc.cast(values, pa.string()), r"[|\r\n]", " ")
    return pc.fill_null(out, "")


def write_fdsn_text(rows: pa.Table, with_event_type: bool = True) -> bytes:
    """FDSN event text (13 columns, or 14 with ``EventType``), one line per row, header first.

    Example: ``write_fdsn_text(parse_quakeml("isc.qml"))`` -> bytes ObsPy reads with ``format="EVENTTXT"``.
    """
    _check(rows)
    header = FDSN_TEXT_HEADER + ("|EventType" if with_event_type else "") + "\n"
    if rows.num_rows == 0:
        return header.encode()
    located = pc.and_(
        pc.and_(pc.is_valid(rows.column("origin_time_utc")), pc.is_valid(rows.column("origin_latitude_deg"))),
        pc.is_valid(rows.column("origin_longitude_deg")),
    )
    if not pc.all(located).as_py():
        log.warning("FDSN text: %d row(s) without time or location left out", rows.num_rows - pc.sum(located).as_py())
        rows = rows.filter(located)
    if rows.num_rows == 0:
        return header.encode()
    event_id = _text(_string(rows, "provider_event_id"))
    provider = _text(_string(rows, "provider"))
    parts = [
        event_id,
        pc.fill_null(_iso(_string(rows, "origin_time_utc")), ""),
        pc.fill_null(_number(_string(rows, "origin_latitude_deg")), ""),
        pc.fill_null(_number(_string(rows, "origin_longitude_deg")), ""),
        pc.fill_null(_number(_string(rows, "origin_depth_km")), ""),
        _text(_string(rows, "origin_agency")),
        provider,
        provider,
        event_id,
        _text(_string(rows, "magnitude_type")),
        pc.fill_null(_number(_string(rows, "magnitude_value")), ""),
        _text(_string(rows, "magnitude_author")),
        _text(_string(rows, "region_name")),
    ]
    if with_event_type:
        parts.append(_text(_string(rows, "event_type")))
    lines = pc.binary_join_element_wise(*parts, "|")
    lines = pc.binary_join_element_wise(lines, pa.scalar(""), "\n")
    return header.encode() + _concat(lines)
