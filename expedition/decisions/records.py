"""Expedition records: ids, the status lifecycle, versions and the audit log.

One expedition per earthquake sequence. Every change writes a new row to ``expedition_versions``
(append-only; the ``expeditions`` view shows the current state) and one row to
``expedition_audit`` (who, when, from, to, why; the ``expedition_log`` view). Nothing is updated in
place or deleted.

Lifecycle (validated; anything else raises :class:`~expedition.errors.InvalidTransition`)::

    proposed ──┬──> approved ──> deployed ──> reporting ──> closed
    pending_review ┘      └──────(tier 1: virtual team)──┘
    proposed ──> pending_review          (the alert rose to orange/red)
    any state except closed ──> cancelled

Ids are ``EXP-<year of mainshock>-<ISO3 of primary country>-<nnn>``, ``nnn`` counting per year and
country in the order the expeditions were opened (inside the writer lock, so two concurrent
evaluations cannot take the same number).

Usage::

    exp = get_expedition(lake, "EXP-2024-CHN-001")
    approve(lake, exp.expedition_id, by="A. Duty Officer")
    transition(lake, exp.expedition_id, "deployed", by="A. Duty Officer", note="team on site")
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from expedition.errors import ExpeditionError, InvalidTransition, NotFound
from warehouse import sqlfiles
from warehouse.tables import spec as table_spec

if TYPE_CHECKING:
    from warehouse.lake import Lake, LakeWriter

log = logging.getLogger(__name__)

__all__ = [
    "AuditEntry",
    "Expedition",
    "Status",
    "TRANSITIONS",
    "acknowledge_review",
    "allowed_next",
    "approve",
    "expedition_id_for",
    "expedition_log",
    "get_expedition",
    "list_expeditions",
    "parse_expedition_id",
    "sequence_events",
    "transition",
    "update_details",
]


class Status(StrEnum):
    PROPOSED = "proposed"
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    DEPLOYED = "deployed"
    REPORTING = "reporting"
    CLOSED = "closed"
    CANCELLED = "cancelled"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PROPOSED: frozenset({Status.PENDING_REVIEW, Status.APPROVED, Status.CANCELLED}),
    Status.PENDING_REVIEW: frozenset({Status.APPROVED, Status.CANCELLED}),
    Status.APPROVED: frozenset({Status.DEPLOYED, Status.REPORTING, Status.CANCELLED}),
    Status.DEPLOYED: frozenset({Status.REPORTING, Status.CANCELLED}),
    Status.REPORTING: frozenset({Status.CLOSED, Status.CANCELLED}),
    Status.CLOSED: frozenset(),
    Status.CANCELLED: frozenset(),
}
"""Allowed next statuses. ``approved -> reporting`` (skipping ``deployed``) only for tier 1."""

_ID = re.compile(r"^EXP-(\d{4})-([A-Z]{3})-(\d{3,})$")


def expedition_id_for(year: int, iso3: str, number: int) -> str:
    """``EXP-2023-AFG-001``."""
    return f"EXP-{year:04d}-{iso3.upper()}-{number:03d}"


def parse_expedition_id(expedition_id: str) -> tuple[int, str, int]:
    """``(year, iso3, number)`` of an expedition id, or :class:`NotFound` naming the expected form."""
    m = _ID.match(expedition_id.strip())
    if not m:
        raise NotFound(f"{expedition_id!r} is not an expedition id (expected EXP-YYYY-ISO-NNN, e.g. EXP-2024-CHN-001)")
    return int(m.group(1)), m.group(2), int(m.group(3))


def to_status(value: str | Status) -> Status:
    try:
        return Status(str(value).strip().lower())
    except ValueError:
        raise InvalidTransition(
            f"unknown status {value!r}; one of: {', '.join(s.value for s in Status)}"
        ) from None


def allowed_next(status: str | Status, tier: int) -> list[Status]:
    """The statuses an expedition in ``status`` (of ``tier``) may move to, in lifecycle order."""
    current = to_status(status)
    nxt = set(TRANSITIONS[current])
    if current == Status.APPROVED and tier != 1:
        nxt.discard(Status.REPORTING)
    return [s for s in Status if s in nxt]


@dataclass(frozen=True)
class Expedition:
    """One state (version) of an expedition; field names are the ``expedition_versions`` columns."""

    expedition_id: str
    expedition_version: int
    recorded_utc: datetime
    expedition_status: str
    expedition_tier: int
    expedition_priority: int
    alert_level: str | None
    review_flag: bool | None
    review_reason: str | None
    expedition_title: str | None
    primary_country_iso3: str
    country_iso3_list: list[str]
    mainshock_event_id: str
    mainshock_origin_time_utc: datetime | None
    mainshock_latitude_deg: float | None
    mainshock_longitude_deg: float | None
    mainshock_depth_km: float | None
    mainshock_magnitude_value: float | None
    mainshock_magnitude_type: str | None
    sequence_radius_km: float | None
    sequence_window_days: float | None
    sequence_event_count: int | None
    team_members: list[str]
    objectives: str | None
    start_date: date | None
    end_date: date | None
    opened_utc: datetime | None
    opened_by: str | None
    opened_reason: str | None
    policy_version: str | None
    policy_sha256: str | None
    changed_by: str | None
    change_note: str | None

    @property
    def status(self) -> Status:
        return to_status(self.expedition_status)

    @property
    def is_active(self) -> bool:
        return self.status not in (Status.CLOSED, Status.CANCELLED)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Expedition:
        values: dict[str, Any] = {f.name: row.get(f.name) for f in dataclasses.fields(cls)}
        values["country_iso3_list"] = list(values["country_iso3_list"] or [])
        values["team_members"] = list(values["team_members"] or [])
        return cls(**values)

    def to_row(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def evolve(self, **changes: Any) -> Expedition:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class AuditEntry:
    expedition_id: str
    expedition_version: int
    audit_time_utc: datetime
    actor: str
    audit_action: str
    status_from: str | None
    status_to: str | None
    audit_reason: str | None


# -- reading -------------------------------------------------------------------------------------
def _rows(con: duckdb.DuckDBPyConnection, query: str, **params: Any) -> list[dict[str, Any]]:
    q = sqlfiles.query(query)
    try:
        return con.execute(q.sql, params).to_arrow_table().to_pylist()
    except duckdb.Error as exc:
        raise ExpeditionError(f"reading expeditions failed ({query}): {exc}") from exc


def current_in(con: duckdb.DuckDBPyConnection, expedition_id: str) -> Expedition | None:
    """The current state of ``expedition_id`` as seen by ``con`` (a writer's connection sees its own writes)."""
    rows = _rows(con, "expedition_current", expedition_id=expedition_id)
    return Expedition.from_row(rows[0]) if rows else None


def list_in(con: duckdb.DuckDBPyConnection, status: str | None = None) -> list[Expedition]:
    st = to_status(status).value if status else None
    return [Expedition.from_row(r) for r in _rows(con, "expedition_list", status=st)]


def next_id_from(existing: Iterable[str], year: int, iso3: str) -> str:
    """The next free id for ``year`` and ``iso3`` given the ids that exist."""
    prefix = f"EXP-{year:04d}-{iso3.upper()}-"
    taken = [parse_expedition_id(e)[2] for e in existing if e.startswith(prefix)]
    return expedition_id_for(year, iso3, max(taken, default=0) + 1)


def next_expedition_id(con: duckdb.DuckDBPyConnection, year: int, iso3: str) -> str:
    """The next free id for ``year`` and ``iso3`` (call inside the writer lock)."""
    prefix = f"EXP-{year:04d}-{iso3.upper()}-"
    return next_id_from((r["expedition_id"] for r in _rows(con, "expedition_ids_with_prefix", prefix=prefix)), year, iso3)


def get_expedition(lake: Lake, expedition_id: str) -> Expedition:
    """The current state of one expedition (:class:`NotFound` when unknown)."""
    parse_expedition_id(expedition_id)
    con = lake.connect(read_only=True, views=("expeditions",))  # the one view it reads (not all of them)
    try:
        exp = current_in(con, expedition_id.strip())
    finally:
        con.close()
    if exp is None:
        raise NotFound(f"no expedition {expedition_id!r} (see `expedition list`)")
    return exp


def list_expeditions(lake: Lake, status: str | None = None) -> list[Expedition]:
    """Current state of every expedition (optionally one status), oldest mainshock first."""
    con = lake.connect(read_only=True)
    try:
        return list_in(con, status)
    finally:
        con.close()


def expedition_log(lake: Lake, expedition_id: str) -> list[AuditEntry]:
    """The audit log of one expedition, oldest first."""
    con = lake.connect(read_only=True)
    try:
        rows = _rows(con, "expedition_log_of", expedition_id=expedition_id)
    finally:
        con.close()
    names = {f.name for f in dataclasses.fields(AuditEntry)}
    return [AuditEntry(**{k: v for k, v in r.items() if k in names}) for r in rows]


def sequence_events(lake: Lake, expedition_id: str) -> list[dict[str, Any]]:
    """The earthquakes of an expedition's sequence with their current solutions, oldest first."""
    con = lake.connect(read_only=True)
    try:
        return _rows(con, "expedition_events_of", expedition_id=expedition_id)
    finally:
        con.close()


# -- writing -------------------------------------------------------------------------------------
def _now() -> datetime:
    return datetime.now(UTC)


def version_rows(
    new: Expedition, *, actor: str, action: str, reason: str, previous: Expedition | None, now: datetime | None = None
) -> tuple[Expedition, dict[str, Any]]:
    """``new`` numbered as the next version after ``previous``, and its audit row (nothing written)."""
    version = (previous.expedition_version + 1) if previous else 1
    when = now or _now()
    row = new.evolve(expedition_version=version, recorded_utc=when, changed_by=actor, change_note=reason)
    audit = {
        "expedition_id": row.expedition_id,
        "expedition_version": version,
        "audit_time_utc": when,
        "actor": actor,
        "audit_action": action,
        "status_from": previous.expedition_status if previous else None,
        "status_to": row.expedition_status,
        "audit_reason": reason,
    }
    return row, audit


def write_version(
    w: LakeWriter,
    new: Expedition,
    *,
    actor: str,
    action: str,
    reason: str,
    previous: Expedition | None,
    now: datetime | None = None,
) -> Expedition:
    """Append ``new`` as the next version of its expedition, with its audit row (inside ``w``'s transaction)."""
    row, audit = version_rows(new, actor=actor, action=action, reason=reason, previous=previous, now=now)
    spec = table_spec("expedition_versions")
    w.write("expedition_versions", pa.Table.from_pylist([row.to_row()], schema=spec.schema), mode="insert_new")
    w.write("expedition_audit", pa.Table.from_pylist([audit], schema=table_spec("expedition_audit").schema))
    log.info("%s v%d: %s by %s (%s)", row.expedition_id, row.expedition_version, action, actor, reason)
    return row


def _person(by: str) -> str:
    by = (by or "").strip()
    if not by:
        raise ExpeditionError("say who makes this change (--by NAME)")
    return by


def check_transition(exp: Expedition, to: Status) -> None:
    """Raise :class:`InvalidTransition` unless ``exp`` may move to ``to``."""
    nxt = allowed_next(exp.status, exp.expedition_tier)
    if to not in nxt:
        options = ", ".join(s.value for s in nxt) or "none (final state)"
        extra = ""
        if exp.status == Status.APPROVED and to == Status.REPORTING:
            extra = " (only tier 1 virtual teams report without deploying)"
        raise InvalidTransition(
            f"{exp.expedition_id} cannot move from {exp.status.value} to {to.value}{extra}; "
            f"allowed next: {options}"
        )


def transition(lake: Lake, expedition_id: str, to: str | Status, by: str, note: str | None = None, *,
               now: datetime | None = None) -> Expedition:
    """Move an expedition to status ``to`` (validated), recording who and why.

    Moving to the status it already has changes nothing and returns the current state. ``now``
    (default: the clock) dates the change: a start or end date is its UTC day."""
    actor = _person(by)
    target = to_status(to)
    parse_expedition_id(expedition_id)

    def move(w: LakeWriter) -> Expedition:  # run again from the start after a write conflict (PostgreSQL)
        exp = current_in(w.con, expedition_id)
        if exp is None:
            raise NotFound(f"no expedition {expedition_id!r} (see `expedition list`)")
        if exp.status == target:
            return exp
        check_transition(exp, target)
        changes: dict[str, Any] = {"expedition_status": target.value}
        when = now or _now()
        today = when.date()
        if target == Status.DEPLOYED and exp.start_date is None:
            changes["start_date"] = today
        if target in (Status.CLOSED, Status.CANCELLED) and exp.end_date is None and exp.start_date is not None:
            changes["end_date"] = today
        reason = note or f"{exp.status.value} -> {target.value}"
        w.set_commit_message(actor, f"{expedition_id}: {exp.status.value} -> {target.value}")
        return write_version(w, exp.evolve(**changes), actor=actor, action="transition", reason=reason, previous=exp,
                             now=when)

    return lake.run_writer(move, what=f"{expedition_id} -> {target.value}")


def approve(lake: Lake, expedition_id: str, by: str, note: str | None = None) -> Expedition:
    """Approve a proposed or pending-review expedition (a person's decision, recorded)."""
    return transition(lake, expedition_id, Status.APPROVED, by, note or "approved")


def update_details(
    lake: Lake,
    expedition_id: str,
    by: str,
    *,
    team: Sequence[str] | None = None,
    objectives: str | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
    note: str | None = None,
) -> Expedition:
    """Set the team, objectives or dates of an expedition (a new version and an audit row)."""
    actor = _person(by)
    changes: dict[str, Any] = {}
    if team is not None:
        changes["team_members"] = [t.strip() for t in team if t.strip()]
    if objectives is not None:
        changes["objectives"] = objectives
    if start_date is not None:
        changes["start_date"] = start_date
    if end_date is not None:
        changes["end_date"] = end_date
    if not changes:
        raise ExpeditionError("nothing to change: give a team, objectives or dates")
    if (changes.get("start_date") and changes.get("end_date")) and changes["end_date"] < changes["start_date"]:
        raise ExpeditionError(f"end date {changes['end_date']} is before start date {changes['start_date']}")

    def edit(w: LakeWriter) -> Expedition:  # run again from the start after a write conflict (PostgreSQL)
        exp = current_in(w.con, expedition_id)
        if exp is None:
            raise NotFound(f"no expedition {expedition_id!r} (see `expedition list`)")
        new = exp.evolve(**changes)
        if new.to_row() | {"recorded_utc": None} == exp.to_row() | {"recorded_utc": None}:
            return exp
        reason = note or "details: " + ", ".join(sorted(changes))
        return write_version(w, new, actor=actor, action="edit", reason=reason, previous=exp)

    return lake.run_writer(edit, what=f"details of {expedition_id}")


def acknowledge_review(lake: Lake, expedition_id: str, by: str, note: str) -> Expedition:
    """Clear the review flag (set when a revision fell below the policy) after a person looked at it."""
    actor = _person(by)
    if not note.strip():
        raise ExpeditionError("say why the expedition stays as it is (--note TEXT)")

    def acknowledge(w: LakeWriter) -> Expedition:  # run again from the start after a write conflict (PostgreSQL)
        exp = current_in(w.con, expedition_id)
        if exp is None:
            raise NotFound(f"no expedition {expedition_id!r} (see `expedition list`)")
        if not exp.review_flag:
            return exp
        new = exp.evolve(review_flag=False, review_reason=None)
        return write_version(w, new, actor=actor, action="review", reason=note, previous=exp)

    return lake.run_writer(acknowledge, what=f"review of {expedition_id}")
