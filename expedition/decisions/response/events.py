"""Reading the events the response judges: pending revisions, preferred (moment) magnitudes, windows.

All SQL is in ``warehouse/sql/queries/response_*.sql`` with bound parameters. Functions take an
open connection so that the evaluator can read inside its writer transaction (it sees its own
writes and holds the single-writer lock for the whole evaluate-and-write).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import duckdb

from expedition.errors import ExpeditionError
from warehouse import sqlfiles

log = logging.getLogger(__name__)

__all__ = ["EventRow", "events_by_id", "events_in_window", "pending_events", "prefer_moment_magnitudes", "rows"]


@dataclass(frozen=True)
class EventRow:
    """One event as the response sees it: its current solution and the magnitude it is judged on."""

    event_id: str
    event_revision: int
    origin_time_utc: datetime
    latitude_deg: float
    longitude_deg: float
    depth_km: float | None
    magnitude: float | None
    magnitude_type: str | None
    event_type: str | None
    region_name: str | None
    magnitude_note: str = ""  # e.g. "Mww 7.0 preferred over the catalogue's mb 6.8"

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> EventRow:
        return cls(
            event_id=str(r["event_id"]),
            event_revision=int(r["event_revision"] or 0),
            origin_time_utc=r["origin_time_utc"],
            latitude_deg=float(r["origin_latitude_deg"]),
            longitude_deg=float(r["origin_longitude_deg"]),
            depth_km=None if r["origin_depth_km"] is None else float(r["origin_depth_km"]),
            magnitude=None if r["magnitude_value"] is None else float(r["magnitude_value"]),
            magnitude_type=r["magnitude_type"],
            event_type=r["event_type"],
            region_name=r["region_name"],
        )


def rows(con: duckdb.DuckDBPyConnection, query: str, **params: Any) -> list[dict[str, Any]]:
    """Run the named query ``query`` with bound ``params`` and return its rows as dicts."""
    q = sqlfiles.query(query)
    try:
        return con.execute(q.sql, params).to_arrow_table().to_pylist()
    except duckdb.Error as exc:
        raise ExpeditionError(f"reading the lake failed ({query}): {exc}") from exc


def _located(found: list[dict[str, Any]]) -> list[EventRow]:
    out = []
    for r in found:
        if r["origin_latitude_deg"] is None or r["origin_longitude_deg"] is None:
            log.warning("event %s has no epicentre: not evaluated", r["event_id"])
            continue
        out.append(EventRow.from_row(r))
    return out


def pending_events(con: duckdb.DuckDBPyConnection, since: datetime | None = None) -> list[EventRow]:
    """Events whose current revision has no policy decision yet, oldest first."""
    return _located(rows(con, "response_pending_events", since=since))


def events_by_id(con: duckdb.DuckDBPyConnection, event_ids: Sequence[str]) -> list[EventRow]:
    """The given events (current solution), oldest first; unknown ids are simply absent."""
    return _located(rows(con, "response_events_by_id", event_ids=list(event_ids)))


def _is_moment(mtype: str | None, preferred: Sequence[str]) -> bool:
    return (mtype or "").lower() in preferred


def prefer_moment_magnitudes(
    con: duckdb.DuckDBPyConnection, events: Sequence[EventRow], preferred: Sequence[str]
) -> list[EventRow]:
    """Replace each event's magnitude by a moment magnitude when any provider reported one.

    ``preferred`` lists magnitude types in order of preference (policy ``preferred_magnitude_types``);
    among solutions of the best type the most recently updated wins. The event keeps its own
    magnitude when it already is of a preferred type at least as good, or when no provider gave one.
    """
    need = [e.event_id for e in events if not _is_moment(e.magnitude_type, preferred[:1])]
    if not need or not preferred:
        return list(events)
    best: dict[str, dict[str, Any]] = {}
    for r in rows(con, "response_event_magnitudes", event_ids=need):
        mtype = (r["magnitude_type"] or "").lower()
        if mtype not in preferred:
            continue
        have = best.get(r["event_id"])
        if have is None or preferred.index(mtype) < preferred.index((have["magnitude_type"] or "").lower()):
            best[r["event_id"]] = r  # rows come newest first: the first of a type is the latest
    out = []
    for e in events:
        b = best.get(e.event_id)
        own_rank = preferred.index((e.magnitude_type or "").lower()) if _is_moment(e.magnitude_type, preferred) else len(preferred)
        if b is None or preferred.index((b["magnitude_type"] or "").lower()) >= own_rank:
            out.append(e)
            continue
        note = (
            f"{b['magnitude_type']} {b['magnitude_value']:.1f} ({b['provider']}) preferred over "
            f"{e.magnitude_type or 'M'} {e.magnitude or float('nan'):.1f}"
        )
        out.append(replace(e, magnitude=float(b["magnitude_value"]), magnitude_type=b["magnitude_type"], magnitude_note=note))
    return out


def events_in_window(
    con: duckdb.DuckDBPyConnection, t0: datetime, t1: datetime, lat_min: float, lat_max: float
) -> list[dict[str, Any]]:
    """Events after ``t0`` up to ``t1`` in a latitude band (aftershock-zone candidates)."""
    return rows(con, "response_events_in_window", t0=t0, t1=t1, lat_min=lat_min, lat_max=lat_max)
