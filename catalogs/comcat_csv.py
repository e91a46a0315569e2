"""ComCat CSV exports (``query.csv``) and the Kaggle "Significant Earthquakes 1965-2016" file.

Both are ComCat data, so ``provider`` is ``USGS`` unless the caller says otherwise, and
``provider_event_id`` is the ComCat id (the same id ComCat prints as ``EventID`` in FDSN text).
Read with ``pyarrow.csv``; a UTF-8 byte-order mark is allowed; gzip is decompressed; fields may be separated
by ``,`` (as exported), ``;`` or a tab (as a spreadsheet saves the file again), told from the header line.

ComCat layout (``time,latitude,longitude,depth,mag,magType,...,id,updated,place,type,...,status,
locationSource,magSource``):

* ``origin_agency`` = ``locationSource``, ``magnitude_author`` = ``magSource``, ``region_name`` =
  ``place``, ``review_status`` = ``status`` lower-cased, ``event_type`` = ``type`` (QuakeML
  vocabulary), ``updated_time_utc`` = ``updated``; no alias ids (the export has no ``ids`` column).

Kaggle layout (``Date,Time,Latitude,Longitude,Type,Depth,...,ID,Source,Location Source,
Magnitude Source,Status``):

* time = ``Date`` (``MM/DD/YYYY``) + ``Time``; three rows of the published file hold an ISO
  datetime in ``Date`` instead, which is used as is;
* ``ID`` is lower-cased: Kaggle upper-cased ComCat ids (``USP000HWQP``), ComCat's own are lower
  case (``usp000hwqp``), and the same event must get the same ``provider_event_id``;
* ``Type`` ``Nuclear Explosion`` -> ``nuclear explosion`` etc.; ``Status`` lower-cased;
  ``origin_agency`` = ``Location Source``, ``magnitude_author`` = ``Magnitude Source``; no region.

``source_ref`` is ``<file name>#<data row>`` (row 1 is the first line after the header).
"""

from __future__ import annotations

import logging
from typing import Any, Literal, overload

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
from catalogs.fdsntext import constant
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
from catalogs.providers_map import normalize_event_type, normalize_status
from catalogs.rows import UTC

__all__ = ["COMCAT_COLUMNS", "CSV_DELIMITERS", "SIGNIFICANT_COLUMNS", "csv_layout", "parse_comcat_csv", "sniff_csv"]

log = logging.getLogger(__name__)

COMCAT_COLUMNS = (
    "time", "latitude", "longitude", "depth", "mag", "magType", "nst", "gap", "dmin", "rms", "net", "id",
    "updated", "place", "type", "horizontalError", "depthError", "magError", "magNst", "status",
    "locationSource", "magSource",
)  # fmt: skip
SIGNIFICANT_COLUMNS = (
    "Date", "Time", "Latitude", "Longitude", "Type", "Depth", "Depth Error", "Depth Seismic Stations",
    "Magnitude", "Magnitude Type", "Magnitude Error", "Magnitude Seismic Stations", "Azimuthal Gap",
    "Horizontal Distance", "Horizontal Error", "Root Mean Square", "ID", "Source", "Location Source",
    "Magnitude Source", "Status",
)  # fmt: skip
COMCAT_REQUIRED = ("time", "latitude", "longitude", "id")  # enough to recognise the layout
COMCAT_CORE = ("time", "latitude", "longitude", "depth", "mag", "id")  # enough to read it
SIGNIFICANT_REQUIRED = ("Date", "Time", "Latitude", "Longitude", "ID")
SIGNIFICANT_CORE = ("Date", "Time", "Latitude", "Longitude", "Depth", "Magnitude", "ID")
COMCAT_USED = ("time", "latitude", "longitude", "depth", "mag", "magType", "id", "updated", "place", "type",
               "status", "locationSource", "magSource")  # fmt: skip
SIGNIFICANT_USED = ("Date", "Time", "Latitude", "Longitude", "Type", "Depth", "Magnitude", "Magnitude Type", "ID",
                    "Location Source", "Magnitude Source", "Status")  # fmt: skip
TIMES = {"time": UTC, "updated": UTC}  # ComCat writes ISO 8601 with Z
FLOATS = {"latitude", "longitude", "depth", "mag", "Latitude", "Longitude", "Depth", "Magnitude"}
COMCAT_NAMES = {
    "origin_time_utc": "time",
    "origin_latitude_deg": "latitude",
    "origin_longitude_deg": "longitude",
    "origin_depth_km": "depth",
    "magnitude_value": "mag",
}
SIGNIFICANT_NAMES = {
    "origin_time_utc": "Date+Time",
    "origin_latitude_deg": "Latitude",
    "origin_longitude_deg": "Longitude",
    "origin_depth_km": "Depth",
    "magnitude_value": "Magnitude",
}


#: Field separators a CSV export may use: ComCat writes ``,``; a spreadsheet saving it again in a locale
#: whose decimal mark is a comma writes ``;``, and "text (tab-delimited)" writes a tab.
CSV_DELIMITERS = (",", ";", "\t")


def sniff_csv(first: str) -> tuple[Literal["comcatcsv", "significantcsv"], str] | None:
    """The layout and field separator a CSV header line names (None when neither layout, whatever the separator)."""
    for delimiter in CSV_DELIMITERS:
        layout = csv_layout([f.strip().strip('"') for f in first.split(delimiter)])
        if layout is not None:
            return layout, delimiter
    return None


def csv_layout(header: list[str]) -> Literal["comcatcsv", "significantcsv"] | None:
    """Which CSV layout a header names (None when neither)."""
    names = set(header)
    if all(c in names for c in COMCAT_REQUIRED):
        return "comcatcsv"
    if all(c in names for c in SIGNIFICANT_REQUIRED):
        return "significantcsv"
    return None


@overload
def parse_comcat_csv(
    source: SourceLike, provider: str | None = None, source_name: str | None = None, *, strict: Literal[True] = True
) -> pa.Table: ...
@overload
def parse_comcat_csv(
    source: SourceLike, provider: str | None = None, source_name: str | None = None, *, strict: Literal[False]
) -> tuple[pa.Table, list[ParseProblem]]: ...
def parse_comcat_csv(
    source: SourceLike, provider: str | None = None, source_name: str | None = None, *, strict: bool = True
) -> pa.Table | tuple[pa.Table, list[ParseProblem]]:
    """Read a ComCat CSV export or the Kaggle significant-earthquakes CSV into solution rows.

    Example: ``parse_comcat_csv("query.csv")`` -> rows with provider ``USGS``.
    Raises :class:`ParseError` naming file, row and column (with ``strict=False``: rows and problems).
    """
    label = source_label(source, source_name)
    data: str | bytes = local_path(source) or read_all(source, label)
    line = first_line(data)
    try:
        sniffed = sniff_csv(line.decode("utf-8-sig").rstrip("\r"))
    except UnicodeDecodeError:
        sniffed = None
    delimiter = sniffed[1] if sniffed else ","
    header = [h.strip('"') for h in header_fields(line, label, delimiter)]
    layout = csv_layout(header)
    if layout is None:
        raise ParseError(
            "not a ComCat CSV: the header must name time,latitude,longitude,...,id "
            f"(or Date,Time,Latitude,Longitude,...,ID); found {header[:8]}",
            label,
        )
    core = COMCAT_CORE if layout == "comcatcsv" else SIGNIFICANT_CORE
    missing = [c for c in core if c not in header]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        raise ParseError(f"the header line lacks column(s) {names}; found {header}", label, None, missing[0])
    used = COMCAT_USED if layout == "comcatcsv" else SIGNIFICANT_USED
    include = [c for c in used if c in header]
    types = {c: (pa.float64() if c in FLOATS else TIMES.get(c, pa.string())) for c in include}
    table = read_delimited(
        data, label, delimiter=delimiter, quoted=True, column_names=None, skip_rows=0, types=types, include=include
    )
    rows = _comcat(table, label, provider) if layout == "comcatcsv" else _significant(table, label, provider)
    return finish(*rows, strict)


def _col(table: pa.Table, name: str) -> Any:
    if name in table.column_names:
        return table.column(name)
    return pa.nulls(table.num_rows, pa.float64() if name in FLOATS else pa.string())


def _ids(values: Any, label: str, column: str, problems: list[ParseProblem]) -> Any:
    ids = trim(values)
    if ids.null_count:
        for i in pc.indices_nonzero(pc.is_null(ids)).to_pylist():
            problems.append(ParseProblem(label, i + 1, column, "", "the ComCat event id (not empty)"))
        ids = pc.fill_null(ids, "")
    return ids


def _common(table: pa.Table, label: str, provider: str | None) -> dict[str, Any]:
    n = table.num_rows
    return {
        "provider": constant(provider or "USGS", n),
        "alias_ids": empty_lists(n),
        "source_ref": source_refs(label, row_numbers(n)),
    }


def _comcat(table: pa.Table, label: str, provider: str | None) -> tuple[pa.Table, list[ParseProblem]]:
    problems: list[ParseProblem] = []
    columns = _common(table, label, provider) | {
        "provider_event_id": _ids(_col(table, "id"), label, "id", problems),
        "origin_time_utc": to_time(_col(table, "time"), label, "time", problems),
        "origin_latitude_deg": to_float(_col(table, "latitude"), label, "latitude", problems),
        "origin_longitude_deg": to_float(_col(table, "longitude"), label, "longitude", problems),
        "origin_depth_km": to_float(_col(table, "depth"), label, "depth", problems),
        "magnitude_value": to_float(_col(table, "mag"), label, "mag", problems),
        "magnitude_type": _col(table, "magType"),
        "magnitude_author": _col(table, "magSource"),
        "origin_agency": _col(table, "locationSource"),
        "review_status": map_unique(_col(table, "status"), normalize_status),
        "event_type": map_unique(_col(table, "type"), normalize_event_type),
        "region_name": _col(table, "place"),
        "updated_time_utc": _updated(_col(table, "updated")),
    }
    return check_rows(assemble(columns), label, COMCAT_NAMES, None, problems)


def _updated(values: Any) -> Any:
    """ComCat ``updated`` is metadata: an unparseable value is left null rather than refusing the row."""
    ignored: list[ParseProblem] = []
    return to_time(values, "", "updated", ignored)


def _significant(table: pa.Table, label: str, provider: str | None) -> tuple[pa.Table, list[ParseProblem]]:
    problems: list[ParseProblem] = []
    columns = _common(table, label, provider) | {
        "provider_event_id": pc.utf8_lower(_ids(_col(table, "ID"), label, "ID", problems)),
        "origin_time_utc": _date_time(table, label, problems),
        "origin_latitude_deg": to_float(_col(table, "Latitude"), label, "Latitude", problems),
        "origin_longitude_deg": to_float(_col(table, "Longitude"), label, "Longitude", problems),
        "origin_depth_km": to_float(_col(table, "Depth"), label, "Depth", problems),
        "magnitude_value": to_float(_col(table, "Magnitude"), label, "Magnitude", problems),
        "magnitude_type": _col(table, "Magnitude Type"),
        "magnitude_author": _col(table, "Magnitude Source"),
        "origin_agency": _col(table, "Location Source"),
        "review_status": map_unique(_col(table, "Status"), normalize_status),
        "event_type": map_unique(_col(table, "Type"), normalize_event_type),
        "region_name": pa.nulls(table.num_rows, pa.string()),
        "updated_time_utc": pa.nulls(table.num_rows, UTC),
    }
    return check_rows(assemble(columns), label, SIGNIFICANT_NAMES, None, problems)


def _date_time(table: pa.Table, label: str, problems: list[ParseProblem]) -> Any:
    """``MM/DD/YYYY`` + ``HH:MM:SS``; rows whose Date already is an ISO datetime use it."""
    date = trim(_col(table, "Date"))
    joined = pc.binary_join_element_wise(date, trim(_col(table, "Time")), " ")
    parsed = pc.cast(pc.strptime(joined, format="%m/%d/%Y %H:%M:%S", unit="us", error_is_null=True), UTC)
    failed = pc.and_(pc.is_null(parsed), pc.is_valid(date))
    if not pc.any(failed).as_py():
        return parsed
    iso = to_time(pc.if_else(failed, date, pa.scalar(None, pa.string())), label, "Date", problems)
    out = pc.coalesce(parsed, iso)
    for i in pc.indices_nonzero(pc.and_(failed, pc.is_null(out))).to_pylist():
        if not any(p.row == i + 1 and p.column == "Date" for p in problems):
            problems.append(ParseProblem(label, i + 1, "Date", str(date[i].as_py()), "MM/DD/YYYY or an ISO 8601 time"))
    return out
