"""The lake: a DuckLake (Parquet data files plus a catalog database) opened through DuckDB.

Usage::

    lake = Lake.from_config(LakeConfig.local(home))   # or Lake.from_settings(settings): anything with lake_config()
    lake.init()                                   # idempotent: creates tables, migrates columns
    def body(w: LakeWriter) -> None:              # one ACID transaction, run again on a write conflict
        w.write("events", events_table, mode="upsert")
        w.write("event_aliases", aliases, mode="insert_new")
    lake.run_writer(body, what="events")
    con = lake.connect(read_only=True)            # readers work while a writer writes

The catalog is SQLite (one writer at a time under a file lock) or PostgreSQL (several writers on
several machines, optimistic concurrency: :mod:`warehouse.concurrency`); the data path a local or
shared folder or S3-compatible storage (:mod:`warehouse.backend`).

A process killed mid-write leaves only unreferenced Parquet files, which
``expedition maintain`` deletes; the catalog commit is atomic, so no partial
data is ever visible.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb

from warehouse import extensions, sqlfiles
from warehouse.backend import Backend, S3Options, backend_of, s3_secret_sql
from warehouse.concurrency import RetryPolicy, create_fences, is_write_conflict, run_with_retries
from warehouse.config import LAKE_ALIAS, HasLakeConfig, LakeConfig
from warehouse.errors import LakeNotInitialised, WarehouseError, WriteConflict
from warehouse.lazy import lazy_exports
from warehouse.needs import view_closure
from warehouse.sqlfiles import sql_literal

if TYPE_CHECKING:
    import pyarrow as pa

    from warehouse.bulk import BulkFiles
    from warehouse.schema import TableSpec
    from warehouse.writer import LakeWriter, WriteMode, WriteResult

# Opening a lake to read (``expedition query``) imports neither pyarrow nor the table declarations:
# the writer, the schemas and Arrow load with the first method that needs them.

__all__ = [
    "LAKE_ALIAS", "Lake", "LakeConfig", "LakeWriter", "WriteMode", "WriteResult", "close_shared_connections", "sql_literal",
]

_EXPORTS = {name: ("warehouse.writer", name) for name in ("LakeWriter", "WriteMode", "WriteResult")}
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS, __all__)

log = logging.getLogger(__name__)

T = TypeVar("T")

_SCHEMA_TABLE = "qe_schema_versions"


# One DuckDB instance per (process, lake), with the extensions loaded and the lake attached;
# connections handed out are cursors of it (about 30x cheaper than a new instance each time).
_SHARED: dict[tuple[int, str, str, str, bool], duckdb.DuckDBPyConnection] = {}
_SHARED_LOCK = threading.Lock()


def close_shared_connections() -> None:
    """Close the per-process DuckDB instances (tests call this between cases)."""
    with _SHARED_LOCK:
        for con in _SHARED.values():
            with contextlib.suppress(duckdb.Error):
                con.close()
        _SHARED.clear()


class Lake:
    """Paths and connections of one lake."""

    def __init__(self, home: Path, catalog_url: str, data_path: str, writer_wait_s: float = 30.0,
                 bulk_append: bool = True, s3: S3Options | None = None, retry: RetryPolicy | None = None,
                 verify_extension_signatures: bool = False) -> None:
        self.home = Path(home)
        self.verify_extension_signatures = verify_extension_signatures
        self.catalog_url = catalog_url
        self.data_path = data_path if data_path.endswith(("/", os.sep)) else data_path + "/"
        self.writer_wait_s = writer_wait_s
        self.bulk_append = bulk_append
        self.s3 = s3 or S3Options()
        self.retry = retry or RetryPolicy()
        #: write conflicts this object's :meth:`run_writer` has retried (for benchmarks and logs)
        self.conflicts_retried = 0

    @classmethod
    def from_config(cls, config: LakeConfig) -> Lake:
        """The lake described by ``config``."""
        return cls(config.home, config.catalog_url, config.data_path, config.writer_wait_s, config.bulk_append,
                   s3=config.s3, retry=config.retry, verify_extension_signatures=config.verify_extension_signatures)

    @classmethod
    def from_settings(cls, settings: HasLakeConfig) -> Lake:
        """The lake of an application settings object (``expedition.settings.Settings``)."""
        return cls.from_config(settings.lake_config())

    @property
    def backend(self) -> Backend:
        """The kind of catalog and storage (``backend.describe()`` for people)."""
        return backend_of(self.catalog_url, self.data_path)

    # -- paths ---------------------------------------------------------------
    @property
    def lake_dir(self) -> Path:
        """``<home>/lake``: the local catalog, data and writer lock."""
        return self.home / "lake"

    @property
    def extension_dir(self) -> Path:
        """Where DuckDB's extensions are installed for this lake."""
        return self.home / ".duckdb" / "extensions"

    @property
    def lock_path(self) -> Path:
        """The single-writer lock file."""
        return self.lake_dir / "writer.lock"

    @property
    def is_local_sqlite(self) -> bool:
        """True when the catalog is a local SQLite file."""
        return self.catalog_url.startswith("sqlite:")

    def exists(self) -> bool:
        """True when the lake catalog has been created (``expedition init``)."""
        if self.is_local_sqlite:
            return Path(self.catalog_url.removeprefix("sqlite:")).is_file()
        return True  # remote catalogs are assumed provisioned

    def local_dirs(self) -> list[str]:
        """Directories a query-mode connection may read: the data path and the catalog."""
        dirs = [self.data_path]
        if self.is_local_sqlite:
            dirs.append(str(Path(self.catalog_url.removeprefix("sqlite:")).parent) + "/")
        return dirs

    # -- connections -----------------------------------------------------------
    def connect(
        self, read_only: bool = False, snapshot: int | None = None, create: bool = False, spatial: bool = False,
        views: bool | Collection[str] = True, own: bool = False,
    ) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with the lake attached as ``lake`` (and ``USE lake``) and the
        analytic views of ``warehouse/sql/views`` defined as temporary views.

        ``snapshot`` opens the lake as of that snapshot id (time travel, read only).
        ``spatial`` also loads the spatial extension (ST_* functions beyond the WKB conversions,
        which DuckDB 1.5 has built in with its GEOMETRY type); it costs about a second per
        connection, so only query mode asks for it. ``views=False`` skips defining the views
        (internal lookups that read tables only); a collection of names defines those views and the
        views they read (see :func:`warehouse.needs.statement_needs`). ``own=True`` gives a DuckDB
        instance of its own (query mode: ``read_only`` is then enforced by the attach).
        """
        if not create and not self.exists():
            raise LakeNotInitialised(f"no lake under {self.home}: run `expedition init --home {self.home}`")
        if create:
            self.lake_dir.mkdir(parents=True, exist_ok=True)
            if not self.backend.is_remote_storage:
                Path(self.data_path).mkdir(parents=True, exist_ok=True)
            return self._open(read_only=False, snapshot=None, spatial=spatial)
        if snapshot is not None or spatial or own:
            con = self._open(read_only=read_only, snapshot=snapshot, spatial=spatial)
        else:
            # Internal reads and writes share one instance per process; ``read_only`` is then
            # advisory (query mode, which must enforce it, asks for ``spatial`` and gets its own).
            cur = self._shared().cursor()
            cur.execute(f"USE {LAKE_ALIAS}")
            con = cur
        if not views:
            return con
        try:
            self.define_views(con, None if views is True else views)
        except WarehouseError:
            con.close()
            raise
        return con

    def define_views(self, con: duckdb.DuckDBPyConnection, names: Collection[str] | None = None) -> None:
        """Define the views ``names`` (``None``: all) and the views they read on ``con``, as temporary views."""
        try:
            self._create_views(con, names)
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot create the lake views: {exc}") from exc

    def warm(self) -> None:
        """Open this process's shared DuckDB instance now (extensions loaded, lake attached), for
        example on a background thread while input is being read. Errors are left for the next
        :meth:`connect` to raise."""
        if self.exists():
            with contextlib.suppress(WarehouseError, duckdb.Error):
                self._shared()

    def _shared(self) -> duckdb.DuckDBPyConnection:
        key = (os.getpid(), self.catalog_url, self.data_path, str(self.extension_dir),
               self.verify_extension_signatures)
        with _SHARED_LOCK:
            base = _SHARED.get(key)
            if base is None:
                base = self._open(read_only=False, snapshot=None, spatial=False)
                _SHARED[key] = base
            return base

    def _open(self, read_only: bool, snapshot: int | None, spatial: bool) -> duckdb.DuckDBPyConnection:
        """A new DuckDB instance with the extensions loaded and the lake attached."""
        backend = self.backend
        try:
            con = extensions.connect((*backend.extensions, "spatial") if spatial else backend.extensions,
                                     self.extension_dir, self.verify_extension_signatures)
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot load the DuckDB extensions: {exc}") from exc
        try:
            if backend.storage_kind == "s3":
                con.execute(s3_secret_sql(self.s3.with_environment()))
            # ATTACH takes no bound parameters: paths come from settings and are quoted as literals.
            opts = [f"DATA_PATH {sql_literal(self.data_path)}"]
            if read_only or snapshot is not None:
                opts.append("READ_ONLY")
            if snapshot is not None:
                opts.append(f"SNAPSHOT_VERSION {int(snapshot)}")
            target = sql_literal("ducklake:" + self.catalog_url)
            con.execute(f"ATTACH {target} AS {LAKE_ALIAS} ({', '.join(opts)})")
            con.execute(f"USE {LAKE_ALIAS}")
        except duckdb.Error as exc:
            con.close()
            raise WarehouseError(f"cannot open the lake at {self.home}: {exc}") from exc
        return con

    def _create_views(self, con: duckdb.DuckDBPyConnection, names: Collection[str] | None = None) -> None:
        all_views = sqlfiles.views()
        wanted = all_views if names is None else {n: all_views[n] for n in view_closure(con, names)}
        if not wanted:
            return
        # One transaction for all of them: DuckLake then reads its catalog once, not once per view
        # (about 4x cheaper per connection).
        con.execute("BEGIN TRANSACTION")
        try:
            self._create_views_in(con, wanted)
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def _create_views_in(self, con: duckdb.DuckDBPyConnection, views: Mapping[str, str]) -> None:
        pending = dict(views)
        # Views may read other views: retry until no progress (sorted order is the first guess).
        while pending:
            progress = False
            for name, sql in list(pending.items()):
                try:
                    con.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS {sql}')
                except duckdb.CatalogException:
                    continue
                del pending[name]
                progress = True
            if not progress:
                log.debug("views not created (their tables are missing): %s", sorted(pending))
                break

    def current_snapshot(self, con: duckdb.DuckDBPyConnection | None = None) -> int:
        """The lake's latest snapshot id (on ``con`` when given, else on a read-only connection)."""
        own = con is None
        c = con or self.connect(read_only=True, views=False)
        try:
            # fetchall: an unfinished result would keep the SQLite catalog locked for writers
            rows = c.execute(f"FROM {LAKE_ALIAS}.current_snapshot()").fetchall()
            return int(rows[0][0]) if rows else 0
        finally:
            if own:
                c.close()

    def read_table(self, name: str, where: str = "", params: list[Any] | None = None) -> pa.Table:
        """Read a declared table as Arrow, geometry as WKB (optional trusted ``where`` clause)."""
        from warehouse.schema import conform
        from warehouse.tables import spec as table_spec

        spec = table_spec(name)
        cols = ", ".join(
            f'ST_AsWKB("{c}") AS "{c}"' if c in spec.geometry_columns else f'"{c}"' for c in spec.columns
        )
        con = self.connect(read_only=True, views=False)
        try:
            tbl = con.execute(f'SELECT {cols} FROM {LAKE_ALIAS}."{name}" {where}', params or []).to_arrow_table()
        finally:
            con.close()
        return conform(tbl, spec)

    # -- schema ------------------------------------------------------------------
    def init(self, tables: tuple[TableSpec, ...] | None = None) -> list[str]:
        """Create missing tables (``None``: every declared table) and add columns new in their declared
        schema. Idempotent (two processes may run it at once on a PostgreSQL catalog: the second
        retries and finds them).

        Returns the names of the tables created or migrated."""
        from warehouse.tables import ALL_TABLES

        todo = ALL_TABLES if tables is None else tables
        return self.run_writer(lambda w: self._init_in(w, todo), create=True, what="init")

    def _init_in(self, w: LakeWriter, tables: tuple[TableSpec, ...]) -> list[str]:
        from warehouse.schema import duckdb_type

        changed: list[str] = []
        con = w.con
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {LAKE_ALIAS}.{_SCHEMA_TABLE} "
            "(table_name VARCHAR, schema_version INTEGER, applied_utc TIMESTAMPTZ)"
        )
        versions = dict(con.execute(
            f"SELECT table_name, max(schema_version) FROM {LAKE_ALIAS}.{_SCHEMA_TABLE} GROUP BY 1"
        ).fetchall())
        existing = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = 'main'",
            [LAKE_ALIAS],
        ).fetchall()}
        for spec in tables:
            qname = f'{LAKE_ALIAS}."{spec.name}"'
            if spec.name not in existing:
                con.execute(spec.ddl(qname))
                if spec.partition_by:
                    cols = ", ".join(f'"{c}"' for c in spec.partition_by)
                    con.execute(f"ALTER TABLE {qname} SET PARTITIONED BY ({cols})")
                changed.append(spec.name)
            elif versions.get(spec.name, 0) < spec.version:
                have = {r[0] for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_catalog = ? AND table_schema = 'main' "
                "AND table_name = ?",
                    [LAKE_ALIAS, spec.name],
                ).fetchall()}
                for f in spec.schema:
                    if f.name not in have:
                        con.execute(f'ALTER TABLE {qname} ADD COLUMN "{f.name}" {duckdb_type(f)}')
                changed.append(spec.name)
            if versions.get(spec.name, 0) < spec.version:
                con.execute(
                    f"INSERT INTO {LAKE_ALIAS}.{_SCHEMA_TABLE} VALUES (?, ?, now())", [spec.name, spec.version]
                )
        if self.backend.concurrent_writers:
            create_fences(con, [spec.name for spec in tables])
        return changed

    # -- writing -------------------------------------------------------------------
    def bulk_directory(self, name: str, constants: Mapping[str, Any] | None = None) -> Path | None:
        """Where a bulk append to ``name`` with these per-file constants writes its files (``None``
        when the fast path does not apply): look it up ahead, on another thread, and pass it to
        :meth:`stage_bulk`. A table keeps its directory for life, so the answer does not go stale."""
        from warehouse import bulk
        from warehouse.tables import spec as table_spec

        if not self.bulk_append:
            return None
        con = self.connect(read_only=True, views=False)
        try:
            return bulk.target_directory(con, table_spec(name), constants)
        finally:
            con.close()

    def stage_bulk(self, name: str, data: pa.Table, constants: Mapping[str, Any] | None = None,
                   keep: pa.Array | None = None, directory: Path | None = None) -> BulkFiles | None:
        """Start writing a bulk append's Parquet files outside a writer's transaction (they are
        invisible until a writer adopts them: :meth:`LakeWriter.adopt`; ``.discard()`` otherwise).
        ``None`` when the fast path does not apply; use :meth:`LakeWriter.start_bulk` then.
        ``directory``: :meth:`bulk_directory` of the same table and constants, looked up ahead."""
        from warehouse import bulk
        from warehouse.tables import spec as table_spec

        if not self.bulk_append:
            return None
        if directory is not None:
            return bulk.stage(None, table_spec(name), data, constants, keep, directory)
        con = self.connect(read_only=True, views=False)
        try:
            return bulk.stage(con, table_spec(name), data, constants, keep)
        finally:
            con.close()

    def run_writer(self, body: Callable[[LakeWriter], T], *, create: bool = False, what: str = "write",
                   views: bool | Collection[str] = True) -> T:
        """Run ``body(writer)`` in one lake transaction and commit; on a PostgreSQL catalog, run it
        again (a new transaction, re-reading the lake) when another writer committed a change to the
        same table first, up to ``retry.attempts`` times with jittered backoff (see
        :mod:`warehouse.concurrency`). ``body`` must keep its effects inside the transaction.

        Raises :class:`WriteConflict` when the retries run out, :class:`WarehouseBusy` when the
        SQLite single-writer lock is not free within ``writer_wait_s``."""

        def attempt(k: int) -> T:
            with self.writer(create=create, attempt=k, views=views) as w:
                return body(w)

        def conflicted(_k: int, _exc: BaseException) -> None:
            self.conflicts_retried += 1

        return run_with_retries(attempt, self.retry, what, on_conflict=conflicted)

    @contextlib.contextmanager
    def writer(
        self, create: bool = False, wait_s: float | None = None, transaction: bool = True, attempt: int = 1,
        views: bool | Collection[str] = True,
    ) -> Iterator[LakeWriter]:
        """Open one transaction, commit on success: under the single-writer lock on a SQLite
        catalog; without a lock on a PostgreSQL catalog, where a commit that conflicts with
        another writer's raises :class:`WriteConflict` (:meth:`run_writer` retries those).

        ``transaction=False`` lets each statement commit on its own
        (maintenance: DuckLake refuses compaction and changes in one transaction).

        Raises :class:`WarehouseBusy` when another process keeps the lock longer than
        ``wait_s`` (default: the ``writer_wait_s`` setting). ``views`` as for :meth:`connect`: a writer
        that reads no view (or only a few) skips defining all of them (about 0.1 s of CPU)."""
        from warehouse.writer import LakeWriter, file_lock

        self.lake_dir.mkdir(parents=True, exist_ok=True)
        wait = self.writer_wait_s if wait_s is None else wait_s
        concurrent = self.backend.concurrent_writers
        with contextlib.nullcontext() if concurrent else file_lock(self.lock_path, wait):
            con = self.connect(create=create, views=views)
            w = LakeWriter(con, bulk_append=self.bulk_append, fences=concurrent and transaction, attempt=attempt)
            try:
                if transaction:
                    con.execute("BEGIN TRANSACTION")
                yield w
                w.finish_pending()
                if transaction:
                    log.debug("committing (attempt %d)", attempt)
                    try:
                        con.execute("COMMIT")
                    except duckdb.Error as exc:
                        if is_write_conflict(exc):
                            raise WriteConflict(
                                f"another writer changed the same lake table first (attempt {attempt} of "
                                f"{self.retry.attempts}); nothing of this transaction was written. Retry, or raise "
                                f"QE_WRITER_MAX_ATTEMPTS: {exc}"
                            ) from exc
                        raise
                w.settle(committed=True)
            except BaseException:
                if transaction:
                    with contextlib.suppress(duckdb.Error):
                        con.execute("ROLLBACK")
                w.settle(committed=False)
                raise
            finally:
                con.close()
