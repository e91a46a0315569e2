"""Lake ingest of solution rows: association, preferred solutions and revisions in ONE transaction.

:func:`ingest_solutions` is the single writer of the catalog tables. For one batch it reads the
events near the rows in time and the known aliases, associates the rows
(:mod:`catalogs.associate`), recomputes the preferred solution of every touched event and
writes, in one lake transaction: ``raw_files``, ``ingest_batches``, ``event_aliases``,
``event_solutions`` (insert-new by solution id), ``events`` (upsert of changed events only) and
``event_revisions`` (one appended row per change of an event's preferred solution).

Idempotence: the batch id is derived from the input (sha256 of the raw bytes, the batch kind and
the provider given), so ingesting the same bytes twice changes nothing: no row, no revision, no
snapshot. Different bytes holding the same solutions add nothing either (solution ids are
content hashes, and an unchanged preferred solution makes no revision).

Revision reasons (first that applies): ``new``; ``preferred_source`` (another provider's solution
is now preferred); ``new_id`` (same provider, another event id, e.g. ComCat re-issued the id);
``magnitude`` (value or type); ``relocation`` (time, latitude, longitude or depth); ``review``
(review status only); ``update`` (anything else: region, agency, updated time).

Among the solutions of one ``(provider, provider_event_id)`` only the latest counts (largest
``updated_time_utc``, then the latest seen): a provider's revision supersedes its earlier answer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from catalogs.associate import AssociationParams, AssociationSettings, associate, preference_keys
from catalogs.errors import CatalogError, ParseError
from catalogs.rows import SOLUTION_ROW_SCHEMA, SOLUTION_VALUE_COLUMNS, solution_ids
from warehouse.archive import ArchivedFile, archive_file
from warehouse.lake import Lake, LakeWriter
from warehouse.sqlfiles import read_sql
from warehouse.tables.catalog import EVENT_ALIASES, EVENT_REVISIONS, EVENT_SOLUTIONS, EVENTS
from warehouse.tables.system import INGEST_BATCHES

log = logging.getLogger(__name__)

__all__ = ["IngestReport", "IngestSettings", "batch_id_for", "event_detail", "ingest_solutions", "import_file"]

UTC = pa.timestamp("us", tz="UTC")
_LOCATION = ("origin_time_utc", "origin_latitude_deg", "origin_longitude_deg", "origin_depth_km")
_MAGNITUDE = ("magnitude_value", "magnitude_type")
_COMPARED = (*SOLUTION_VALUE_COLUMNS, "preferred_provider", "preferred_provider_event_id", "updated_time_utc")


class IngestSettings(AssociationSettings, Protocol):
    """What ingest reads from the settings (``expedition.settings.Settings`` satisfies it)."""

    @property
    def raw_dir(self) -> Path: ...


@dataclass(frozen=True)
class IngestReport:
    """What one batch changed."""

    batch_id: str
    rows_read: int
    new_events: int
    revised_events: int
    unchanged: int  # events the batch touched whose preferred solution did not change
    aliases_added: int
    solutions_added: int
    already_ingested: bool = False  # the same batch id was committed before: nothing written
    conflicts: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        if self.already_ingested:
            return f"batch {self.batch_id} already ingested: nothing changed"
        return (
            f"{self.rows_read} rows: {self.new_events} new, {self.revised_events} revised, "
            f"{self.unchanged} unchanged events; {self.aliases_added} aliases and "
            f"{self.solutions_added} solutions added (batch {self.batch_id})"
        )


def batch_id_for(batch_kind: str, raw_sha256: str | None, rows: pa.Table | None = None, extra: str = "") -> str:
    """A batch id derived from the input: the raw bytes' hash (else the rows' solution ids)."""
    h = hashlib.sha256(f"{batch_kind}|{extra}|".encode())
    if raw_sha256:
        h.update(raw_sha256.encode())
    elif rows is not None:
        for sid in sorted(solution_ids(rows).to_pylist()):
            h.update(sid.encode())
    return f"{batch_kind}-{h.hexdigest()[:24]}"


def _check_rows(rows: pa.Table, source: str) -> pa.Table:
    for f in SOLUTION_ROW_SCHEMA:
        if f.name not in rows.column_names:
            raise ParseError("solution rows lack a column", source=source, column=f.name)
    try:
        return rows.select(SOLUTION_ROW_SCHEMA.names).cast(SOLUTION_ROW_SCHEMA).combine_chunks()
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError) as exc:
        raise ParseError(f"solution rows do not match the row schema: {exc}", source=source) from exc


@contextlib.contextmanager
def _registered(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[None]:
    con.register(name, table)
    try:
        yield
    finally:
        con.unregister(name)


def _fetch(con: duckdb.DuckDBPyConnection, sql_name: str, params: dict[str, Any] | None = None) -> pa.Table:
    return con.execute(read_sql(f"catalog/{sql_name}.sql"), params or {}).to_arrow_table()


def _ids_table(ids: Sequence[str]) -> pa.Table:
    return pa.table({"event_id": pa.array(list(ids), pa.string())})


def ingest_solutions(
    lake: Lake,
    rows: pa.Table,
    batch_kind: str,
    source_name: str,
    source_uri: str,
    raw: ArchivedFile | None,
    settings: AssociationSettings,
    *,
    media_kind: str = "",
    batch_extra: str = "",
    in_transaction: Callable[[LakeWriter], None] | None = None,
    note: str = "",
) -> IngestReport:
    """Associate ``rows`` and write events, aliases, solutions, revisions, the batch and the raw-file
    row in ONE lake transaction. ``in_transaction(writer)`` runs inside that transaction too (a pull
    updates its watermark there). Re-ingesting the same batch id runs only ``in_transaction``."""
    rows = _check_rows(rows, source_name)
    params = AssociationParams.from_settings(settings)
    batch_id = batch_id_for(batch_kind, raw.sha256 if raw else None, rows, batch_extra)
    started = dt.datetime.now(dt.UTC)

    def attempt(w: LakeWriter) -> IngestReport:
        # run again from the start (re-reading the lake) when a concurrent writer committed first
        if in_transaction is not None:
            in_transaction(w)
        seen = _fetch(w.con, "batch_seen", {"batch_id": batch_id})
        if seen.column("n")[0].as_py():
            log.info("batch %s (%s) already ingested: nothing to do", batch_id, source_name)
            return IngestReport(batch_id, rows.num_rows, 0, 0, 0, 0, 0, already_ingested=True)
        report = _ingest_in(w, rows, params, batch_id, started)
        if raw is not None:
            w.write("raw_files", raw.as_row(media_kind or batch_kind), mode="insert_new")
        w.write("ingest_batches", pa.table({
            "batch_id": [batch_id],
            "batch_kind": [batch_kind],
            "source_name": [source_name],
            "source_uri": [source_uri],
            "raw_sha256": [raw.sha256 if raw else None],
            "started_utc": pa.array([started], UTC),
            "finished_utc": pa.array([dt.datetime.now(dt.UTC)], UTC),
            "rows_read": [rows.num_rows],
            "rows_written": [report.new_events + report.revised_events + report.solutions_added + report.aliases_added],
            "note": [note or None],
        }, schema=INGEST_BATCHES.schema), mode="insert_new")
        w.set_commit_message("catalogs.ingest", f"{batch_kind} {source_name}: {report.summary()}")
        return report

    report = lake.run_writer(attempt, what=f"ingest {source_name}", views=False)  # the catalog SQL reads tables only
    if not report.already_ingested:
        log.info("%s: %s", source_name, report.summary())
    return report


def _ingest_in(w: LakeWriter, rows: pa.Table, params: AssociationParams, batch_id: str, now: dt.datetime) -> IngestReport:
    con = w.con
    n = rows.num_rows
    if n == 0:
        return IngestReport(batch_id, 0, 0, 0, 0, 0, 0)
    # -- read what association needs ---------------------------------------------------------------
    prov_up = pc.utf8_upper(rows.column("provider").combine_chunks())
    alias_ids = rows.column("alias_ids").combine_chunks()
    keys = pa.table({
        "provider": pa.concat_arrays([prov_up, pc.take(prov_up, pc.list_parent_indices(alias_ids))]),
        "provider_event_id": pa.concat_arrays([
            rows.column("provider_event_id").combine_chunks(), pc.list_flatten(alias_ids).cast(pa.string()),
        ]),
    })
    keys = keys.filter(pc.is_valid(keys.column("provider_event_id")))
    t = rows.column("origin_time_utc")
    tmin, tmax = pc.min(t).as_py(), pc.max(t).as_py()
    window = dt.timedelta(seconds=params.dt_s + 1)
    if tmin is not None and tmax is not None:
        events = _fetch(con, "events_between", {"start": tmin - window, "end": tmax + window})
    else:
        events = EVENTS.schema.empty_table()
    with _registered(con, "qe_keys", keys), _registered(con, "qe_event_ids", events.select(["event_id"])):
        aliases = _fetch(con, "aliases_for")
    assoc = associate(rows, events, aliases, params)
    event_ids = assoc.event_ids
    touched_existing = sorted(set(pc.filter(event_ids, pa.array(~assoc.is_new_event)).to_pylist()))
    with _registered(con, "qe_event_ids", _ids_table(touched_existing)):
        current = _fetch(con, "events_by_id")
        stored = _fetch(con, "solutions_for_events")

    # -- solutions, aliases --------------------------------------------------------------------------
    sids = solution_ids(rows)
    now_arr = pa.array([now] * n, UTC)
    batch_arr = pa.array([batch_id] * n, pa.string())
    incoming = pa.table({
        "solution_id": sids,
        "provider": rows.column("provider"),
        "provider_event_id": rows.column("provider_event_id"),
        "event_id": event_ids,
        **{c: rows.column(c) for c in SOLUTION_VALUE_COLUMNS},
        "updated_time_utc": rows.column("updated_time_utc"),
        "first_seen_utc": now_arr,
        "ingest_batch_id": batch_arr,
    }, schema=EVENT_SOLUTIONS.schema)
    stored = stored.select(EVENT_SOLUTIONS.schema.names).cast(EVENT_SOLUTIONS.schema)
    known_sids = set(stored.column("solution_id").to_pylist())
    new_solutions = _first_by(incoming.filter(pa.array([s not in known_sids for s in sids.to_pylist()])), ["solution_id"])
    alias_rows = _alias_rows(rows, event_ids, now, batch_id)
    known_alias = set(zip(pc.utf8_upper(aliases.column("provider")).to_pylist(), aliases.column("provider_event_id").to_pylist()))
    new_alias = alias_rows.filter(pa.array([
        (p.upper(), i) not in known_alias
        for p, i in zip(alias_rows.column("provider").to_pylist(), alias_rows.column("provider_event_id").to_pylist())
    ]))

    # -- preferred solution and revisions --------------------------------------------------------------
    candidates = _first_by(pa.concat_tables([stored, incoming]), ["solution_id"])
    changed, revisions, unchanged = _revise(candidates, current, params, batch_id, now)
    w.write("event_solutions", new_solutions, mode="insert_new")
    w.write("event_aliases", new_alias, mode="insert_new")
    w.write("events", changed, mode="upsert")
    w.write("event_revisions", revisions, mode="insert_new")
    reasons = pc.value_counts(revisions.column("revision_reason")).to_pylist() if revisions.num_rows else []
    new_events = sum(int(r["counts"]) for r in reasons if r["values"] == "new")
    return IngestReport(
        batch_id, n, new_events, revisions.num_rows - new_events, unchanged,
        _first_by(new_alias, ["provider", "provider_event_id"]).num_rows, new_solutions.num_rows,
        conflicts=tuple(assoc.conflicts),
    )


def _first_by(table: pa.Table, cols: list[str]) -> pa.Table:
    """Rows of ``table`` with the first occurrence of each key."""
    if table.num_rows == 0:
        return table
    keys = pc.binary_join_element_wise(*[pc.cast(table.column(c), pa.string()) for c in cols], "\x1f")
    codes = np.asarray(pc.dictionary_encode(keys).combine_chunks().indices.to_numpy(zero_copy_only=False))
    _, first = np.unique(codes, return_index=True)
    return table.take(pa.array(np.sort(first)))


def _alias_rows(rows: pa.Table, event_ids: pa.Array, now: dt.datetime, batch_id: str) -> pa.Table:
    alias_ids = rows.column("alias_ids").combine_chunks()
    parent = pc.list_parent_indices(alias_ids)
    provider = rows.column("provider").combine_chunks()
    provider = pa.concat_arrays([provider, pc.take(provider, parent)])
    ids = pa.concat_arrays([rows.column("provider_event_id").combine_chunks(), pc.list_flatten(alias_ids).cast(pa.string())])
    events = pa.concat_arrays([event_ids, pc.take(event_ids, parent)])
    m = len(ids)
    tbl = pa.table({
        "provider": provider, "provider_event_id": ids, "event_id": events,
        "first_seen_utc": pa.array([now] * m, UTC), "ingest_batch_id": pa.array([batch_id] * m, pa.string()),
    }, schema=EVENT_ALIASES.schema)
    tbl = tbl.filter(pc.and_(pc.is_valid(tbl.column("provider_event_id")), pc.not_equal(tbl.column("provider_event_id"), "")))
    return _first_by(tbl, ["provider", "provider_event_id"])


def _revise(
    candidates: pa.Table, current: pa.Table, params: AssociationParams, batch_id: str, now: dt.datetime
) -> tuple[pa.Table, pa.Table, int]:
    """The events whose preferred solution changed (new rows for ``events``), their revision rows,
    and how many touched events stayed unchanged."""
    # Only the latest solution of each (provider, provider_event_id) competes.
    key = pc.binary_join_element_wise(pc.utf8_upper(candidates.column("provider")), candidates.column("provider_event_id"), "\x1f")
    upd = np.asarray(pc.fill_null(pc.cast(candidates.column("updated_time_utc"), pa.int64()), np.iinfo(np.int64).min).to_numpy(zero_copy_only=False))
    seen = np.asarray(pc.fill_null(pc.cast(candidates.column("first_seen_utc"), pa.int64()), 0).to_numpy(zero_copy_only=False))
    kcode = np.asarray(pc.dictionary_encode(key).combine_chunks().indices.to_numpy(zero_copy_only=False))
    order = np.lexsort([-seen, -upd.astype(np.float64), kcode])
    latest = order[np.concatenate(([True], kcode[order][1:] != kcode[order][:-1]))]
    live = candidates.take(pa.array(np.sort(latest)))
    # Preferred per event: agency priority, status, recency (catalogs.associate.preference_keys).
    ecode = np.asarray(pc.dictionary_encode(live.column("event_id")).combine_chunks().indices.to_numpy(zero_copy_only=False))
    order = np.lexsort([*preference_keys(live, params.priority), ecode])
    firsts = order[np.concatenate(([True], ecode[order][1:] != ecode[order][:-1]))]
    pref = live.take(pa.array(np.sort(firsts)))
    idx = pc.index_in(pref.column("event_id"), value_set=current.column("event_id"))
    is_new = np.asarray(pc.is_null(idx).to_numpy(zero_copy_only=False), dtype=bool)
    proposed = {
        **{c: pref.column(c) for c in SOLUTION_VALUE_COLUMNS},
        "preferred_provider": pref.column("provider"),
        "preferred_provider_event_id": pref.column("provider_event_id"),
        "updated_time_utc": pref.column("updated_time_utc"),
    }
    differs = {c: _differs(current.column(c).take(idx), proposed[c]) for c in _COMPARED}
    any_diff = np.logical_or.reduce([differs[c] for c in _COMPARED])
    changed = is_new | any_diff

    def d(*cols: str) -> np.ndarray:
        return np.logical_or.reduce([differs[c] for c in cols])

    reason = np.select(
        [is_new, d("preferred_provider"), d("preferred_provider_event_id"), d(*_MAGNITUDE), d(*_LOCATION), d("review_status")],
        ["new", "preferred_source", "new_id", "magnitude", "relocation", "review"],
        default="update",
    )
    old_rev = np.asarray(pc.fill_null(current.column("event_revision").take(idx), 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    revision = np.where(is_new, 1, old_rev + 1)
    sel = pa.array(changed)
    k = int(changed.sum())
    events = pa.table({
        "event_id": pref.column("event_id"),
        **proposed,
        "event_revision": pa.array(revision, pa.int32()),
        "ingest_batch_id": pa.array([batch_id] * len(changed), pa.string()),
    }).filter(sel)
    revisions = pa.table({
        "event_id": events.column("event_id"),
        "event_revision": events.column("event_revision"),
        "revision_time_utc": pa.array([now] * k, UTC),
        "revision_reason": pa.array(reason[changed].tolist(), pa.string()),
        "source_provider": events.column("preferred_provider"),
        "source_provider_event_id": events.column("preferred_provider_event_id"),
        **{c: events.column(c) for c in SOLUTION_VALUE_COLUMNS},
        "updated_time_utc": events.column("updated_time_utc"),
        "ingest_batch_id": events.column("ingest_batch_id"),
    })
    return events.select(EVENTS.schema.names).cast(EVENTS.schema), revisions.cast(EVENT_REVISIONS.schema), int((~changed).sum())


def _differs(old: pa.ChunkedArray | pa.Array, new: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Element-wise ``old IS DISTINCT FROM new``."""
    if pa.types.is_timestamp(new.type):
        old, new = pc.cast(old, UTC), pc.cast(new, UTC)
    else:
        old = pc.cast(old, new.type)
    neq = pc.fill_null(pc.not_equal(old, new), True)
    both_null = pc.and_(pc.is_null(old), pc.is_null(new))
    return np.asarray(pc.and_not(neq, both_null).to_numpy(zero_copy_only=False), dtype=bool)


def import_file(lake: Lake, settings: IngestSettings, path: Path | str, provider: str | None = None) -> IngestReport:
    """Archive ``path`` (by content hash, before anything else), detect its format, parse it with
    the matching parser and ingest it as one batch (``catalog_file``)."""
    from catalogs.detect import detect_format, read_catalog_file

    src = Path(path)
    if not src.is_file():
        raise CatalogError(f"{src}: no such file")
    archived = archive_file(settings.raw_dir, src)
    fmt = detect_format(archived.path, src.name)  # messages name the user's file, not the archived copy
    rows = read_catalog_file(archived.path, provider=provider, source_name=src.name)
    return ingest_solutions(
        lake, rows, "catalog_file", src.name, str(archived.path), archived, settings,
        media_kind=str(fmt), batch_extra=(provider or "").upper(),
    )


def event_detail(lake: Lake, any_id: str) -> dict[str, pa.Table] | None:
    """One event with its ``aliases``, ``revisions`` and ``solutions`` (tables keyed by those names,
    plus ``event``), looked up by project event id or by any provider event id; ``None`` if unknown."""
    con = lake.connect(read_only=True)
    try:
        ids = _fetch(con, "alias_lookup", {"any_id": any_id}).column("event_id").to_pylist()
        if not ids:
            return None
        params = {"event_id": sorted(ids)[0]}
        return {
            "event": _fetch(con, "event_detail", params),
            "aliases": _fetch(con, "event_aliases_of", params),
            "revisions": _fetch(con, "event_revisions_of", params),
            "solutions": _fetch(con, "event_solutions_of", params),
        }
    finally:
        con.close()
