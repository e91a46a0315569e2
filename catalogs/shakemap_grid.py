"""Fast, strict reader of ShakeMap ``grid.xml`` files (USGS ShakeMap 3.5 and 4, BMKG).

A ``grid.xml`` is a small XML header (``<shakemap_grid>`` with the event, the grid specification
and one ``<grid_field>`` per column) followed by ``<grid_data>``: ``nlon x nlat`` lines of
whitespace-separated numbers, rows north to south, longitude varying fastest. Only the header goes
through an XML parser (lxml, every external access switched off); the data block, 99 % of the file,
is converted by numpy's C text scanner in one call. That makes the 2.8 MB Loma Prieta grid load in
tens of milliseconds instead of the second a DOM parse takes (``bench/bench_shakemap.py``).

Namespaces: USGS writes ``http://earthquake.usgs.gov/eqcenter/shakemap``, BMKG (Indonesia)
``http://inatews.bmkg.go.id/shakemap``; both use the same element names. A document in any other
namespace, without the ``MMI`` field, truncated (no ``</grid_data>``, fewer numbers than the grid
specification announces) or for another event (``expected_ids``) raises one
:class:`ShakeMapGridError` that names the file and what was expected.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
from lxml import etree
from numpy.typing import NDArray

from catalogs.errors import CatalogError, ParseError
from catalogs.parse_common import GZIP_MAGIC

__all__ = ["AGENCY_NAMESPACES", "ShakeMapGridError", "ShakeMapGridData", "TruncatedGrid", "parse_shakemap_grid", "read_shakemap_grid"]  # noqa: E501

AGENCY_NAMESPACES = {
    "http://earthquake.usgs.gov/eqcenter/shakemap": "USGS",
    "http://inatews.bmkg.go.id/shakemap": "BMKG",
}
#: The most a gzipped or zipped grid may unpack to (the largest ShakeMap 4 grids are tens of MB).
MAX_GRID_BYTES = 1 << 30
_ZIP_MAGIC = b"PK\x03\x04"
_DATA_OPEN = b"<grid_data>"
_DATA_CLOSE = b"</grid_data>"
_DECLS = (b"<!DOCTYPE", b"<!ENTITY")
_PREFIXED_OPEN = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?grid_data\s*>")


class ShakeMapGridError(CatalogError):
    """A ``grid.xml`` that cannot be used (the message names the file and what was expected)."""

    def __init__(self, message: str, source: str = "") -> None:
        super().__init__(f"{source}: {message}" if source else message)
        self.source = source


class TruncatedGrid(ShakeMapGridError, ParseError):
    """A grid cut short (``</grid_data>`` missing, fewer numbers than announced). It is also a
    :class:`~catalogs.errors.ParseError`, so a download that arrives cut short is retried as a
    transient failure; every other :class:`ShakeMapGridError` is final."""

    def __init__(self, message: str, source: str = "") -> None:
        super().__init__(message, source)
        self.source, self.row, self.column = source, None, None


@dataclass(frozen=True)
class ShakeMapGridData:
    """The columns of a ShakeMap grid, reshaped to (nlat, nlon), with its header attributes."""

    agency: str  # USGS | BMKG (from the XML namespace)
    namespace: str
    event_id: str
    shakemap_id: str
    shakemap_version: str
    code_version: str
    originator: str  # shakemap_originator: the network that made the map (us, ci, ...)
    process_timestamp: str
    map_status: str
    event: dict[str, str]
    lons: NDArray[np.float64]  # west to east
    lats: NDArray[np.float64]  # north to south (file order)
    fields: dict[str, NDArray[np.float64]]  # name -> (nlat, nlon)
    units: dict[str, str]
    source: str = ""
    header: dict[str, str] = field(default_factory=dict)

    @property
    def ids(self) -> set[str]:
        """Every event id the grid names (root ``event_id``/``shakemap_id``, ``<event event_id>``)."""
        return {i for i in (self.event_id, self.shakemap_id, self.event.get("event_id", "")) if i}


def _fail(source: str, message: str) -> ShakeMapGridError:
    return ShakeMapGridError(message, source)


def _header(head: bytes, source: str) -> etree._Element:
    if any(d in head for d in _DECLS):
        raise _fail(source, "refusing a grid.xml that declares a DOCTYPE or entities (ShakeMap grids never do)")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False)
    try:  # the header closed by hand: data block elided
        return etree.fromstring(head + b"<grid_data/></shakemap_grid>", parser)
    except etree.XMLSyntaxError as exc:
        raise _fail(source, f"the grid.xml header is not well-formed XML: {exc}") from exc


def _id_matches(found: set[str], expected: set[str]) -> bool:
    """ComCat aliases carry the network code (``us7000pn9s``); older grids may not (``7000pn9s``)."""
    exp = {e.lower() for e in expected if e}
    for f in (x.lower() for x in found):
        if f in exp or any(e.endswith(f) and len(f) >= 6 for e in exp) or any(f.endswith(e) for e in exp):
            return True
    return False


def _unpack(data: bytes, source: str) -> bytes:
    """The ``grid.xml`` inside gzip (``grid.xml.gz``) or zip (``grid.xml.zip``, as ShakeMap 3.5 published
    it) bytes; other bytes as they are. At most :data:`MAX_GRID_BYTES` are unpacked."""
    if data[:2] == GZIP_MAGIC:
        try:
            inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
            out = inflater.decompress(data, MAX_GRID_BYTES + 1)
        except zlib.error as exc:
            raise _fail(source, f"gzip data that cannot be decompressed ({exc})") from exc
        if len(out) > MAX_GRID_BYTES:
            raise _fail(source, f"unpacks to more than {MAX_GRID_BYTES // 2**20} MiB: not a ShakeMap grid.xml")
        return out
    if data[:4] == _ZIP_MAGIC:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                names = [i for i in zf.infolist() if i.filename.rsplit("/", 1)[-1] == "grid.xml"]
                if len(names) != 1:
                    found = ", ".join(i.filename for i in zf.infolist()[:5])
                    raise _fail(source, f"a zip archive without exactly one grid.xml (it holds {found})")
                if names[0].file_size > MAX_GRID_BYTES:
                    raise _fail(source, f"grid.xml in the zip is over {MAX_GRID_BYTES // 2**20} MiB")
                with zf.open(names[0]) as fh:
                    out = fh.read(MAX_GRID_BYTES + 1)  # the size the archive states may be false
                if len(out) > MAX_GRID_BYTES:
                    raise _fail(source, f"grid.xml in the zip is over {MAX_GRID_BYTES // 2**20} MiB")
                return out
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise _fail(source, f"a zip archive that cannot be read ({exc})") from exc
    return data


def parse_shakemap_grid(data: bytes, source: str = "grid.xml", expected_ids: set[str] | None = None) -> ShakeMapGridData:  # noqa: C901
    """Parse the bytes of a ``grid.xml``, also gzipped or zipped (see the module notes for what is refused)."""
    data = _unpack(data, source)
    start = data.find(_DATA_OPEN)
    if start < 0:
        m = _PREFIXED_OPEN.search(data)
        if m is None:
            raise _fail(source, "no <grid_data> element: truncated or not a ShakeMap grid.xml")
        raise _fail(source, "a prefixed <grid_data>: expected a grid.xml in the default ShakeMap namespace")
    end = data.find(_DATA_CLOSE, start)
    if end < 0:
        raise TruncatedGrid("truncated: </grid_data> is missing (the download or the file was cut short)", source)
    root = _header(data[:start], source)
    qname = etree.QName(root)
    if qname.localname != "shakemap_grid":
        raise _fail(source, f"root element <{qname.localname}>: expected <shakemap_grid>")
    agency = AGENCY_NAMESPACES.get(qname.namespace or "")
    if agency is None:
        known = ", ".join(f"{v} {k}" for k, v in AGENCY_NAMESPACES.items())
        raise _fail(source, f"namespace {qname.namespace!r} is not a known ShakeMap namespace (expected {known})")
    ns = f"{{{qname.namespace}}}"
    event_el = root.find(f"{ns}event")
    spec = root.find(f"{ns}grid_specification")
    if spec is None:
        raise _fail(source, "no <grid_specification>: expected nlon and nlat")
    fields = sorted(
        ((int(f.get("index", "0")), f.get("name", "").upper(), f.get("units", "")) for f in root.iter(f"{ns}grid_field")),
    )
    names = [n for _, n, _ in fields]
    if [i for i, _, _ in fields] != list(range(1, len(fields) + 1)):
        raise _fail(source, f"grid_field indexes {[i for i, _, _ in fields]}: expected 1..{len(fields)}")
    for required in ("LON", "LAT", "MMI"):
        if required not in names:
            raise _fail(source, f"no {required} grid_field (fields: {', '.join(names)}): expected LON, LAT and MMI")
    try:
        nlon, nlat = int(spec.get("nlon", "")), int(spec.get("nlat", ""))
    except ValueError as exc:
        raise _fail(source, f"grid_specification nlon/nlat are not integers: {exc}") from exc
    if nlon < 2 or nlat < 2:
        raise _fail(source, f"grid of {nlon} x {nlat} points: expected at least 2 x 2")
    ids = {root.get("event_id", ""), root.get("shakemap_id", ""), (event_el.get("event_id", "") if event_el is not None else "")}
    ids.discard("")
    if expected_ids and not _id_matches(ids, expected_ids):
        raise _fail(
            source, f"grid of event {', '.join(sorted(ids)) or '(none)'}: expected event {', '.join(sorted(expected_ids))}"
        )
    nf = len(names)
    columns = _columns(data[start + len(_DATA_OPEN):end], nf, source)
    count = sum(c.size for c in columns)
    want = nlon * nlat * nf
    if count != want or any(c.size != nlon * nlat for c in columns):
        raise TruncatedGrid(
            f"{count} numbers in <grid_data>: expected {nlon} x {nlat} points x {nf} fields = {want} (truncated?)", source
        )
    cols = {n: columns[k].reshape(nlat, nlon) for k, n in enumerate(names)}
    lons = cols["LON"][0, :].copy()
    lats = cols["LAT"][:, 0].copy()
    if np.any(np.diff(lons) < 0):  # a grid across the date line: keep longitudes increasing (> 180)
        lons = np.where(lons < lons[0], lons + 360.0, lons)
    if not (np.all(np.diff(lons) > 0) and (np.all(np.diff(lats) < 0) or np.all(np.diff(lats) > 0))):
        raise _fail(source, "grid rows are not a regular lon/lat raster: expected longitudes increasing along a row")
    return ShakeMapGridData(
        agency=agency,
        namespace=qname.namespace or "",
        event_id=root.get("event_id", "") or (event_el.get("event_id", "") if event_el is not None else ""),
        shakemap_id=root.get("shakemap_id", ""),
        shakemap_version=root.get("shakemap_version", ""),
        code_version=root.get("code_version", ""),
        originator=root.get("shakemap_originator", ""),
        process_timestamp=root.get("process_timestamp", ""),
        map_status=root.get("map_status", ""),
        event=dict(event_el.attrib) if event_el is not None else {},
        lons=lons,
        lats=lats,
        fields={n: c for n, c in cols.items() if n not in ("LON", "LAT")},
        units={n: u for _, n, u in fields},
        source=source,
        header={k: str(v) for k, v in spec.attrib.items()},
    )


def _columns(block: bytes, nfields: int, source: str) -> list[NDArray[np.float64]]:
    """The data block as one array per field, in file order.

    Fast path: Arrow's multi-threaded CSV reader with a single-space delimiter (how ShakeMap writes
    the block); its columns become numpy arrays without a copy. Any irregular spacing or a short
    last line makes Arrow refuse the block; it is then read by a plain split, and the caller's count
    check reports what is missing."""
    body = block.strip()
    if not body:
        return [np.zeros(0) for _ in range(nfields)]
    if not body.isascii():
        raise _fail(source, "non-ASCII bytes in <grid_data>: expected numbers only")
    names = [f"f{i}" for i in range(nfields)]
    try:
        table = pcsv.read_csv(
            pa.BufferReader(body),
            read_options=pcsv.ReadOptions(column_names=names),
            parse_options=pcsv.ParseOptions(delimiter=" "),
            convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.float64())),
        )
        if table.num_rows and table.num_columns == nfields and all(c.null_count == 0 for c in table.columns):
            return [c.to_numpy() for c in table.combine_chunks().columns]
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    try:
        flat = np.array(body.split(), dtype=np.float64)
    except ValueError as exc:
        raise _fail(source, f"<grid_data> holds a value that is not a number: {exc}") from exc
    if flat.size % nfields:
        return [flat]  # not a whole number of rows: the count check names the shortfall
    rows = flat.reshape(-1, nfields)
    return [np.ascontiguousarray(rows[:, k]) for k in range(nfields)]


def read_shakemap_grid(path: Path | str, expected_ids: set[str] | None = None) -> ShakeMapGridData:
    """:func:`parse_shakemap_grid` of a file (the error names the path)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ShakeMapGridError(f"cannot read: {exc}", str(p)) from exc
    return parse_shakemap_grid(data, str(p), expected_ids)
