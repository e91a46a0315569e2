"""Which catalog format a file is, from its first bytes; and reading any supported file.

Sniffing (after an optional gzip layer, a UTF-8/UTF-16 byte-order mark and leading whitespace):

* ``<`` ... ``quakeml`` or ``eventParameters`` -> ``quakeml``;
* ``{`` ... ``"FeatureCollection"``/``"Feature"`` -> ``geojson`` (USGS GeoJSON feed);
* ``#`` and a header naming ``EventID`` separated by ``|`` -> ``fdsntext``;
* a CSV header ``time,latitude,longitude,...,id`` (fields separated by ``,``, ``;`` or a tab) -> ``comcatcsv``;
  ``Date,Time,Latitude,Longitude,...,ID`` -> ``significantcsv`` (Kaggle "Significant Earthquakes").

Anything else raises :class:`catalogs.errors.UnknownFormat` saying what was expected and how the
file starts.
"""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path
from typing import Any, Literal, overload

import pyarrow as pa
import pyarrow.compute as pc

from catalogs.comcat_csv import parse_comcat_csv, sniff_csv
from catalogs.errors import ParseError, UnknownFormat
from catalogs.fdsntext import parse_fdsn_text
from catalogs.geojson_feed import parse_geojson_feed
from catalogs.parse_common import GZIP_MAGIC, ParseProblem
from catalogs.quakeml import parse_quakeml
from catalogs.rows import solution_ids

__all__ = ["CatalogFormat", "detect_format", "read_catalog_file"]

CatalogFormat = Literal["quakeml", "fdsntext", "comcatcsv", "significantcsv", "geojson"]
SNIFF_BYTES = 65536
EXPECTED = (
    "expected QuakeML (XML), FDSN event text ('#EventID|Time|...'), a ComCat CSV export "
    "('time,latitude,longitude,...'), the Kaggle significant-earthquakes CSV ('Date,Time,Latitude,...') "
    "or a USGS GeoJSON feed"
)


def _head(path_or_bytes: str | Path | bytes) -> tuple[bytes, str]:
    if isinstance(path_or_bytes, bytes | bytearray):
        raw, name = bytes(path_or_bytes[:SNIFF_BYTES]), "<bytes>"
    else:
        name = Path(path_or_bytes).name
        try:
            with open(path_or_bytes, "rb") as fh:
                raw = fh.read(SNIFF_BYTES)
        except OSError as exc:
            raise UnknownFormat(f"{name}: cannot open file: {exc.strerror or exc}") from exc
    if raw[:2] == GZIP_MAGIC:
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as gz:
                raw = gz.read(SNIFF_BYTES)
        except (OSError, EOFError, zlib.error):
            # a truncated gzip member still yields its first bytes through a decompressor
            try:
                raw = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(raw, SNIFF_BYTES)
            except zlib.error as exc:
                raise UnknownFormat(f"{name}: starts like gzip but cannot be decompressed ({exc})") from exc
    return raw, name


def _text(raw: bytes) -> str:
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return raw.decode("utf-16", errors="replace")
    return raw.decode("utf-8", errors="replace").lstrip("\ufeff")


def detect_format(path_or_bytes: str | Path | bytes, name: str | None = None) -> CatalogFormat:
    """The format of a catalog file (path or bytes); :class:`UnknownFormat` when it is none we read.

    ``name`` is how messages call the file (default: its file name)."""
    raw, found = _head(path_or_bytes)
    name = name or found
    text = _text(raw).lstrip()
    if not text:
        raise UnknownFormat(f"{name}: the file is empty; {EXPECTED}")
    first = text.split("\n", 1)[0].rstrip("\r")
    if text[0] == "<" and ("quakeml" in text or "eventParameters" in text):
        return "quakeml"
    if text[0] == "{" and ('"FeatureCollection"' in text or '"Feature"' in text):
        return "geojson"
    if first.startswith("#") and "|" in first and "eventid" in first.lower():
        return "fdsntext"
    sniffed = sniff_csv(first)
    if sniffed is not None:
        return sniffed[0]
    shown = first[:60].encode("unicode_escape").decode("ascii")
    raise UnknownFormat(f"{name}: could not tell the catalog format; {EXPECTED}; the file starts with {shown!r}")


@overload
def read_catalog_file(
    path: str | Path, provider: str | None = None, *, strict: Literal[True] = True, source_name: str | None = None
) -> pa.Table: ...
@overload
def read_catalog_file(
    path: str | Path, provider: str | None = None, *, strict: Literal[False], source_name: str | None = None
) -> tuple[pa.Table, list[ParseProblem]]: ...
def read_catalog_file(
    path: str | Path, provider: str | None = None, *, strict: bool = True, source_name: str | None = None
) -> pa.Table | tuple[pa.Table, list[ParseProblem]]:
    """Detect the format of ``path`` and parse it into solution rows (``SOLUTION_ROW_SCHEMA``).

    Example: ``read_catalog_file("comcat.csv")`` -> rows with provider ``USGS``.
    Raises :class:`UnknownFormat` or :class:`ParseError`; with ``strict=False`` returns
    ``(good_rows, problems)`` like every parser. ``source_name`` is how messages and ``source_ref``
    call the file (default: its file name; ``catalog import`` passes the user's name of an archived copy).
    """
    name = source_name or Path(path).name
    fmt = detect_format(path, name)
    parser = _PARSERS[fmt]
    if fmt == "geojson":
        provider = provider or "USGS"
    out = parser(path, provider, name, strict=strict)
    if strict:
        refuse_conflicting_ids(out, name, ID_COLUMNS[fmt])
    return out  # type: ignore[no-any-return,unused-ignore]  # the parsers' overloads meet in an Any table


#: How each format names the event id column (for messages).
ID_COLUMNS = {
    "quakeml": "event publicID",
    "fdsntext": "EventID",
    "geojson": "id",
    "comcatcsv": "id",
    "significantcsv": "ID",
}


def refuse_conflicting_ids(rows: pa.Table, name: str, column: str = "event id") -> None:
    """Raise :class:`ParseError` when one file gives one event id twice with different values.

    A catalog file states each event once; two different solutions under one id leave nothing to tell
    which is meant (exact repeats are harmless and pass). Names the rows of both, from ``source_ref``."""
    if rows.num_rows < 2:
        return
    key = pc.binary_join_element_wise(pc.utf8_upper(rows.column("provider")), rows.column("provider_event_id"), "\x1f")
    if pc.count_distinct(key).as_py() == rows.num_rows:
        return  # the common case: every id once (solution ids are only hashed when some id repeats)
    table = pa.table({"k": key, "s": solution_ids(rows), "i": pa.array(range(rows.num_rows), pa.int64())})
    groups = table.group_by("k").aggregate([("s", "count_distinct"), ("i", "min")])
    bad = groups.filter(pc.greater(groups.column("s_count_distinct"), 1))
    if bad.num_rows == 0:
        return
    first = int(pc.min(bad.column("i_min")).as_py())
    same = pc.equal(key, key[first])
    differs = pc.and_(same, pc.not_equal(table.column("s"), table.column("s")[first]))
    second = int(pc.index(differs, True).as_py())
    refs = rows.column("source_ref")
    a, b = (_ref_number(refs[i].as_py(), i) for i in (first, second))
    event_id = rows.column("provider_event_id")[first].as_py()
    raise ParseError(
        f"event id {event_id!r} is given twice with different values (rows {a} and {b}); "
        "a catalog file must state each event once",
        name,
        b,
        column,
    )


def _ref_number(ref: str | None, index: int) -> int:
    """The row number of a ``'<file>#<row>'`` source reference (else the position, 1-based)."""
    tail = (ref or "").rpartition("#")[2]
    return int(tail) if tail.isdigit() else index + 1


_PARSERS: dict[str, Any] = {
    "quakeml": parse_quakeml,
    "fdsntext": parse_fdsn_text,
    "geojson": parse_geojson_feed,
    "comcatcsv": parse_comcat_csv,
    "significantcsv": parse_comcat_csv,
}
