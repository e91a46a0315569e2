"""QuakeML reader: field-by-field agreement with ObsPy on real files, edge cases, security, memory."""

from __future__ import annotations

import gzip
import http.server
import io
import math
import re
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from catalogs.errors import ParseError
from catalogs.parse_common import ParseProblem
from catalogs.quakeml import parse_quakeml
from catalogs.rows import SOLUTION_ROW_SCHEMA

DATA = Path(__file__).parent / "data" / "catalogs"
ROOT = Path(__file__).resolve().parents[1]
REGION_ORDER = ("region name", "Flinn-Engdahl region", "earthquake name")


# --- the reference flattening of an ObsPy catalog (what the tests compare against) ------------
def _agency(obj: Any) -> str | None:
    ci = getattr(obj, "creation_info", None)
    if ci is None:
        return None
    return ci.agency_id or ci.author or None


def _reference_id(ev: Any) -> str:
    extra = getattr(ev, "extra", None) or {}
    if "eventid" in extra:
        source = extra["eventsource"]["value"] if "eventsource" in extra else ""
        code = extra["eventid"]["value"]
        return code if code.startswith(source) else source + code
    rid = str(ev.resource_id)
    m = re.search(r"(?:evid|eventid)=([^&;#]+)", rid, re.IGNORECASE)
    return m.group(1) if m else rid.rstrip("/").split("/")[-1]


def _reference_region(ev: Any) -> str | None:
    by_type = {d.type: d.text for d in ev.event_descriptions if d.text}
    for t in REGION_ORDER:
        if by_type.get(t):
            return str(by_type[t])
    return by_type.get(None)


def obspy_reference(cat: Any) -> dict[str, dict[str, Any]]:
    """The obvious flattening of ObsPy objects: preferred (else first) origin and magnitude."""
    out: dict[str, dict[str, Any]] = {}
    for ev in cat:
        o = ev.preferred_origin() or (ev.origins[0] if ev.origins else None)
        m = ev.preferred_magnitude() or (ev.magnitudes[0] if ev.magnitudes else None)
        status = None
        if o is not None:
            status = o.evaluation_status or o.evaluation_mode
        updated = ev.creation_info.creation_time if ev.creation_info and ev.creation_info.creation_time else None
        if updated is None and o is not None and o.creation_info is not None:
            updated = o.creation_info.creation_time
        out[_reference_id(ev)] = {
            "origin_time_us": o.time.ns // 1000 if o is not None and o.time is not None else None,
            "origin_latitude_deg": o.latitude if o is not None else None,
            "origin_longitude_deg": o.longitude if o is not None else None,
            "origin_depth_km": o.depth / 1000 if o is not None and o.depth is not None else None,
            "magnitude_value": m.mag if m is not None else None,
            "magnitude_type": (m.magnitude_type or None) if m is not None else None,
            "magnitude_author": _agency(m) if m is not None else None,
            "origin_agency": _agency(o) if o is not None else None,
            "review_status": status.lower() if status else None,
            "event_type": ev.event_type,
            "region_name": _reference_region(ev),
            "updated_us": updated.ns // 1000 if updated is not None else None,
        }
    return out


def ours(table: pa.Table) -> dict[str, dict[str, Any]]:
    t = table.append_column("origin_time_us", pc.cast(table.column("origin_time_utc"), pa.int64()))
    t = t.append_column("updated_us", pc.cast(table.column("updated_time_utc"), pa.int64()))
    return {r["provider_event_id"]: r for r in t.to_pylist()}


def assert_same(mine: dict[str, Any], ref: dict[str, Any], where: str) -> None:
    for key, want in ref.items():
        got = mine[key]
        if isinstance(want, float) and got is not None:
            assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12), f"{where} {key}: {got!r} != {want!r}"
        else:
            assert got == want, f"{where} {key}: {got!r} != {want!r}"


def read_obspy(path: Path | bytes, **kw: Any) -> tuple[Any, list[str]]:
    import obspy

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cat = obspy.read_events(io.BytesIO(path) if isinstance(path, bytes) else str(path), **kw)
    return cat, [str(w.message) for w in caught]


QUAKEML_FILES = sorted((Path(__file__).resolve().parents[2] / "shared" / "data" / "catalogs" / "quakeml").glob("*"))


@pytest.mark.parametrize("name", [p.name for p in QUAKEML_FILES] or ["(absent)"])
@pytest.mark.slow
def test_every_shared_quakeml_file_matches_obspy(shared_data: Path, name: str) -> None:
    path = shared_data / "catalogs" / "quakeml" / name
    table = parse_quakeml(path)
    assert table.schema == SOLUTION_ROW_SCHEMA
    cat, obspy_warnings = read_obspy(path)
    mine, ref = ours(table), obspy_reference(cat)
    assert set(ref) <= set(mine)
    # ObsPy drops events whose type is outside the QuakeML vocabulary (it warns); we keep them.
    dropped = [w for w in obspy_warnings if "does not comply with QuakeML standard" in w]
    assert len(mine) - len(ref) == len(dropped)
    for event_id, want in ref.items():
        assert_same(mine[event_id], want, f"{name} {event_id}")
    refs = table.column("source_ref").to_pylist()
    assert refs == [f"{name}#{i}" for i in range(1, table.num_rows + 1)]


def test_providers_and_ids_follow_the_documented_rules(shared_data: Path) -> None:
    q = shared_data / "catalogs" / "quakeml"
    expect = {
        "isc_bulletin_2004-12-26_mag6plus.qml": ("ISC", "7453151"),
        "usgs_comcat_2008-01_m6plus.qml": ("USGS", "usp000fvt8"),
        "sed_fdsnws_2024-01_query.xml": ("SED", "2024avbpsd"),
        "ingv_25883121_5mags_picks.qml": ("INGV", "25883121"),
        "obspy_neries_events.xml": ("EMSC", "20120404_0000041"),
        "obspy_usgs_event.xml": ("USGS", "ci37285320"),
        "obspy_ipec_2024-09_bulletin.xml": ("IPEC", "2032247"),
    }
    for name, (provider, first_id) in expect.items():
        row = parse_quakeml(q / name).slice(0, 1).to_pylist()[0]
        assert (row["provider"], row["provider_event_id"]) == (provider, first_id), name
    assert set(parse_quakeml(q / "obspy_usgs_event.xml", provider="ComCat").column("provider").to_pylist()) == {
        "ComCat"
    }


def test_event_without_magnitude_and_without_preferred_ids() -> None:
    row = parse_quakeml(DATA / "quakeml_no_magnitude.xml").to_pylist()[0]
    assert row["magnitude_value"] is None and row["magnitude_type"] is None and row["magnitude_author"] is None
    assert row["origin_depth_km"] == 12.0
    assert row["review_status"] == "automatic"
    assert row["provider_event_id"] == "nomag-1"
    assert row["provider"] == "EXA"  # no known authority, no event agency: the origin's agency


def test_two_origins_prefixed_namespace_and_comcat_attributes() -> None:
    first, second = parse_quakeml(DATA / "quakeml_two_origins.xml").to_pylist()
    # event 1: the preferred (second) origin and magnitude
    assert (first["origin_latitude_deg"], first["origin_depth_km"]) == (1.5, 15.5)
    assert first["origin_time_utc"].isoformat() == "2021-01-01T00:00:01.500000+00:00"
    assert (first["magnitude_value"], first["magnitude_type"], first["magnitude_author"]) == (5.7, "Mw", "GCMT")
    assert (first["origin_agency"], first["review_status"]) == ("B-AUTHOR", "reviewed")
    assert first["provider_event_id"] == "two-1"
    # event 2: no preferred ids -> the first origin and magnitude; ComCat id from catalog: attributes
    assert (second["origin_latitude_deg"], second["magnitude_value"]) == (-45.0, 4.1)
    assert second["origin_time_utc"].microsecond == 1
    assert second["origin_depth_km"] is None
    assert (second["provider"], second["provider_event_id"]) == ("USGS", "xx1234")
    assert second["event_type"] == "quarry blast"


def test_inputs_path_bytes_stream_and_gzip(tmp_path: Path) -> None:
    path = DATA / "quakeml_two_origins.xml"
    data = path.read_bytes()
    gz = tmp_path / "x.qml.gz"
    gz.write_bytes(gzip.compress(data))
    tables = [
        parse_quakeml(path),
        parse_quakeml(str(path)),
        parse_quakeml(data, source_name="quakeml_two_origins.xml"),
        parse_quakeml(io.BytesIO(data), source_name="quakeml_two_origins.xml"),
        parse_quakeml(gz, source_name="quakeml_two_origins.xml"),
    ]
    for t in tables[1:]:
        assert t.equals(tables[0])
    assert parse_quakeml(data).column("source_ref")[0].as_py() == "<bytes>#1"


def test_billion_laughs_is_refused_without_expansion() -> None:
    with pytest.raises(ParseError, match=r"billion_laughs.xml.*DOCTYPE") as err:
        parse_quakeml(DATA / "billion_laughs.xml")
    assert "lollol" not in str(err.value) and "line 2" in str(err.value)


def test_parser_options_alone_never_expand_entities() -> None:
    """Second line of defence: past the prolog check, libxml2 either leaves the entities unexpanded
    or stops at its amplification limit; it never builds the gigabyte of text."""
    from lxml import etree

    from catalogs.quakeml import _secure_iterparse

    texts = []
    try:
        for _, ev in _secure_iterparse(io.BytesIO((DATA / "billion_laughs.xml").read_bytes())):
            texts.append("".join(ev.itertext()))
    except etree.XMLSyntaxError as exc:
        assert "amplification" in str(exc) or "entity" in str(exc).lower()
    else:
        assert texts and all(len(t) < 10_000 for t in texts)


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        body = b"<!ENTITY leak 'SERVER-CANARY'>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def loopback_server() -> Iterator[str]:
    _CountingHandler.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _xxe(system_id: str) -> bytes:
    return (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE quakeml [ <!ENTITY xxe SYSTEM "{system_id}"> ]>\n'
        '<quakeml xmlns="http://quakeml.org/xmlns/bed/1.2"><eventParameters publicID="smi:a.b/c">'
        '<event publicID="smi:a.b/e/1"><description><type>region name</type><text>&xxe;</text></description>'
        "</event></eventParameters></quakeml>"
    ).encode()


def test_external_entities_are_neither_read_nor_fetched(tmp_path: Path, loopback_server: str) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("FILE-CANARY-7c1e")
    for system_id in (canary.as_uri(), "file:///etc/passwd", f"{loopback_server}/evil.dtd"):
        with pytest.raises(ParseError, match="DOCTYPE") as err:
            parse_quakeml(_xxe(system_id), source_name="xxe.xml")
        assert "FILE-CANARY" not in str(err.value) and "root:" not in str(err.value)
    # an external DTD in the DOCTYPE itself is not loaded either
    external_dtd = f'<?xml version="1.0"?><!DOCTYPE quakeml SYSTEM "{loopback_server}/q.dtd"><quakeml/>'.encode()
    with pytest.raises(ParseError, match="DOCTYPE"):
        parse_quakeml(external_dtd, source_name="dtd.xml")
    assert _CountingHandler.hits == []


def test_truncated_and_malformed_xml_name_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match=r"^truncated\.xml: malformed XML at line \d+") as err:
        parse_quakeml(DATA / "truncated.xml")
    assert err.value.source == "truncated.xml"
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b'<?xml version="1.0"?>\n<quakeml>\n<eventParameters>\n<event publicID="x">\n</origin>')
    with pytest.raises(ParseError, match=r"bad\.xml: malformed XML at line 5"):
        parse_quakeml(bad)
    for data, why in ((b"", "empty|malformed"), (b"<html><body/></html>", "not a QuakeML document")):
        with pytest.raises(ParseError, match=why):
            parse_quakeml(data, source_name="odd.xml")


def _one_event(
    lat: str = "10", lon: str = "20", depth: str = "5000", mag: str = "5", time: str = "2020-01-01T00:00:00Z"
) -> bytes:
    return (
        '<quakeml xmlns="http://quakeml.org/xmlns/bed/1.2"><eventParameters publicID="smi:a.b/c">'
        '<event publicID="smi:a.b/e/ok"><origin publicID="smi:a.b/o/ok"><time><value>2020-01-01T00:00:00Z</value></time>'
        "<latitude><value>1</value></latitude><longitude><value>1</value></longitude></origin></event>"
        '<event publicID="smi:a.b/e/bad"><origin publicID="smi:a.b/o/1">'
        f"<time><value>{time}</value></time><latitude><value>{lat}</value></latitude>"
        f"<longitude><value>{lon}</value></longitude><depth><value>{depth}</value></depth></origin>"
        f'<magnitude publicID="smi:a.b/m/1"><mag><value>{mag}</value></mag></magnitude></event>'
        "</eventParameters></quakeml>"
    ).encode()


@pytest.mark.parametrize(
    ("kwargs", "column"),
    [
        ({"lat": "91"}, "origin/latitude/value"),
        ({"lon": "-180.5"}, "origin/longitude/value"),
        ({"lat": "NaN"}, "origin/latitude/value"),
        ({"lon": "abc"}, "origin/longitude/value"),
        ({"depth": "900000"}, "origin/depth/value"),
        ({"depth": "-10001"}, "origin/depth/value"),
        ({"mag": "11"}, "magnitude/mag/value"),
        ({"mag": "inf"}, "magnitude/mag/value"),
        ({"time": "1899-12-31T23:59:59Z"}, "origin/time/value"),
        ({"time": "2999-01-01T00:00:00Z"}, "origin/time/value"),
        ({"time": "yesterday"}, "origin/time/value"),
    ],
)
def test_bad_values_raise_or_are_reported(kwargs: dict[str, str], column: str) -> None:
    data = _one_event(**kwargs)
    with pytest.raises(ParseError) as err:
        parse_quakeml(data, source_name="bad.qml")
    e = err.value
    assert (e.source, e.row) == ("bad.qml", 2)
    assert e.column is not None and e.column.startswith(column) and "line 1" in e.column
    assert "expected" in str(e)
    rows, problems = parse_quakeml(data, source_name="bad.qml", strict=False)
    assert rows.column("provider_event_id").to_pylist() == ["ok"]
    assert len(problems) == 1 and isinstance(problems[0], ParseProblem)
    assert (problems[0].row, problems[0].source) == (2, "bad.qml")


_MEMORY_PROBE = r"""
import resource, sys
from catalogs.quakeml import parse_quakeml
EVENT = open(sys.argv[1], "rb").read()
N = int(sys.argv[2])
HEAD = b'<quakeml xmlns="http://quakeml.org/xmlns/bed/1.2"><eventParameters publicID="smi:a.b/c">'
TAIL = b"</eventParameters></quakeml>"

class Stream:
    # a QuakeML document of N copies of one real event, generated as it is read
    def __init__(self):
        self.i = -1
        self.buf = b""

    def _next(self):
        if self.i < 0:
            chunk = HEAD
        elif self.i < N:
            chunk = EVENT.replace(b"__N__", str(self.i).encode())
        elif self.i == N:
            chunk = TAIL
        else:
            return None
        self.i += 1
        return chunk

    def read(self, n=-1):
        n = 65536 if n is None or n < 0 else n
        while len(self.buf) < n:
            chunk = self._next()
            if chunk is None:
                break
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

parse_quakeml(HEAD + TAIL)  # warm up imports and kernels
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rows = parse_quakeml(Stream(), source_name="stream")
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(rows.num_rows, len(EVENT) * N, (after - before) * 1024)
"""


@pytest.mark.slow
def test_memory_stays_bounded_on_a_long_stream(shared_data: Path, tmp_path: Path) -> None:
    """200 copies of a real 0.5 MB event (INGV, with picks and station magnitudes: ~110 MB streamed)
    are read with a peak memory growth of a few events, not of the document."""
    from lxml import etree

    src = shared_data / "catalogs" / "quakeml" / "ingv_25883121_5mags_picks.qml"
    event = etree.parse(str(src)).getroot().find(".//{*}event")
    assert event is not None
    event.set("publicID", "smi:webservices.ingv.it/fdsnws/event/1/query?eventId=__N__")
    event_file = tmp_path / "event.xml"
    event_file.write_bytes(etree.tostring(event))
    n = 200
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(event_file), str(n)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=True,
    )
    rows, streamed, grown = (int(x) for x in out.stdout.split())
    assert rows == n
    assert streamed > 100_000_000
    assert grown < streamed / 4, f"peak memory grew by {grown:,} bytes for {streamed:,} bytes streamed"
