"""Everything recorded about one expedition, for ``expedition show`` and for briefs.

:func:`expedition_details` returns plain JSON-ready data: the current state, the sequence's
earthquakes, the audit log, the trigger decisions that name the expedition and its assessments
(shaking per country, population per intensity, alert, fatalities, aftershock forecast, with the
JSON columns decoded).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import duckdb

from expedition.decisions import records
from expedition.decisions.response.events import rows
from expedition.errors import NotFound

if TYPE_CHECKING:
    from warehouse.lake import Lake

__all__ = ["expedition_details", "latest_assessment"]

_JSON_COLUMNS = (
    "mmi_by_country_json", "population_by_mmi_json", "forecast_json", "caveats_json", "provenance_json", "model_versions_json",
)


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for col in _JSON_COLUMNS:
        if isinstance(out.get(col), str):
            out[col.removesuffix("_json")] = json.loads(out.pop(col))
    return out


def latest_assessment(assessments: list[dict[str, Any]], event_id: str) -> dict[str, Any] | None:
    """The newest assessment of ``event_id`` among decoded ``assessments`` (newest first)."""
    return next((a for a in assessments if a["event_id"] == event_id), None)


def expedition_details(lake: Lake, expedition_id: str, con: duckdb.DuckDBPyConnection | None = None) -> dict[str, Any]:
    """State, sequence events, audit log, decisions and assessments of one expedition.

    ``con`` reuses an open lake connection (else one is opened and closed)."""
    records.parse_expedition_id(expedition_id)
    own = con is None
    con = con or lake.connect(read_only=True)
    try:
        exp = records.current_in(con, expedition_id.strip())
        if exp is None:
            raise NotFound(f"no expedition {expedition_id!r} (see `expedition list`)")
        events = rows(con, "expedition_events_of", expedition_id=exp.expedition_id)
        log = rows(con, "expedition_log_of", expedition_id=exp.expedition_id)
        decisions = rows(con, "response_decisions_of", expedition_id=exp.expedition_id)
        assessments = [_decode(r) for r in rows(con, "response_assessments_of", expedition_id=exp.expedition_id)]
    finally:
        if own:
            con.close()
    return {
        "expedition": exp.to_row(),
        "allowed_next": [s.value for s in records.allowed_next(exp.status, exp.expedition_tier)],
        "events": events,
        "log": log,
        "decisions": decisions,
        "assessments": assessments,
        "mainshock_assessment": latest_assessment(assessments, exp.mainshock_event_id),
    }
