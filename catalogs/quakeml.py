"""Streaming QuakeML reader: one solution row per ``<event>``, in bounded memory.

The document is read with ``lxml.etree.iterparse`` over ``<event>`` elements; each event is
flattened and then cleared (with its already-read siblings), so memory stays bounded by the
largest single event however long the file is. Elements are matched by local name, so QuakeML 1.2
BED with or without prefixes, the all-``quakeml/1.2`` namespace of ISC and QuakeML 1.0 (NERIES)
all read the same; ComCat's ``catalog:`` attributes are honoured.

Security: the parser never resolves entities, never loads a DTD, never touches the network and
keeps libxml2's size limits (``resolve_entities=False, no_network=True, load_dtd=False,
huge_tree=False``). QuakeML never needs a DOCTYPE, so a document that declares one (billion laughs,
external entities such as ``file:///etc/passwd``) is refused with :class:`ParseError` before parsing.

Flattening rules (one row per event):

* origin: the one named by ``preferredOriginID``, else the first origin; magnitude likewise with
  ``preferredMagnitudeID``; an event without magnitude gets null magnitude columns;
* times are UTC microseconds (a time without offset is UTC); depth is converted from metres
  (QuakeML) to km, as written, even where a service is known to put km in the field;
* ``review_status``: the origin's ``evaluationStatus`` if present, else its ``evaluationMode``,
  lower case;
* ``event_type``: the event ``type`` in the QuakeML vocabulary (see :mod:`catalogs.providers_map`);
* ``region_name``: the event description of type ``region name``, else ``Flinn-Engdahl region``,
  else ``earthquake name`` (ComCat), else an untyped description;
* ``origin_agency`` / ``magnitude_author``: ``creationInfo/agencyID`` of the origin / magnitude,
  else its ``creationInfo/author``;
* ``updated_time_utc``: the event's ``creationInfo/creationTime``, else the origin's (an
  unparseable creation time is left null: it is metadata, not a solution value);
* ``provider_event_id``: ComCat ``catalog:eventsource`` + ``catalog:eventid`` when present, else the
  ``eventid=``/``evid=`` value of the event ``publicID``, else its last path segment (the same id
  the provider prints as ``EventID`` in FDSN text);
* ``provider``: the caller's argument, else the publicID authority when well known, else the
  event's ``creationInfo/agencyID``, else the document's, else the origin agency, else the
  authority itself (``UNKNOWN`` when there is none);
* ``source_ref``: ``<file name>#<event number>`` (1-based, in document order).
"""

from __future__ import annotations

import logging
import re
import zlib
from typing import IO, Any, Literal, overload

import pyarrow as pa
from lxml import etree

from catalogs.errors import ParseError
from catalogs.parse_common import (
    ParseProblem,
    PrefixedReader,
    SourceLike,
    assemble,
    check_rows,
    empty_lists,
    finish,
    iso_to_us,
    open_binary,
    source_label,
    source_refs,
)
from catalogs.providers_map import (
    UNKNOWN_PROVIDER,
    authority,
    event_id_from_public_id,
    normalize_event_type,
    normalize_status,
    provider_from_agency,
    provider_from_public_id,
)
from catalogs.rows import SOLUTION_ROW_SCHEMA

__all__ = ["parse_quakeml"]

log = logging.getLogger(__name__)

HEAD_BYTES = 65536
BATCH_EVENTS = 8192  # events accumulated as Python values before moving to Arrow
REGION_PRIORITY = {"region name": 0, "flinn-engdahl region": 1, "earthquake name": 2, "": 3}
_ROOT_START = re.compile(rb"<[A-Za-z_]")
_DECLS = (b"<!DOCTYPE", b"<!ENTITY")
_ROOT_NAMES = {"quakeml", "eventParameters"}

COLUMN_NAMES = {
    "origin_time_utc": "origin/time/value",
    "origin_latitude_deg": "origin/latitude/value",
    "origin_longitude_deg": "origin/longitude/value",
    "origin_depth_km": "origin/depth/value",
    "magnitude_value": "magnitude/mag/value",
}


class _Local(dict[Any, str]):
    """Cache of element tag -> local name ('' for comments, entities and other non-elements)."""

    def __missing__(self, tag: Any) -> str:
        name = tag.rpartition("}")[2] if isinstance(tag, str) else ""
        self[tag] = name
        return name


def _secure_iterparse(stream: IO[bytes] | PrefixedReader) -> etree.iterparse:
    """``iterparse`` over ``<event>`` ends with every external-access feature switched off."""
    return etree.iterparse(
        stream,
        events=("end",),
        tag="{*}event",
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def _guard_prolog(raw: IO[bytes], label: str) -> PrefixedReader:
    """Refuse documents that declare a DOCTYPE or entities; return a stream over the whole input."""
    head = raw.read(HEAD_BYTES)
    probe = head
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        probe = head.decode("utf-16", errors="ignore").encode("utf-8")
    m = _ROOT_START.search(probe)
    prolog = probe[: m.start()] if m else probe
    if any(d in prolog for d in _DECLS):
        line = prolog[: min(prolog.find(d) for d in _DECLS if d in prolog)].count(b"\n") + 1
        raise ParseError(
            f"line {line}: refusing an XML document that declares a DOCTYPE or entities "
            "(QuakeML never needs one; entity expansion and external entities are not allowed)",
            label,
        )
    return PrefixedReader(head, raw)


def _value(el: Any, loc: _Local) -> str | None:
    """Text of the ``<value>`` child of a QuakeML quantity (``<time><value>...``)."""
    for c in el:
        if loc[c.tag] == "value":
            t = c.text
            return t.strip() if t else None
    return None


def _creation(el: Any, loc: _Local) -> tuple[str | None, str | None, str | None]:
    """(agencyID, author, creationTime) of a ``creationInfo`` element."""
    agency = author = ctime = None
    for c in el:
        name = loc[c.tag]
        t = c.text.strip() if c.text else None
        if name == "agencyID":
            agency = t or None
        elif name == "author":
            author = t or None
        elif name == "creationTime":
            ctime = t or None
    return agency, author, ctime


class _Flattener:
    """Accumulates one row per event; raises or records problems for bad values."""

    def __init__(self, label: str, provider: str | None, strict: bool) -> None:
        self.label = label
        self.provider = provider
        self.strict = strict
        self.loc = _Local()
        self.doc_agency: str | None = None
        self.problems: list[ParseProblem] = []
        self.batches: list[pa.RecordBatch] = []
        self.cols: dict[str, list[Any]] = {name: [] for name in _RAW_SCHEMA.names}

    def _bad(self, number: int, column: str, el: Any, text: str, expected: str) -> None:
        problem = ParseProblem(self.label, number, f"{column} (line {el.sourceline})", text, expected)
        if self.strict:
            raise problem.to_error()
        self.problems.append(problem)

    def _float(self, text: str | None, number: int, column: str, el: Any, expected: str) -> float | None:
        if text is None or text == "":
            return None
        try:
            return float(text)
        except ValueError:
            self._bad(number, column, el, text, expected)
            raise

    def event(self, ev: Any, number: int) -> None:
        loc = self.loc
        origins: list[Any] = []
        mags: list[Any] = []
        pref_o = pref_m = etype = None
        region: tuple[int, str] | None = None
        ev_agency = ev_ctime = None
        for c in ev:
            name = loc[c.tag]
            if name == "origin":
                origins.append(c)
            elif name == "magnitude":
                mags.append(c)
            elif name == "preferredOriginID":
                pref_o = c.text.strip() if c.text else None
            elif name == "preferredMagnitudeID":
                pref_m = c.text.strip() if c.text else None
            elif name == "type":
                etype = c.text
            elif name == "description":
                region = _better_region(c, loc, region)
            elif name == "creationInfo":
                ev_agency, _, ev_ctime = _creation(c, loc)
        origin = _pick(origins, pref_o)
        mag = _pick(mags, pref_m)
        public_id = (ev.get("publicID") or "").strip()
        try:
            o = self._origin(origin, number) if origin is not None else (None,) * 8
            m = self._magnitude(mag, number) if mag is not None else (None,) * 3
        except ValueError:
            return  # recorded as a problem (non-strict); the event is dropped
        (t_us, lat, lon, depth_km, status, agency, o_ctime, t_text) = o
        cols = self.cols
        cols["provider"].append(self._provider(public_id, ev_agency, agency))
        cols["provider_event_id"].append(_event_id(ev, public_id, number))
        cols["origin_time_utc"].append(t_us)
        cols["origin_latitude_deg"].append(lat)
        cols["origin_longitude_deg"].append(lon)
        cols["origin_depth_km"].append(depth_km)
        cols["magnitude_value"].append(m[0])
        cols["magnitude_type"].append(m[1])
        cols["magnitude_author"].append(m[2])
        cols["origin_agency"].append(agency)
        cols["review_status"].append(status)
        cols["event_type"].append(normalize_event_type(etype))
        cols["region_name"].append(region[1] if region else None)
        cols["updated_time_utc"].append(_lenient_time(ev_ctime or o_ctime))
        cols["number"].append(number)
        cols["line"].append(ev.sourceline)
        if len(cols["number"]) >= BATCH_EVENTS:
            self.flush()

    def _origin(self, o: Any, number: int) -> tuple[Any, ...]:
        loc = self.loc
        t_us = lat = lon = depth_km = None
        status = mode = agency = author = ctime = t_text = None
        for c in o:
            name = loc[c.tag]
            if name == "time":
                t_text = _value(c, loc)
                if t_text:
                    try:
                        t_us = iso_to_us(t_text)
                    except ValueError:
                        self._bad(number, "origin/time/value", c, t_text, "an ISO 8601 UTC time")
                        raise
            elif name == "latitude":
                lat = self._float(_value(c, loc), number, "origin/latitude/value", c, "a number (degrees)")
            elif name == "longitude":
                lon = self._float(_value(c, loc), number, "origin/longitude/value", c, "a number (degrees)")
            elif name == "depth":
                d = self._float(_value(c, loc), number, "origin/depth/value", c, "a number (metres)")
                depth_km = None if d is None else d / 1000.0
            elif name == "evaluationStatus":
                status = c.text
            elif name == "evaluationMode":
                mode = c.text
            elif name == "creationInfo":
                agency, author, ctime = _creation(c, loc)
        review = normalize_status(status) or normalize_status(mode)
        return t_us, lat, lon, depth_km, review, agency or author, ctime, t_text

    def _magnitude(self, m: Any, number: int) -> tuple[Any, ...]:
        loc = self.loc
        value = mtype = agency = author = None
        for c in m:
            name = loc[c.tag]
            if name == "mag":
                value = self._float(_value(c, loc), number, "magnitude/mag/value", c, "a number")
            elif name == "type":
                mtype = c.text.strip() if c.text else None
            elif name == "creationInfo":
                agency, author, _ = _creation(c, loc)
        return value, mtype or None, agency or author

    def _provider(self, public_id: str, ev_agency: str | None, origin_agency: str | None) -> str:
        if self.provider:
            return self.provider
        return (
            provider_from_public_id(public_id)
            or provider_from_agency(ev_agency)
            or provider_from_agency(self.doc_agency)
            or provider_from_agency(origin_agency)
            or _authority_provider(public_id)
            or UNKNOWN_PROVIDER
        )

    def flush(self) -> None:
        """Move the accumulated values into an Arrow batch (keeps memory per event small)."""
        cols = self.cols
        if not cols["number"]:
            return
        arrays = [
            pa.array(cols[f.name], pa.int64()).cast(f.type)
            if pa.types.is_timestamp(f.type)
            else pa.array(cols[f.name], f.type)
            for f in _RAW_SCHEMA
        ]
        self.batches.append(pa.RecordBatch.from_arrays(arrays, schema=_RAW_SCHEMA))
        for values in cols.values():
            values.clear()

    def table(self) -> tuple[pa.Table, list[ParseProblem]]:
        self.flush()
        raw = pa.Table.from_batches(self.batches, schema=_RAW_SCHEMA)
        numbers = raw.column("number")
        data: dict[str, Any] = {k: raw.column(k) for k in raw.column_names if k not in ("number", "line")}
        data["alias_ids"] = empty_lists(raw.num_rows)
        data["source_ref"] = source_refs(self.label, numbers)
        table = assemble(data)
        return check_rows(table, self.label, COLUMN_NAMES, numbers, self.problems, raw.column("line"))


# The values collected per event: the solution columns but alias_ids/source_ref, plus position.
_RAW_SCHEMA = pa.schema(
    [f for f in SOLUTION_ROW_SCHEMA if f.name not in ("alias_ids", "source_ref")]
    + [pa.field("number", pa.int64()), pa.field("line", pa.int64())]
)


def _authority_provider(public_id: str) -> str | None:
    """The publicID authority itself (upper case) as a last resort; never ``local``."""
    auth = authority(public_id)
    return None if auth.lower() in ("", "local") else provider_from_agency(auth)


def _pick(items: list[Any], preferred: str | None) -> Any:
    if not items:
        return None
    if preferred:
        for it in items:
            pid = it.get("publicID")
            if pid is not None and pid.strip() == preferred:
                return it
    return items[0]


def _better_region(desc: Any, loc: _Local, current: tuple[int, str] | None) -> tuple[int, str] | None:
    dtype = text = None
    for c in desc:
        name = loc[c.tag]
        if name == "type":
            dtype = (c.text or "").strip().lower()
        elif name == "text":
            text = (c.text or "").strip()
    if not text:
        return current
    rank = REGION_PRIORITY.get(dtype or "")
    if rank is None or (current is not None and current[0] <= rank):
        return current
    return rank, text


def _event_id(ev: Any, public_id: str, number: int) -> str:
    source: str | None = None
    code: str | None = None
    for key, value in ev.attrib.items():
        if key.endswith("}eventid"):
            code = str(value).strip()
        elif key.endswith("}eventsource"):
            source = str(value).strip()
    if code:
        return code if not source or code.startswith(source) else source + code
    if public_id:
        return event_id_from_public_id(public_id)
    return f"event-{number}"


def _lenient_time(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return iso_to_us(text)
    except ValueError:
        log.debug("unparseable creationTime %r left null", text)
        return None


@overload
def parse_quakeml(
    source: SourceLike, provider: str | None = None, source_name: str | None = None, *, strict: Literal[True] = True
) -> pa.Table: ...
@overload
def parse_quakeml(
    source: SourceLike, provider: str | None = None, source_name: str | None = None, *, strict: Literal[False]
) -> tuple[pa.Table, list[ParseProblem]]: ...
def parse_quakeml(
    source: SourceLike, provider: str | None = None, source_name: str | None = None, *, strict: bool = True
) -> pa.Table | tuple[pa.Table, list[ParseProblem]]:
    """Flatten a QuakeML document (path, bytes or binary stream) into solution rows.

    Example: ``parse_quakeml("isc.qml")`` -> one row per event with provider ``ISC``.
    Raises :class:`ParseError` (file, event number, column, line) for malformed XML, documents with
    a DOCTYPE, non-QuakeML roots and bad values (with ``strict=False``: returns rows and problems).
    """
    label = source_label(source, source_name)
    flat = _Flattener(label, provider, strict)
    with open_binary(source, label) as raw:
        number = 0
        try:
            context = _secure_iterparse(_guard_prolog(raw, label))
            for _, ev in context:
                parent = ev.getparent()
                if parent is None or flat.loc[parent.tag] != "eventParameters":
                    continue
                number += 1
                if number == 1:
                    _check_document(ev, flat, label)
                flat.event(ev, number)
                ev.clear(keep_tail=False)
                while ev.getprevious() is not None:
                    del parent[0]
        except etree.XMLSyntaxError as exc:
            line, col = exc.position if exc.position else (exc.lineno, 0)
            raise ParseError(f"malformed XML at line {line}, column {col}: {exc.msg}", label) from exc
        except (OSError, EOFError, zlib.error) as exc:  # gzip or stream read failures
            raise ParseError(f"cannot read input: {exc}", label) from exc
        root = getattr(context, "root", None)
        if root is None:
            raise ParseError("empty document: no XML root element", label)
        _check_root(root, flat, label)
    table, problems = flat.table()
    log.debug("%s: %d events, %d problems", label, table.num_rows, len(problems))
    return finish(table, problems, strict)


def _check_document(ev: Any, flat: _Flattener, label: str) -> None:
    """At the first event: no DOCTYPE (second line of defence); remember the document's agency."""
    tree = ev.getroottree()
    if tree.docinfo.doctype:
        raise ParseError("refusing an XML document with a DOCTYPE", label)
    _check_root(tree.getroot(), flat, label)
    for sib in ev.itersiblings(preceding=True):
        if flat.loc[sib.tag] == "creationInfo":
            flat.doc_agency = _creation(sib, flat.loc)[0]


def _check_root(root: Any, flat: _Flattener, label: str) -> None:
    if root.getroottree().docinfo.doctype:
        raise ParseError("refusing an XML document with a DOCTYPE", label)
    name = flat.loc[root.tag]
    if name not in _ROOT_NAMES:
        raise ParseError(f"not a QuakeML document: the root element is <{name}>, expected <quakeml>", label)
