"""FDSN event text format (``format=text``) read with ``pyarrow.csv``: one solution row per line.

Layout: a header line ``#EventID|Time|Latitude|Longitude|Depth/km|Author|Catalog|Contributor|
ContributorID|MagType|Magnitude|MagAuthor|EventLocationName`` (13 columns), optionally
``|EventType`` (14). Spaced headers (``#EventID | Time | ...``) and empty fields are fine; the
column order is taken from the header. Fields are never quoted.

Normalisation:

* ``EventID`` stays text (``0000001`` keeps its zeros); a URI-like id (``smi:.../evid=123``) is
  reduced the way :mod:`catalogs.quakeml` reduces publicIDs, so both formats give the same id;
* ``Time`` without offset is UTC; microseconds kept;
* ``origin_agency`` = ``Author``, ``magnitude_author`` = ``MagAuthor``, ``region_name`` =
  ``EventLocationName``, ``event_type`` = ``EventType`` in the QuakeML vocabulary; the format has
  no review status and no update time (both null) and no alias ids (empty);
* ``provider``: the caller's argument, else per row from ``Catalog`` (else ``Contributor``) through
  :func:`catalogs.providers_map.provider_from_agency` (ComCat network codes such as ``us``, ``ak``
  -> ``USGS``); rows naming neither take the file's most common provider, else ``UNKNOWN``;
* ``source_ref``: ``<file name>#<data row>`` (row 1 is the first line after the header).
"""

from __future__ import annotations

import logging
from typing import Any, Literal, overload

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from catalogs.delimited import (
    first_line,
    header_fields,
    map_unique,
    read_delimited,
    row_numbers,
    to_float,
    to_time,
    trim,
)
from catalogs.errors import ParseError
from catalogs.parse_common import (
    ParseProblem,
    SourceLike,
    assemble,
    check_rows,
    empty_lists,
    finish,
    local_path,
    read_all,
    source_label,
    source_refs,
)
from catalogs.providers_map import (
    UNKNOWN_PROVIDER,
    event_id_from_public_id,
    looks_like_uri,
    normalize_event_type,
    provider_from_agency,
)

__all__ = ["FDSN_TEXT_COLUMNS", "parse_fdsn_text"]

log = logging.getLogger(__name__)

FDSN_TEXT_COLUMNS = (
    "EventID", "Time", "Latitude", "Longitude", "Depth/km", "Author", "Catalog", "Contributor",
    "ContributorID", "MagType", "Magnitude", "MagAuthor", "EventLocationName", "EventType",
)  # fmt: skip
REQUIRED = ("EventID", "Time", "Latitude", "Longitude", "Magnitude")
FLOATS = ("Latitude", "Longitude", "Depth/km", "Magnitude")
_CANONICAL = {c.lower(): c for c in FDSN_TEXT_COLUMNS} | {"depth": "Depth/km", "depth/m": "Depth/m"}
COLUMN_NAMES = {
    "origin_time_utc": "Time",
    "origin_latitude_deg": "Latitude",
    "origin_longitude_deg": "Longitude",
    "origin_depth_km": "Depth/km",
    "magnitude_value": "Magnitude",
}


def fdsn_header(line: bytes, label: str) -> list[str]:
    """Canonical column names of an FDSN text header line; ParseError when it is not one."""
    text = line.lstrip(b"\xef\xbb\xbf \t")
    if not text.startswith(b"#"):
        raise ParseError("not FDSN event text: the first line must be the '#EventID|Time|...' header", label)
    names = header_fields(text[1:], label, "|")
    out: list[str] = []
    for i, name in enumerate(names):
        canon = _CANONICAL.get(name.lower(), name) or f"column{i + 1}"
        out.append(canon if canon not in out else f"{canon}_{i + 1}")
    missing = [c for c in REQUIRED if c not in out]
    if "Depth/km" not in out and "Depth/m" not in out:
        missing.append("Depth/km")
    if missing:
        raise ParseError(
            f"the header line lacks column(s) {', '.join(missing)}; found {names}", label, None, missing[0]
        )
    return out


@overload
def parse_fdsn_text(
    source: SourceLike, provider: str | None = None, source_name: str | None = None, *, strict: Literal[True] = True
) -> pa.Table: ...
@overload
def parse_fdsn_text(
    source: SourceLike, provider: str | None = None, source_name: str | None = None, *, strict: Literal[False]
) -> tuple[pa.Table, list[ParseProblem]]: ...
def parse_fdsn_text(
    source: SourceLike, provider: str | None = None, source_name: str | None = None, *, strict: bool = True
) -> pa.Table | tuple[pa.Table, list[ParseProblem]]:
    """Read FDSN event text (path, bytes or binary stream) into solution rows.

    Example: ``parse_fdsn_text("events.txt", provider="IRIS")``.
    Raises :class:`ParseError` naming file, row and column (with ``strict=False``: rows and problems).
    """
    label = source_label(source, source_name)
    data: str | bytes = local_path(source) or read_all(source, label)
    names = fdsn_header(first_line(data), label)
    types: dict[str, pa.DataType] = {n: pa.string() for n in names}
    for n in FLOATS:
        if n in types:
            types[n] = pa.float64()
    types["Time"] = pa.timestamp("us")  # the usual form; zoned or odd times fall back to text
    if "Depth/m" in types:
        types["Depth/m"] = pa.float64()
    include = [n for n in names if n in _CANONICAL.values()]
    table = read_delimited(
        data, label, delimiter="|", quoted=False, column_names=names, skip_rows=1, types=types, include=include
    )
    return finish(*_rows(table, label, provider), strict)


def _col(table: pa.Table, name: str) -> Any:
    if name in table.column_names:
        return table.column(name)
    return pa.nulls(table.num_rows, pa.float64() if name in FLOATS else pa.string())


def _rows(table: pa.Table, label: str, provider: str | None) -> tuple[pa.Table, list[ParseProblem]]:
    n = table.num_rows
    problems: list[ParseProblem] = []
    numbers = row_numbers(n)
    origin_time = to_time(_col(table, "Time"), label, "Time", problems)
    lat = to_float(_col(table, "Latitude"), label, "Latitude", problems)
    lon = to_float(_col(table, "Longitude"), label, "Longitude", problems)
    if "Depth/km" not in table.column_names and "Depth/m" in table.column_names:
        depth = pc.divide(to_float(table.column("Depth/m"), label, "Depth/m", problems), 1000.0)
    else:
        depth = to_float(_col(table, "Depth/km"), label, "Depth/km", problems)
    mag = to_float(_col(table, "Magnitude"), label, "Magnitude", problems)
    event_ids = _event_ids(trim(_col(table, "EventID")))
    if event_ids.null_count:
        for i in pc.indices_nonzero(pc.is_null(event_ids)).to_pylist():
            problems.append(ParseProblem(label, i + 1, "EventID", "", "the provider's event id (not empty)"))
        event_ids = pc.fill_null(event_ids, "")
    event_types = _col(table, "EventType")
    if event_types.null_count < n:
        event_types = map_unique(event_types, normalize_event_type)
    columns: dict[str, Any] = {
        "provider": _providers(table, provider),
        "provider_event_id": event_ids,
        "origin_time_utc": origin_time,
        "origin_latitude_deg": lat,
        "origin_longitude_deg": lon,
        "origin_depth_km": depth,
        "magnitude_value": mag,
        "magnitude_type": _col(table, "MagType"),
        "magnitude_author": _col(table, "MagAuthor"),
        "origin_agency": _col(table, "Author"),
        "review_status": pa.nulls(n, pa.string()),
        "event_type": event_types,
        "region_name": _col(table, "EventLocationName"),
        "updated_time_utc": pa.nulls(n, pa.timestamp("us", tz="UTC")),
        "alias_ids": empty_lists(n),
        "source_ref": source_refs(label, numbers),
    }
    rows = assemble(columns)
    return check_rows(rows, label, COLUMN_NAMES, numbers, problems)


def _event_ids(ids: Any) -> Any:
    if len(ids) and pc.any(pc.match_substring_regex(ids, r"[/:=]")).as_py():
        return map_unique(ids, lambda v: event_id_from_public_id(v) if v and looks_like_uri(v) else v)
    return ids


def constant(value: str, n: int) -> pa.Array:
    """``n`` copies of ``value`` as a string array (without building a Python list)."""
    dictionary = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([value]))
    return dictionary.cast(pa.string())


def _providers(table: pa.Table, provider: str | None) -> Any:
    n = table.num_rows
    if provider:
        return constant(provider, n)
    detected: Any = pa.nulls(n, pa.string())
    for name in ("Catalog", "Contributor"):
        if name in table.column_names and detected.null_count:
            mapped = map_unique(table.column(name), provider_from_agency)
            detected = mapped if detected.null_count == n else pc.coalesce(detected, mapped)
    if detected.null_count == 0:
        return detected
    fallback = UNKNOWN_PROVIDER
    if detected.null_count < n:
        counts = pc.value_counts(pc.drop_null(detected))
        best = pc.index(counts.field("counts"), pc.max(counts.field("counts"))).as_py()
        fallback = counts.field("values")[best].as_py()
    return pc.fill_null(detected, fallback)
