"""``/v1/expeditions``: the expeditions a partner sees, their briefs and survey downloads.

Everything here reads the partner's filtered tables (:class:`~expedition.delivery.api.scopes.PartnerView`),
never the lake: an expedition outside the partner's scope answers 404 exactly like one that does
not exist (no existence leak), and survey rows still under embargo are simply not there.
"""

from __future__ import annotations

from typing import Any, Optional

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from expedition.delivery.api.auth import CurrentPartner, get_state
from expedition.delivery.api.formats import FormatError, choose_format, records, table_response
from expedition.delivery.api.scopes import PartnerView, hidden_survey_rows
from warehouse.tables.surveys import SURVEY_KINDS

router = APIRouter(prefix="/v1/expeditions", tags=["expeditions"])

SURVEY_FORMATS = ("geojson", "csv", "parquet")


def _rows_of(view: PartnerView, table: str, expedition_id: str) -> pa.Table | None:
    tbl = view.tables.get(table)
    if tbl is None:
        return None
    return tbl.filter(pc.equal(tbl.column("expedition_id"), expedition_id))


def _expedition(view: PartnerView, expedition_id: str) -> dict[str, Any]:
    rows = _rows_of(view, "expeditions", expedition_id)
    if rows is None or rows.num_rows == 0:
        # Same answer for "does not exist" and "not yours": no existence leak.
        raise HTTPException(status_code=404, detail=f"no expedition {expedition_id!r}")
    return records(rows.slice(0, 1))[0]


@router.get("", summary="Expeditions you can see")
def list_expeditions(
    request: Request,
    partner: CurrentPartner,
    format: Optional[str] = Query(None, description="json (default), csv, parquet or arrow"),
) -> Response:
    view = get_state(request).view(partner)
    tbl = view.tables.get("expeditions")
    if tbl is None:
        tbl = pa.table({"expedition_id": pa.array([], pa.string())})
    if "mainshock_origin_time_utc" in tbl.column_names:
        tbl = tbl.sort_by([("mainshock_origin_time_utc", "descending"), ("expedition_id", "ascending")])
    try:
        fmt = choose_format(format, request.headers.get("accept"))
    except FormatError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    meta = {"row_count": tbl.num_rows, "snapshot_id": view.snapshot_id}
    return table_response(tbl, fmt, meta, {"X-QE-Snapshot": str(view.snapshot_id)}, filename="expeditions")


@router.get("/{expedition_id}", summary="One expedition: its record, sequence and visible survey counts")
def get_expedition(request: Request, expedition_id: str, partner: CurrentPartner) -> dict[str, Any]:
    state = get_state(request)
    data, view = state.data_and_view(partner)
    exp = _expedition(view, expedition_id)
    events = _rows_of(view, "expedition_events", expedition_id)
    pubs = _rows_of(view, "survey_publications", expedition_id)
    surveys = {}
    for kind in SURVEY_KINDS:
        rows = _rows_of(view, f"survey_{kind}", expedition_id)
        if rows is not None:
            surveys[kind] = rows.num_rows
    return {
        "snapshot_id": view.snapshot_id,
        "expedition": exp,
        "sequence_events": records(events) if events is not None else [],
        "surveys_visible": surveys,
        "surveys_embargoed": hidden_survey_rows(data, view, expedition_id),
        "surveys_published": bool(pubs is not None and pubs.num_rows),
    }


@router.get("/{expedition_id}/surveys/{kind}", summary="Survey observations of one kind (published or past embargo)")
def get_surveys(
    request: Request,
    expedition_id: str,
    kind: str,
    partner: CurrentPartner,
    format: Optional[str] = Query(None, description="geojson (default), csv or parquet"),
) -> Response:
    view = get_state(request).view(partner)
    _expedition(view, expedition_id)
    if kind not in SURVEY_KINDS:
        raise HTTPException(status_code=404, detail=f"no survey kind {kind!r}; kinds: {', '.join(SURVEY_KINDS)}")
    fmt = (format or "geojson").strip().lower()
    if fmt not in SURVEY_FORMATS:
        raise HTTPException(status_code=400, detail=f"format must be one of {', '.join(SURVEY_FORMATS)}")
    rows = _rows_of(view, f"survey_{kind}", expedition_id)
    if rows is None:
        raise HTTPException(status_code=503, detail=f"the lake has no survey_{kind} data yet (lake not migrated)")
    from expedition.delivery.api.briefs_bridge import SURVEY_MEDIA, survey_file

    headers = {
        "X-QE-Snapshot": str(view.snapshot_id),
        "X-QE-Row-Count": str(rows.num_rows),
        "Content-Disposition": f'attachment; filename="{expedition_id}_{kind}.{fmt}"',
    }
    return Response(survey_file(rows, fmt), media_type=SURVEY_MEDIA[fmt], headers=headers)


@router.get("/{expedition_id}/brief", summary="The expedition brief (HTML or PDF, English or Chinese)")
def get_brief(
    request: Request,
    expedition_id: str,
    partner: CurrentPartner,
    format: str = Query("html", description="html or pdf"),
    lang: str = Query("en", description="en or zh"),
) -> Response:
    state = get_state(request)
    data, view = state.data_and_view(partner)
    _expedition(view, expedition_id)
    fmt, language = format.strip().lower(), lang.strip().lower()
    if fmt not in ("html", "pdf") or language not in ("en", "zh"):
        raise HTTPException(status_code=400, detail="format must be html or pdf and lang en or zh")
    hidden = hidden_survey_rows(data, view, expedition_id)
    if hidden:
        raise HTTPException(
            status_code=403,
            detail=f"the brief includes {hidden} survey observation(s) still under your embargo; it is served "
            "once the embargo ends or the expedition lead publishes the surveys",
        )
    from expedition.delivery.api.briefs_bridge import BriefUnavailable, render_partner_brief

    try:
        body, media = render_partner_brief(state.lake, state.settings, data, expedition_id, fmt, language)
    except BriefUnavailable as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from exc
    return Response(body, media_type=media, headers={"X-QE-Snapshot": str(view.snapshot_id)})
