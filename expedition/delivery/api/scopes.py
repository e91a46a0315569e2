"""Per-partner scopes, enforced in the data layer.

For each partner (and lake data version) :func:`scope_tables` filters the trusted Arrow tables of
:class:`~expedition.delivery.api.source.LakeData` down to what the partner may see, and
:func:`open_partner_database` copies them into a FRESH in-memory DuckDB database that is then
locked down. (Copies, not ``con.register``: a registered Arrow table stays queryable after the
lock-down, but only on the connection that registered it, while each request needs a cursor of
its own; native tables are seen by every cursor.) The lock-down is
``enable_external_access = false``, no allowed directories, no temp directory and
``lock_configuration = true``. Every partner-facing route reads through that database or the
same filtered tables, so a partner's SQL can reach only its own rows: no lake, no files, no
other partner's data, whatever it writes.

What a partner sees:

* ``events``, ``event_aliases``, ``events_latest``: the whole catalog (public seismological data);
* ``expeditions`` (status in ``visible_statuses``, e.g. not yet approved or cancelled ones are
  hidden) whose countries meet the partner's countries, or that are named in its scope;
  internal deliberation columns (review flags, who changed what) are left out;
* ``expedition_events``, ``expedition_assessments``, ``survey_publications`` of those expeditions;
* a partner named in ``[api] reviewers`` holds the reviewer role: it sees every expedition whatever
  its status or countries, and survey rows without embargo (reviewers sign off advice);
* survey observations (``survey_buildings`` ...) of those expeditions once published by the lead
  or ``embargo_days`` after each row's ingest (``ingested_time_utc``); surveyor names and
  submission ids are left out.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from expedition.delivery.api.source import PUBLIC_RELATIONS, LakeData
from expedition.delivery.partners import Partner
from warehouse import sqlfiles
from warehouse.query import lock_down
from warehouse.tables.surveys import SURVEY_KINDS

log = logging.getLogger(__name__)

EXPEDITION_HIDDEN_COLUMNS = ("review_flag", "review_reason", "changed_by", "change_note", "opened_by")
SURVEY_HIDDEN_COLUMNS = ("surveyor_name", "submission_uuid")
_PER_EXPEDITION = ("expedition_events", "expedition_assessments", "survey_publications")
REVIEWER_STATUSES = ("proposed", "pending_review", "approved", "deployed", "reporting", "closed", "cancelled")


@dataclass(frozen=True)
class Scope:
    """What decides a partner's view, besides the lake data and the clock."""

    countries: tuple[str, ...]
    expedition_ids: tuple[str, ...]
    embargo_days: int
    visible_statuses: tuple[str, ...]
    every_expedition: bool = False  # the reviewer role: every expedition, every status, no embargo

    @classmethod
    def of(cls, partner: Partner, visible_statuses: Iterable[str], reviewer: bool = False) -> Scope:
        if reviewer:
            return cls(partner.countries, partner.expedition_ids, 0, REVIEWER_STATUSES, True)
        return cls(partner.countries, partner.expedition_ids, partner.embargo_days, tuple(visible_statuses))


def _mask_any_in(lists: pa.ChunkedArray | pa.Array, values: Iterable[str]) -> np.ndarray:
    """Row mask: the list in each row shares at least one element with ``values``."""
    arr = lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists
    mask = np.zeros(len(arr), dtype=bool)
    vals = pa.array(sorted(set(values)), pa.string())
    if len(arr) == 0 or len(vals) == 0:
        return mask
    flat = pc.list_flatten(arr)
    parents = pc.list_parent_indices(arr)
    hits = pc.filter(parents, pc.is_in(flat, value_set=vals)).to_numpy(zero_copy_only=False)
    mask[hits] = True
    return mask


def _isin(col: pa.ChunkedArray, values: Iterable[str]) -> np.ndarray:
    vals = pa.array(sorted(set(values)), pa.string())
    return pc.fill_null(pc.is_in(col, value_set=vals), False).to_numpy(zero_copy_only=False)


def _drop(table: pa.Table, columns: Iterable[str]) -> pa.Table:
    return table.drop_columns([c for c in columns if c in table.column_names])


def visible_expeditions(expeditions: pa.Table, scope: Scope) -> pa.Table:
    """The expeditions a scope sees (rows of the ``expeditions`` view, internal columns dropped)."""
    n = expeditions.num_rows
    if n == 0:
        return _drop(expeditions, EXPEDITION_HIDDEN_COLUMNS)
    status_ok = _isin(pc.utf8_lower(expeditions.column("expedition_status")), scope.visible_statuses)
    named = _isin(expeditions.column("expedition_id"), scope.expedition_ids)
    by_country = np.zeros(n, dtype=bool)
    if scope.countries:
        if "country_iso3_list" in expeditions.column_names:
            by_country |= _mask_any_in(expeditions.column("country_iso3_list"), scope.countries)
        if "primary_country_iso3" in expeditions.column_names:
            by_country |= _isin(expeditions.column("primary_country_iso3"), scope.countries)
    keep = status_ok & (named | by_country | scope.every_expedition)
    return _drop(expeditions.filter(pa.array(keep)), EXPEDITION_HIDDEN_COLUMNS)


def visible_surveys(
    rows: pa.Table, expedition_ids: set[str], published: set[str], embargo_days: int, now: datetime
) -> tuple[pa.Table, datetime | None]:
    """Survey rows of visible expeditions that are published or past the embargo, and the next
    time the answer changes by the clock alone (the earliest embargo end still ahead), if any."""
    if rows.num_rows == 0:
        return _drop(rows, SURVEY_HIDDEN_COLUMNS), None
    mine = _isin(rows.column("expedition_id"), expedition_ids)
    pub = _isin(rows.column("expedition_id"), published)
    if "ingested_time_utc" in rows.column_names:
        ingested = rows.column("ingested_time_utc")
        release = pc.add(ingested, pa.scalar(timedelta(days=embargo_days), pa.duration("us")))
        due = pc.fill_null(pc.less_equal(release, pa.scalar(now, ingested.type)), False)
        released = due.to_numpy(zero_copy_only=False)
    else:  # no ingest time: only publication releases the rows
        release = None
        released = np.zeros(rows.num_rows, dtype=bool)
    keep = mine & (pub | released)
    pending = mine & ~keep
    valid_until = None
    if release is not None and pending.any():
        nxt = pc.min(pc.filter(release, pa.array(pending))).as_py()
        valid_until = nxt
    return _drop(rows.filter(pa.array(keep)), SURVEY_HIDDEN_COLUMNS), valid_until


def scope_tables(data: LakeData, scope: Scope, now: datetime) -> tuple[dict[str, pa.Table], datetime | None]:
    """The tables a partner with ``scope`` sees at ``now``, and until when the answer holds."""
    rel = data.relations
    out: dict[str, pa.Table] = {name: rel[name] for name in PUBLIC_RELATIONS if name in rel}
    valid_until: datetime | None = None
    if "expeditions" not in rel:
        return out, None
    exps = visible_expeditions(rel["expeditions"], scope)
    out["expeditions"] = exps
    ids = set(exps.column("expedition_id").to_pylist())
    for name in _PER_EXPEDITION:
        if name in rel:
            out[name] = rel[name].filter(pa.array(_isin(rel[name].column("expedition_id"), ids)))
    published = set(out["survey_publications"].column("expedition_id").to_pylist()) if "survey_publications" in out else set()
    for kind in SURVEY_KINDS:
        name = f"survey_{kind}"
        if name not in rel:
            continue
        out[name], until = visible_surveys(rel[name], ids, published, scope.embargo_days, now)
        if until is not None and (valid_until is None or until < valid_until):
            valid_until = until
    return out, valid_until


def hidden_survey_rows(data: LakeData, view: PartnerView, expedition_id: str) -> int:
    """How many survey rows of a visible expedition the partner does not see yet (embargo)."""
    hidden = 0
    for kind in SURVEY_KINDS:
        name = f"survey_{kind}"
        if name in data.relations and name in view.tables:
            every = pc.sum(pc.equal(data.relations[name].column("expedition_id"), expedition_id)).as_py() or 0
            seen = pc.sum(pc.equal(view.tables[name].column("expedition_id"), expedition_id)).as_py() or 0
            hidden += int(every) - int(seen)
    return hidden


def tables_to_ipc(tables: dict[str, pa.Table]) -> dict[str, bytes]:
    """The tables of a partner view as Arrow IPC streams (what is sent to a worker)."""
    out = {}
    for name, tbl in tables.items():
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, tbl.schema) as writer:
            writer.write_table(tbl)
        out[name] = sink.getvalue().to_pybytes()
    return out


def tables_from_ipc(data: dict[str, bytes]) -> dict[str, pa.Table]:
    """The tables of :func:`tables_to_ipc` back (in a query worker)."""
    return {name: pa.ipc.open_stream(raw).read_all() for name, raw in data.items()}


def open_partner_database(
    tables: dict[str, pa.Table], memory_limit: str = "512MB", threads: int | None = None
) -> tuple[duckdb.DuckDBPyConnection, list[str]]:
    """A fresh in-memory DuckDB holding copies of ``tables``, then locked down, and the names of
    its relations.

    ``temp_directory`` is empty so not even a spill directory is readable; the views of
    ``warehouse/sql/views`` whose tables are all present (``events_latest``...) are created too."""
    config: dict[str, Any] = {
        "temp_directory": "",
        "memory_limit": memory_limit,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    if threads is not None:
        config["threads"] = threads
    con = duckdb.connect(config=config)
    names = list(tables)
    try:
        for name, tbl in tables.items():
            con.register("_qe_source", tbl)
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _qe_source')  # names from our own list
            con.unregister("_qe_source")
        for name, sql in sqlfiles.views().items():
            if name in tables:
                continue
            try:
                con.execute(f'CREATE VIEW "{name}" AS {sql}')
                names.append(name)
            except duckdb.Error:
                log.debug("view %s not offered to partners (its relations are not in the partner database)", name)
        lock_down(con, [])
    except BaseException:
        con.close()
        raise
    return con, sorted(names)


_VIEW_IDS = count(1)


@dataclass
class PartnerView:
    """One partner's filtered tables and, built when first needed, its locked-down database.

    ``view_id`` names this view (unique in the process): the query workers hold their own copy of
    the database under that id (:mod:`expedition.delivery.api.pool`), so the service itself needs its
    database only for ``GET /v1/tables`` and in-process mode."""

    partner: Partner
    scope: Scope
    snapshot_id: int
    data_version: int
    tables: dict[str, pa.Table]
    valid_until: datetime | None
    built_at: datetime
    memory_limit: str = "512MB"
    view_id: int = field(default_factory=lambda: next(_VIEW_IDS))

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._db: tuple[duckdb.DuckDBPyConnection, list[str]] | None = None
        self._ipc: dict[str, bytes] | None = None

    def _database(self) -> tuple[duckdb.DuckDBPyConnection, list[str]]:
        with self._lock:
            if self._db is None:
                self._db = open_partner_database(self.tables, self.memory_limit)
            return self._db

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The partner's locked-down in-memory database (built on first use)."""
        return self._database()[0]

    @property
    def relations(self) -> list[str]:
        """Tables and views of the partner database, sorted."""
        return self._database()[1]

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own for one request (same database; settings stay locked)."""
        con = self.con
        with self._lock:
            return con.cursor()

    def ipc_tables(self) -> dict[str, bytes]:
        """The filtered tables as Arrow IPC streams, made once (what a query worker is sent)."""
        with self._lock:
            if self._ipc is None:
                self._ipc = tables_to_ipc(self.tables)
            return self._ipc


class ScopeCache:
    """Partner views by partner name, rebuilt when the data version, scope or embargo clock moves."""

    def __init__(self, visible_statuses: Iterable[str], memory_limit: str = "512MB", size: int = 64,
                 reviewers: Iterable[str] = ()) -> None:
        self.visible_statuses = tuple(visible_statuses)
        self.reviewers = frozenset(reviewers)
        self.memory_limit = memory_limit
        self.size = size
        self._views: OrderedDict[str, PartnerView] = OrderedDict()
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.builds = 0

    def _fresh(self, view: PartnerView | None, data: LakeData, scope: Scope, now: datetime) -> bool:
        return (
            view is not None
            and view.data_version == data.data_version
            and view.scope == scope
            and view.built_at <= now  # a clock set back could otherwise show rows still under embargo
            and (view.valid_until is None or now < view.valid_until)
        )

    def view(self, partner: Partner, data: LakeData, now: datetime) -> PartnerView:
        scope = Scope.of(partner, self.visible_statuses, reviewer=partner.name in self.reviewers)
        with self._lock:
            view = self._views.get(partner.name)
            if self._fresh(view, data, scope, now):
                self._views.move_to_end(partner.name)
                assert view is not None
                return view
            key_lock = self._locks.setdefault(partner.name, threading.Lock())
        with key_lock:
            with self._lock:
                view = self._views.get(partner.name)
            if self._fresh(view, data, scope, now):
                assert view is not None
                return view
            tables, valid_until = scope_tables(data, scope, now)
            view = PartnerView(partner, scope, data.snapshot_id, data.data_version, tables, valid_until, now,
                               self.memory_limit)
            self.builds += 1
            with self._lock:
                self._views[partner.name] = view
                self._views.move_to_end(partner.name)
                while len(self._views) > self.size:
                    self._views.popitem(last=False)
            log.info("built the view of partner %s at snapshot %d", partner.name, data.snapshot_id)
            return view
