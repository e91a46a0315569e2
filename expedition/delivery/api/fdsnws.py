"""The FDSN event web service over the lake: ``/fdsnws/event/1/{query,version,application.wadl,
catalogs,contributors}``.

ObsPy's ``Client("http://host:port")`` discovers it (WADL, catalogs, contributors; dataselect and
station answer 404 so ObsPy marks them absent) and ``get_events(...)`` works. Answers are QuakeML
1.2 (``format=xml``, default) or FDSN text (``format=text``), written by
:mod:`catalogs.quakeml_write`. No match: 204, or 404 with ``nodata=404``. Bad parameters: 400
with a plain-text message. More than ``fdsn_max_events`` matches: 413. The query semantics (every
standard parameter, short forms, antimeridian boxes, radius, eventid by alias) are those of
:mod:`catalogs.fdsnws_query`, shared with the local FDSN service of :mod:`catalogs.fdsnws_server`.

The lake's ``events`` become solution rows (:data:`catalogs.rows.SOLUTION_ROW_SCHEMA`) with
provider (catalog and contributor) ``QE`` and ``provider_event_id`` = our ``event_id``; every
agency id of the event (``event_aliases``) is in ``alias_ids``, so ``eventid=us6000jllz`` finds
it too.

Access: the catalog is public seismological data (agency solutions, associated), so the
service is open by default; ``[api] fdsn_requires_token = true`` makes it take the same
partner tokens as ``/v1`` (every partner then sees the whole catalog).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from importlib import resources
from typing import Annotated, Any, Optional

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials

from catalogs.fdsnws_query import EventIndex, QueryError, parse_query
from catalogs.rows import SOLUTION_ROW_SCHEMA
from expedition.delivery.api.auth import bearer, get_state, partner_from_credentials
from expedition.delivery.api.source import LakeData
from warehouse.tables.catalog import SOLUTION_FIELDS

log = logging.getLogger(__name__)

SERVICE_VERSION = "1.2.0"
PREFIX = "/fdsnws/event/1"

router = APIRouter(prefix=PREFIX, tags=["FDSN event service"])


def fdsn_access(request: Request, creds: Annotated[Optional[HTTPAuthorizationCredentials], Depends(bearer)]) -> None:
    """Open by default; with ``fdsn_requires_token`` the caller needs a partner token."""
    if get_state(request).config.fdsn_requires_token:
        partner_from_credentials(request, creds)


Access = Annotated[None, Depends(fdsn_access)]


def _error(status: int, message: str, request: Request) -> PlainTextResponse:
    """An FDSN-style plain-text error document (web service specifications 1.2, section 2.5)."""
    names = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 413: "Request Too Large",
             503: "Service Unavailable"}
    body = (
        f"Error {status}: {names.get(status, '')}\n\n{message}\n\n"
        f"Usage details are available from {get_state(request).config.link(f'{PREFIX}/application.wadl')}\n\n"
        f"Request:\n{_request_text(request)}\n\nRequest Submitted:\n{datetime.now(UTC).isoformat(timespec='seconds')}\n\n"
        f"Service version:\n{SERVICE_VERSION}\n"
    )
    return PlainTextResponse(body, status_code=status)


def _request_text(request: Request) -> str:
    """The request as path and query (no scheme or host: those come from the client's Host header)."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


CATALOG_NAME = "QE"


def catalog_rows(events: pa.Table, aliases: pa.Table | None, snapshot_id: int) -> pa.Table:
    """The lake's events as solution rows (provider ``QE``), with agency ids in ``alias_ids``."""
    n = events.num_rows
    ids = events.column("event_id")
    if aliases is not None and aliases.num_rows:
        grouped = aliases.group_by("event_id").aggregate([("provider_event_id", "list")])
        idx = pc.index_in(ids, value_set=grouped.column("event_id"))
        alias_lists: Any = pc.take(grouped.column("provider_event_id_list"), idx)
    else:
        alias_lists = pa.nulls(n, pa.list_(pa.string()))
    cols: dict[str, Any] = {
        "provider": pa.array([CATALOG_NAME] * n, pa.string()),
        "provider_event_id": ids,
        **{f.name: events.column(f.name) for f in SOLUTION_FIELDS},
        "updated_time_utc": events.column("updated_time_utc"),
        "alias_ids": alias_lists,
        "source_ref": pa.array([f"lake snapshot {snapshot_id}"] * n, pa.string()),
    }
    return pa.table(cols).cast(SOLUTION_ROW_SCHEMA)


def catalog_index(data: LakeData) -> EventIndex | None:
    """The catalog of this lake snapshot, indexed for FDSN queries (built once per snapshot)."""
    if "events" not in data.relations:
        return None
    index: EventIndex = data.memo(
        "fdsn_index",
        lambda: EventIndex(
            catalog_rows(data.relations["events"], data.relations.get("event_aliases"), data.snapshot_id)
        ),
    )
    return index


@router.get(
    "/query",
    summary="Events of the associated catalog (FDSN event query)",
    response_class=Response,
    responses={
        200: {"content": {"application/xml": {}, "text/plain": {}}, "description": "QuakeML 1.2 or FDSN text"},
        204: {"description": "No event matches"},
        400: {"content": {"text/plain": {}}, "description": "A parameter is unknown or malformed"},
        404: {"content": {"text/plain": {}}, "description": "No event matches (with nodata=404)"},
        413: {"content": {"text/plain": {}}, "description": "Too many events match"},
    },
)
def fdsn_query(
    request: Request,
    _access: Access,
    starttime: Optional[str] = Query(None, description="Earliest origin time (ISO 8601, UTC); also `start`."),
    endtime: Optional[str] = Query(None, description="Latest origin time; also `end`."),
    minlatitude: Optional[str] = Query(None, description="Box: southern edge (degrees); also `minlat`."),
    maxlatitude: Optional[str] = Query(None, description="Box: northern edge; also `maxlat`."),
    minlongitude: Optional[str] = Query(None, description="Box: western edge; also `minlon`."),
    maxlongitude: Optional[str] = Query(None, description="Box: eastern edge; also `maxlon`."),
    latitude: Optional[str] = Query(None, description="Circle centre latitude; also `lat`."),
    longitude: Optional[str] = Query(None, description="Circle centre longitude; also `lon`."),
    minradius: Optional[str] = Query(None, description="Circle: smallest distance (degrees)."),
    maxradius: Optional[str] = Query(None, description="Circle: largest distance (degrees)."),
    mindepth: Optional[str] = Query(None, description="Shallowest depth (km)."),
    maxdepth: Optional[str] = Query(None, description="Deepest depth (km)."),
    minmagnitude: Optional[str] = Query(None, description="Smallest magnitude; also `minmag`."),
    maxmagnitude: Optional[str] = Query(None, description="Largest magnitude; also `maxmag`."),
    magnitudetype: Optional[str] = Query(None, description="Magnitude type(s), comma separated (Mw, mb...)."),
    eventtype: Optional[str] = Query(None, description="QuakeML event type(s), comma separated."),
    eventid: Optional[str] = Query(None, description="Our event id or any agency id (e.g. us6000jllz)."),
    updatedafter: Optional[str] = Query(None, description="Only events updated after this time."),
    limit: Optional[str] = Query(None, description="At most this many events."),
    offset: Optional[str] = Query(None, description="Skip the first offset-1 events (starts at 1)."),
    orderby: Optional[str] = Query(None, description="time (default), time-asc, magnitude, magnitude-asc."),
    catalog: Optional[str] = Query(None, description=f"Only `{CATALOG_NAME}` is served."),
    contributor: Optional[str] = Query(None, description=f"Only `{CATALOG_NAME}` is served."),
    format: Optional[str] = Query(None, description="xml (QuakeML 1.2, default) or text (FDSN text)."),
    nodata: Optional[str] = Query(None, description="Status when nothing matches: 204 (default) or 404."),
) -> Response:
    state = get_state(request)
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    try:
        q = parse_query(params)
    except QueryError as exc:
        return _error(400, str(exc), request)
    data = state.source.current()
    index = catalog_index(data)
    if index is None:
        return _error(503, "the lake has no events table yet (run `expedition init`)", request)
    order = index.select(q)[q.offset - 1:]
    if q.limit is not None:
        order = order[: q.limit]
    if len(order) > state.config.fdsn_max_events:
        return _error(413, f"{len(order)} events match; this service returns at most "
                      f"{state.config.fdsn_max_events} per request (narrow the query, or page with limit and "
                      "offset)", request)
    if len(order) == 0:
        if q.nodata == 404:
            return _error(404, "No data matches the selection", request)
        return Response(status_code=204)
    picked = index.take(order)
    try:
        from catalogs.quakeml_write import write_fdsn_text, write_quakeml
    except ImportError:  # the catalog writers are a separate module of this project
        return _error(503, "the QuakeML/FDSN text writers (catalogs.quakeml_write) are not installed", request)
    headers = {"X-QE-Snapshot": str(data.snapshot_id)}
    if q.format == "text":
        return Response(write_fdsn_text(picked), media_type="text/plain; charset=utf-8", headers=headers)
    return Response(write_quakeml(picked), media_type="application/xml", headers=headers)


@router.get("/version", response_class=PlainTextResponse, summary="Service version")
def fdsn_version(_access: Access) -> str:
    return SERVICE_VERSION


@router.get("/application.wadl", name="fdsn_wadl", summary="WADL description of the query parameters")
def fdsn_application_wadl(request: Request, _access: Access) -> Response:
    text = (resources.files("catalogs.fdsnws_data") / "event.wadl").read_text(encoding="utf-8")
    # The configured public URL, or a relative base: never the client's Host header.
    base = get_state(request).config.link("")
    return Response(text.replace("__BASE__", base), media_type="application/xml")


@router.get("/catalogs", summary="Catalogs served")
def fdsn_catalogs(_access: Access) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Catalogs><Catalog>{CATALOG_NAME}</Catalog></Catalogs>\n'
    return Response(body, media_type="application/xml")


@router.get("/contributors", summary="Contributors of the catalog")
def fdsn_contributors(_access: Access) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Contributors><Contributor>{CATALOG_NAME}</Contributor></Contributors>\n'
    return Response(body, media_type="application/xml")
