"""The trusted reader of the partner service: everything partners may ever see, read from the
lake at ONE snapshot, as Arrow tables.

:class:`LakeSource` keeps one read-only lake connection. At most every ``refresh_s`` seconds it
asks the catalog for the *data version*: the newest snapshot not written by the service's own
audit writer (so audit batches do not invalidate every cache). When the version moved, it reads
the relations below inside one transaction (one snapshot) and publishes a new :class:`LakeData`;
requests keep using the previous one meanwhile. Reads fail while a writer commits to a SQLite
catalog ("database is locked"): the service then keeps serving the previous data and tries again
at the next check. Result sets are always read to the end, so the connection never holds the
catalog open between checks.

Partners never get this connection: :mod:`expedition.delivery.api.scopes` filters these tables per
partner into a separate, locked-down DuckDB database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from expedition.delivery.partners import TokenRegistry
from expedition.errors import ExpeditionError
from warehouse import sqlfiles
from warehouse.errors import WarehouseError
from warehouse.lake import Lake
from warehouse.tables import spec as table_spec

log = logging.getLogger(__name__)

#: Commit author of the audit writer; snapshots by this author do not change partner data.
AUDIT_AUTHOR = "partner-service-audit"

#: The public catalog: every partner sees all of it.
PUBLIC_RELATIONS = ("events", "event_aliases")
#: Relations filtered per partner (expeditions and what hangs off them).
SCOPED_RELATIONS = (
    "expeditions",
    "expedition_events",
    "expedition_assessments",
    "survey_publications",
    "survey_buildings",
    "survey_intensity",
    "survey_ground_failure",
    "survey_lifelines",
    "survey_stations",
)
#: Read for authentication only; never copied into a partner database.
REGISTRY_RELATIONS = ("partners", "partner_tokens")


class ServiceUnavailable(ExpeditionError):
    """The lake cannot be read right now (not initialised, or locked for longer than we wait)."""


@dataclass
class LakeData:
    """Everything the service serves, at one lake snapshot."""

    snapshot_id: int
    data_version: int
    relations: dict[str, pa.Table]
    registry: TokenRegistry
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)
    _memo_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _key_locks: dict[str, threading.Lock] = field(default_factory=dict, repr=False)

    def memo(self, key: str, build: Callable[[], Any]) -> Any:
        """A value derived from this data (e.g. FDSN rows), built once per snapshot.

        Each key has its own lock: building one value (a PDF brief: seconds) never makes a request
        for another (the FDSN index) wait."""
        with self._memo_lock:
            if key in self._memo:
                return self._memo[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._memo_lock:
                if key in self._memo:
                    return self._memo[key]
            value = build()
            with self._memo_lock:
                self._memo[key] = value
                self._key_locks.pop(key, None)
            return value


def _scalar(con: duckdb.DuckDBPyConnection, query: str, **params: Any) -> int:
    rows = con.execute(sqlfiles.query(query).sql, params).fetchall()  # read to the end: frees the catalog
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def _read_relation(con: duckdb.DuckDBPyConnection, name: str) -> pa.Table | None:
    """All rows of a lake table or view, geometry as WKB; ``None`` when it does not exist."""
    try:
        cols = con.execute(f'DESCRIBE SELECT * FROM "{name}"').fetchall()
    except duckdb.CatalogException:
        return None
    # Identifiers come from the catalog (declared specs and views), never from a request.
    select = ", ".join(
        f'ST_AsWKB("{c[0]}") AS "{c[0]}"' if str(c[1]).upper().startswith("GEOMETRY") else f'"{c[0]}"'
        for c in cols
    )
    return con.execute(f'SELECT {select} FROM "{name}"').to_arrow_table()


def _empty(name: str) -> pa.Table:
    return table_spec(name).empty()


class LakeSource:
    """Reads the lake for the partner service and tells when it changed; thread-safe."""

    def __init__(self, lake: Lake, refresh_s: float = 2.0, wait_s: float = 10.0) -> None:
        self.lake = lake
        self.refresh_s = refresh_s
        self.wait_s = wait_s
        self._con: duckdb.DuckDBPyConnection | None = None
        self._data: LakeData | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    # -- public ------------------------------------------------------------------------------------
    def current(self) -> LakeData:
        """The newest data (checked at most every ``refresh_s``); blocks only before the first read."""
        data = self._data
        if data is not None and time.monotonic() - self._checked < self.refresh_s:
            return data
        if data is not None:
            if not self._lock.acquire(blocking=False):
                return data  # another request is refreshing: serve what we have
            try:
                self._refresh()
            finally:
                self._lock.release()
            return self._data or data
        with self._lock:
            deadline = time.monotonic() + self.wait_s
            while self._data is None:
                self._refresh()
                if self._data is None:
                    if time.monotonic() >= deadline:
                        raise ServiceUnavailable(f"the lake could not be read for {self.wait_s:g} s; retry later")
                    time.sleep(0.2)
            return self._data

    def refresh_now(self) -> LakeData:
        """Check the lake at once (tests, and after the service itself wrote)."""
        with self._lock:
            self._refresh()
        return self.current()

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    # -- internals -----------------------------------------------------------------------------------
    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            try:
                # A DuckDB instance of its own with the lake attached READ_ONLY (``spatial=True`` is what
                # gives one): the per-process shared instance is read-write and its owner may close it.
                self._con = self.lake.connect(read_only=True, spatial=True)
            except WarehouseError as exc:
                raise ServiceUnavailable(str(exc)) from exc
        return self._con

    def _refresh(self) -> None:
        con = self._connection()
        try:
            version = _scalar(con, "lake_data_version", audit_author=AUDIT_AUTHOR)
            if self._data is not None and version == self._data.data_version:
                self._checked = time.monotonic()
                return
            data = self._read(con, version)
        except duckdb.Error as exc:
            # Typically "database is locked" while a writer commits: keep serving, retry soon.
            log.debug("lake read failed, keeping snapshot %s: %s", getattr(self._data, "snapshot_id", None), exc)
            if self._con is not None and not _healthy(self._con):
                self._con.close()
                self._con = None
            return
        self._data = data
        self._checked = time.monotonic()
        log.info("partner service now serves lake snapshot %d (data version %d)", data.snapshot_id, version)

    def _read(self, con: duckdb.DuckDBPyConnection, version: int) -> LakeData:
        con.execute("BEGIN TRANSACTION")
        try:
            snapshot = _scalar(con, "lake_current_snapshot")
            relations: dict[str, pa.Table] = {}
            for name in (*PUBLIC_RELATIONS, *SCOPED_RELATIONS, *REGISTRY_RELATIONS):
                tbl = _read_relation(con, name)
                if tbl is not None:
                    relations[name] = tbl
            con.execute("COMMIT")
        except BaseException:
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:
                log.debug("rollback after a failed read also failed")
            raise
        partners = relations.pop("partners", None)
        tokens = relations.pop("partner_tokens", None)
        registry = TokenRegistry(
            partners if partners is not None else _empty("partners"),
            tokens if tokens is not None else _empty("partner_tokens"),
        )
        return LakeData(snapshot, max(version, 0), relations, registry)


def _healthy(con: duckdb.DuckDBPyConnection) -> bool:
    try:
        con.execute("SELECT 1").fetchall()
        return True
    except duckdb.Error:
        return False
