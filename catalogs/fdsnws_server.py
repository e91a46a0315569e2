"""A real FDSN event web service on 127.0.0.1, with request caps and fault injection.

Product code: the offline demo and ``expedition catalog serve`` use it, and the tests point ObsPy's
real FDSN client at it. Standard library only (``http.server.ThreadingHTTPServer``)::

    with serve_events(rows, cap=500) as server:          # port 0: any free port
        server.faults.push("503", times=2, retry_after=1)
        Client(server.url).get_events(starttime=..., filename=buf)
        server.requests                                   # what was asked and answered

Endpoints under ``/fdsnws/event/1/``: ``query`` (see :mod:`catalogs.fdsnws_query` for the
parameters; answers through :func:`catalogs.quakeml_write.write_quakeml` /
:func:`~catalogs.quakeml_write.write_fdsn_text`), ``version``, ``application.wadl``,
``catalogs``, ``contributors``. Dataselect and station paths answer 404, so ObsPy marks those
services absent. ``/earthquakes/feed/v1.0/summary/<level>_<period>.geojson`` serves a USGS-style
GeoJSON summary feed of the same rows (periods count back from ``feed_now``, by default the latest
origin time served; ``significant`` is approximated as M >= 6).

Products (ComCat style): ``query?eventid=ID&format=geojson`` answers the event detail document
published with :meth:`FDSNEventServer.publish_detail` for that id (any of its ``ids``), else a
detail without products built from the served row, else no data (204/404). ``publish_detail``
serves the given files (e.g. ``download/grid.xml``) under ``/product/...`` and rewrites the
document's content URLs to them. ``format=geojson`` without ``eventid`` answers the selection as
a GeoJSON ``FeatureCollection``.

Caps: with ``cap`` set, a query matching more than ``cap`` events answers 413 (``cap_mode='413'``)
or silently returns the first ``cap`` (``cap_mode='truncate'``, as some services do).

Faults (``server.faults.push(kind, times=1, path='query', retry_after=1, seconds=None,
message=None)``), applied to the next ``times`` requests whose path contains ``path``:
``500``; ``503`` and ``429`` with ``Retry-After``; ``timeout`` (no answer for ``seconds``, default
until the server closes); ``reset`` (headers, half the body, then a TCP reset); ``truncated``
(a well-framed response holding half the document); ``html200`` (an HTML error page with status
200); ``empty200``; ``413``; ``400`` (with ``message``); ``hold`` (not a failure: the request is
recorded, then answered normally once ``gate`` is set, so a test can stop a client at a known point).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Literal, get_args
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from catalogs.errors import CatalogError
from catalogs.fdsnws_query import EventIndex, EventQuery, QueryError, parse_query

log = logging.getLogger(__name__)

__all__ = ["FaultKind", "Faults", "RequestRecord", "FDSNEventServer", "serve_events"]

FaultKind = Literal["500", "503", "429", "timeout", "reset", "truncated", "html200", "empty200", "413", "400", "hold"]
CapMode = Literal["413", "truncate"]
SERVICE_VERSION = "1.2.0"
EVENT_PATH = "/fdsnws/event/1"
FEED_PATH = "/earthquakes/feed/v1.0/summary/"
PRODUCT_PATH = "/product/"
FEED_LEVELS = {"significant": 6.0, "4.5": 4.5, "2.5": 2.5, "1.0": 1.0, "all": None}
FEED_PERIODS = {"hour": 3600, "day": 86_400, "week": 7 * 86_400, "month": 30 * 86_400}


@dataclass
class _Fault:
    kind: str
    remaining: int
    path: str
    retry_after: float
    seconds: float | None
    message: str | None
    gate: threading.Event | None = None


class Faults:
    """Queue of injected faults (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Fault] = []

    def push(self, kind: FaultKind | str, times: int = 1, *, path: str = "query", retry_after: float = 1,
             seconds: float | None = None, message: str | None = None, gate: threading.Event | None = None) -> None:
        """Make the next ``times`` requests whose path contains ``path`` fail with ``kind``.

        ``hold`` is not a failure: the request is recorded, then answered normally once ``gate`` is
        set (or after ``seconds``), which lets a test stop a client at a known point."""
        if kind not in get_args(FaultKind):
            raise CatalogError(f"unknown fault {kind!r}; known: {', '.join(get_args(FaultKind))}")
        if kind == "hold" and gate is None:
            raise CatalogError("a hold fault needs a gate (threading.Event) to release it")
        with self._lock:
            self._queue.append(_Fault(str(kind), times, path, retry_after, seconds, message, gate))

    def take(self, path: str) -> _Fault | None:
        with self._lock:
            for f in self._queue:
                if f.path in path and f.remaining > 0:
                    f.remaining -= 1
                    if f.remaining == 0:
                        self._queue.remove(f)
                    return f
        return None

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    @property
    def pending(self) -> int:
        with self._lock:
            return sum(f.remaining for f in self._queue)


@dataclass(frozen=True)
class RequestRecord:
    path: str
    params: dict[str, str]
    status: int  # 0 when no answer was sent (timeout, reset)
    fault: str | None
    events: int
    user_agent: str
    received_utc: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


class FDSNEventServer:
    """A running service; see :func:`serve_events`."""

    def __init__(self, rows: pa.Table, host: str = "127.0.0.1", port: int = 0, cap: int | None = None,
                 cap_mode: CapMode = "413", feed_now: dt.datetime | None = None) -> None:
        if cap_mode not in get_args(CapMode):
            raise CatalogError(f"cap_mode must be '413' or 'truncate', got {cap_mode!r}")
        self.cap = cap
        self.cap_mode = cap_mode
        self.feed_now = feed_now
        self.faults = Faults()
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._details: dict[str, bytes] = {}
        self._files: dict[str, tuple[bytes, str]] = {}
        self.set_rows(rows)
        self._httpd = ThreadingHTTPServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        bound_host, self.port = self._httpd.server_address[:2]
        self.host = bound_host.decode() if isinstance(bound_host, bytes) else str(bound_host)
        self.url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=f"fdsnws:{self.port}", daemon=True)
        self._thread.start()
        log.info("FDSN event service on %s (%d events, cap %s)", self.url, rows.num_rows, cap)

    def set_rows(self, rows: pa.Table) -> None:
        """Replace the served catalog (e.g. to publish a revision)."""
        index = EventIndex(rows)
        with self._lock:
            self.index = index

    def publish_detail(self, detail: dict[str, Any], files: dict[str, bytes] | None = None) -> dict[str, Any]:
        """Serve ``detail`` (a ComCat event detail Feature) for every id it names, and ``files``
        (content path -> bytes, e.g. ``{"download/grid.xml": data}``) of every product listing that
        content path; their URLs in the served document point at this server. Returns the document
        as served. Publishing again replaces it (a new product version)."""
        doc = json.loads(json.dumps(detail))
        files = files or {}
        served: dict[str, tuple[bytes, str]] = {}
        for ptype, versions in (doc.get("properties", {}).get("products") or {}).items():
            for prod in versions:
                for name, content in (prod.get("contents") or {}).items():
                    if name in files and isinstance(content, dict):
                        path = f"{PRODUCT_PATH}{ptype}/{prod.get('code')}/{prod.get('source')}/{prod.get('updateTime')}/{name}"
                        content["url"] = f"{self.url}{path}"
                        content["length"] = len(files[name])
                        ctype = "application/xml" if name.endswith(".xml") else "application/octet-stream"
                        served[path] = (files[name], ctype)
        body = json.dumps(doc).encode()
        ids = {str(doc.get("id") or ""), *str(doc.get("properties", {}).get("ids") or "").split(",")} - {""}
        with self._lock:
            self._files.update(served)
            for i in ids:
                self._details[i] = body
        return dict(doc)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def query_requests(self) -> list[RequestRecord]:
        return [r for r in self.requests if r.path.endswith("/query")]

    def _record(self, rec: RequestRecord) -> None:
        with self._lock:
            self._records.append(rec)

    def close(self) -> None:
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FDSNEventServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- answers ---------------------------------------------------------------------------------
    def answer(self, path: str, params: dict[str, list[str]]) -> tuple[int, bytes, str, int]:
        """(status, body, content type, events) for a request without fault."""
        if path.startswith(EVENT_PATH):
            sub = path[len(EVENT_PATH):].strip("/")
            if sub == "query":
                return self._query(params)
            if sub == "version":
                return 200, SERVICE_VERSION.encode(), "text/plain", 0
            if sub == "application.wadl":
                wadl = (resources.files("catalogs.fdsnws_data") / "event.wadl").read_text(encoding="utf-8")
                return 200, wadl.replace("__BASE__", self.url).encode(), "application/xml", 0
            if sub == "catalogs":
                return 200, _simple_xml("Catalogs", "Catalog", ["qe"]), "application/xml", 0
            if sub == "contributors":
                return 200, _simple_xml("Contributors", "Contributor", self.index.providers), "application/xml", 0
            if sub == "":
                return 200, b"Quake Expedition local FDSN event service: see application.wadl\n", "text/plain", 0
        if path.startswith(PRODUCT_PATH):
            with self._lock:
                hit = self._files.get(path)
            if hit is None:
                return 404, b"Error 404: Not Found\n", "text/plain", 0
            return 200, hit[0], hit[1], 0
        if path.startswith(FEED_PATH) and path.endswith(".geojson"):
            return self._feed(path[len(FEED_PATH):-len(".geojson")])
        return 404, b"Error 404: Not Found\n", "text/plain", 0

    def _query(self, params: dict[str, list[str]]) -> tuple[int, bytes, str, int]:
        from catalogs.quakeml_write import write_fdsn_text, write_quakeml

        try:
            q = parse_query(params)
        except QueryError as exc:
            return 400, _error_text(400, "Bad Request", str(exc)), "text/plain", 0
        with self._lock:
            index = self.index
        idx = index.select(q)[q.offset - 1:]
        if q.limit is not None:
            idx = idx[: q.limit]
        if self.cap is not None and len(idx) > self.cap:
            if self.cap_mode == "413":
                msg = (f"the request matches {len(idx)} events, more than the {self.cap} this service returns "
                       "per request; use a smaller time window or a limit")
                return 413, _error_text(413, "Request Entity Too Large", msg), "text/plain", 0
            idx = idx[: self.cap]
        if q.format == "geojson" and q.eventid:
            with self._lock:
                published = self._details.get(q.eventid.strip())
            if published is not None:
                return 200, published, "application/json", 1
        if len(idx) == 0:
            return q.nodata, b"" if q.nodata == 204 else _error_text(404, "Not Found", "no events match"), "text/plain", 0
        rows = index.take(idx)
        if q.format == "geojson":
            feed = geojson_feed(rows, f"{self.url}{EVENT_PATH}/query")
            if not q.eventid:
                return 200, feed, "application/json", len(idx)
            feature = json.loads(feed)["features"][0]  # a detail without products (ComCat's shape)
            feature["properties"]["products"] = {}
            return 200, json.dumps(feature).encode(), "application/json", 1
        if q.format == "text":
            return 200, write_fdsn_text(rows), "text/plain; charset=utf-8", len(idx)
        return 200, write_quakeml(rows), "application/xml", len(idx)

    def _feed(self, name: str) -> tuple[int, bytes, str, int]:
        level, _, period = name.partition("_")
        if level not in FEED_LEVELS or period not in FEED_PERIODS:
            return 404, b"Error 404: unknown feed\n", "text/plain", 0
        with self._lock:
            index = self.index
        now_us = (int(self.feed_now.timestamp() * 1e6) if self.feed_now
                  else int(index.time.max()) if len(index.time) else 0)
        q = EventQuery(starttime=now_us - FEED_PERIODS[period] * 1_000_000, endtime=now_us,
                       minmagnitude=FEED_LEVELS[level])
        rows = index.take(index.select(q))
        return 200, geojson_feed(rows, f"{self.url}{FEED_PATH}{name}.geojson"), "application/json", rows.num_rows


def geojson_feed(rows: pa.Table, url: str) -> bytes:
    """A USGS-style GeoJSON summary ``FeatureCollection`` of solution rows."""

    def ms(col: str) -> list[int | None]:
        return pc.cast(pc.cast(rows.column(col), pa.timestamp("ms", tz="UTC"), safe=False), pa.int64()).to_pylist()

    features = []
    cols = {c: rows.column(c).to_pylist() for c in rows.column_names}
    times, updated = ms("origin_time_utc"), ms("updated_time_utc")
    for i in range(rows.num_rows):
        ids = [cols["provider_event_id"][i], *(cols["alias_ids"][i] or [])]
        features.append({
            "type": "Feature",
            "id": cols["provider_event_id"][i],
            "properties": {
                "mag": cols["magnitude_value"][i], "place": cols["region_name"][i], "time": times[i],
                "updated": updated[i], "status": cols["review_status"][i], "net": cols["origin_agency"][i],
                "ids": "," + ",".join(dict.fromkeys(ids)) + ",", "magType": cols["magnitude_type"][i],
                "type": cols["event_type"][i], "title": f"M {cols['magnitude_value'][i]} - {cols['region_name'][i]}",
            },
            "geometry": {"type": "Point", "coordinates": [
                cols["origin_longitude_deg"][i], cols["origin_latitude_deg"][i], cols["origin_depth_km"][i]]},
        })
    doc = {
        "type": "FeatureCollection",
        "metadata": {"generated": int(dt.datetime.now(dt.UTC).timestamp() * 1000), "url": url,
                     "title": "Quake Expedition local feed", "status": 200, "count": len(features)},
        "features": features,
    }
    return json.dumps(doc, allow_nan=False, default=_no_nan).encode()


def _no_nan(value: Any) -> Any:  # pragma: no cover - json only calls this for unknown types
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    return str(value)


def _simple_xml(root: str, child: str, values: list[str]) -> bytes:
    from xml.sax.saxutils import escape

    inner = "".join(f"<{child}>{escape(v)}</{child}>" for v in values)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}><total>{len(values)}</total>{inner}</{root}>\n'.encode()


def _error_text(status: int, title: str, message: str) -> bytes:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return (f"Error {status}: {title}\n\n{message}\n\nUsage details are available from {EVENT_PATH}/\n\n"
            f"Request Submitted:\n{stamp}\n\nService version:\n{SERVICE_VERSION}\n").encode()


def _make_handler(server: FDSNEventServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"
        server_version = "QuakeExpeditionFDSNWS/" + SERVICE_VERSION

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s " + format, self.address_string(), *args)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = parse_qs(parts.query, keep_blank_values=True)
            flat = {k: v[-1] for k, v in params.items()}
            agent = self.headers.get("User-Agent", "")
            fault = server.faults.take(parts.path)
            if fault is None:
                status, body, ctype, n = server.answer(parts.path, params)
                self._send(status, body, ctype)
                server._record(RequestRecord(parts.path, flat, status, None, n, agent))
                return
            if fault.kind == "timeout":  # recorded before the silence, which may last until close()
                server._record(RequestRecord(parts.path, flat, 0, fault.kind, 0, agent))
                self._fault(fault, parts.path, params)
                return
            if fault.kind == "hold" and fault.gate is not None:  # recorded while held, then answered
                server._record(RequestRecord(parts.path, flat, 0, fault.kind, 0, agent))
                deadline = time.monotonic() + (fault.seconds if fault.seconds is not None else 3600)
                while not fault.gate.wait(0.05) and not server._closing.is_set() and time.monotonic() < deadline:
                    pass
                status, body, ctype, _ = server.answer(parts.path, params)
                self._send(status, body, ctype)
                return
            status = self._fault(fault, parts.path, params)
            server._record(RequestRecord(parts.path, flat, status, fault.kind, 0, agent))

        def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None,
                  length: int | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if body:
                self.wfile.write(body)

        def _fault(self, fault: _Fault, path: str, params: dict[str, list[str]]) -> int:
            kind = fault.kind
            if kind in ("503", "429"):
                title = "Service Unavailable" if kind == "503" else "Too Many Requests"
                self._send(int(kind), _error_text(int(kind), title, "injected fault"), "text/plain",
                           {"Retry-After": str(int(round(fault.retry_after)))})
                return int(kind)
            if kind in ("500", "413", "400"):
                titles = {"500": "Internal Server Error", "413": "Request Entity Too Large", "400": "Bad Request"}
                self._send(int(kind), _error_text(int(kind), titles[kind], fault.message or "injected fault"),
                           "text/plain")
                return int(kind)
            if kind == "html200":
                page = b"<!DOCTYPE html><html><head><title>Maintenance</title></head><body><h1>Down for maintenance</h1></body></html>"
                self._send(200, page, "text/html")
                return 200
            if kind == "empty200":
                self._send(200, b"", "application/xml")
                return 200
            if kind == "timeout":
                server._closing.wait(fault.seconds if fault.seconds is not None else 3600)
                self.close_connection = True
                return 0
            status, body, ctype, _ = server.answer(path, params)
            half = body[: max(1, len(body) // 2)]
            if kind == "truncated":
                self._send(status, half, ctype)
                return status
            # reset: announce the whole body, send half of it, then abort the connection (RST).
            self._send(status, half, ctype, length=len(body))
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return 0

        def finish(self) -> None:
            try:
                super().finish()
            except OSError:  # the connection was reset on purpose
                pass

    return Handler


def serve_events(rows: pa.Table, host: str = "127.0.0.1", port: int = 0, cap: int | None = None,
                 cap_mode: CapMode = "413", feed_now: dt.datetime | None = None) -> FDSNEventServer:
    """Start an FDSN event service for ``rows`` (solution rows) in a background thread.

    The returned server has ``.url`` (base URL for ``obspy.clients.fdsn.Client``), ``.faults``,
    ``.requests``, ``.set_rows()`` and ``.close()``, and is a context manager."""
    return FDSNEventServer(rows, host=host, port=port, cap=cap, cap_mode=cap_mode, feed_now=feed_now)

