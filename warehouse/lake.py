"""The lake: a DuckLake (Parquet data files plus a catalog database) opened through DuckDB.

Usage::

    lake = Lake.from_config(LakeConfig.local(home))   # or Lake.from_settings(settings): anything with lake_config()
    lake.init()                                   # idempotent: creates tables, migrates columns
    with lake.writer() as w:                      # single writer, one ACID transaction
        w.write("events", events_table, mode="upsert")
        w.write("event_aliases", aliases, mode="insert_new")
    con = lake.connect(read_only=True)            # readers work while a writer writes

A process killed mid-write leaves only unreferenced Parquet files, which
``expedition maintain`` deletes; the catalog commit is atomic, so no partial
data is ever visible.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from warehouse import sqlfiles
from warehouse.config import HasLakeConfig, LakeConfig
from warehouse.errors import LakeNotInitialised, WarehouseError
from warehouse.extensions import load_extensions
from warehouse.schema import TableSpec, conform, duckdb_type
from warehouse.tables import ALL_TABLES
from warehouse.tables import spec as table_spec
from warehouse.writer import LAKE_ALIAS, LakeWriter, WriteMode, WriteResult, file_lock

if TYPE_CHECKING:
    from warehouse.bulk import BulkFiles

__all__ = [
    "LAKE_ALIAS", "Lake", "LakeConfig", "LakeWriter", "WriteMode", "WriteResult", "close_shared_connections", "sql_literal",
]

log = logging.getLogger(__name__)

_SCHEMA_TABLE = "qe_schema_versions"


def sql_literal(value: str) -> str:
    """A SQL string literal for statements that cannot bind parameters (ATTACH, INSTALL)."""
    return "'" + value.replace("'", "''") + "'"


# One DuckDB instance per (process, lake), with the extensions loaded and the lake attached;
# connections handed out are cursors of it (about 30x cheaper than a new instance each time).
_SHARED: dict[tuple[int, str, str, str], duckdb.DuckDBPyConnection] = {}
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
                 bulk_append: bool = True) -> None:
        self.home = Path(home)
        self.catalog_url = catalog_url
        self.data_path = data_path if data_path.endswith(("/", os.sep)) else data_path + "/"
        self.writer_wait_s = writer_wait_s
        self.bulk_append = bulk_append

    @classmethod
    def from_config(cls, config: LakeConfig) -> Lake:
        """The lake described by ``config``."""
        return cls(config.home, config.catalog_url, config.data_path, config.writer_wait_s, config.bulk_append)

    @classmethod
    def from_settings(cls, settings: HasLakeConfig) -> Lake:
        """The lake of an application settings object (``expedition.settings.Settings``)."""
        return cls.from_config(settings.lake_config())

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
        views: bool = True,
    ) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with the lake attached as ``lake`` (and ``USE lake``) and the
        analytic views of ``warehouse/sql/views`` defined as temporary views.

        ``snapshot`` opens the lake as of that snapshot id (time travel, read only).
        ``spatial`` also loads the spatial extension (ST_* functions beyond the WKB conversions,
        which DuckDB 1.5 has built in with its GEOMETRY type); it costs about a second per
        connection, so only query mode asks for it. ``views=False`` skips defining the views
        (internal lookups that read tables only).
        """
        if not create and not self.exists():
            raise LakeNotInitialised(f"no lake under {self.home}: run `expedition init --home {self.home}`")
        if create:
            self.lake_dir.mkdir(parents=True, exist_ok=True)
            if not self.data_path.startswith(("s3://", "gs://", "az://", "http")):
                Path(self.data_path).mkdir(parents=True, exist_ok=True)
            return self._open(read_only=False, snapshot=None, spatial=spatial)
        if snapshot is not None or spatial:
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
            self._create_views(con)
        except duckdb.Error as exc:
            con.close()
            raise WarehouseError(f"cannot create the lake views: {exc}") from exc
        return con

    def warm(self) -> None:
        """Open this process's shared DuckDB instance now (extensions loaded, lake attached), for
        example on a background thread while input is being read. Errors are left for the next
        :meth:`connect` to raise."""
        if self.exists():
            with contextlib.suppress(WarehouseError, duckdb.Error):
                self._shared()

    def _shared(self) -> duckdb.DuckDBPyConnection:
        key = (os.getpid(), self.catalog_url, self.data_path, str(self.extension_dir))
        with _SHARED_LOCK:
            base = _SHARED.get(key)
            if base is None:
                base = self._open(read_only=False, snapshot=None, spatial=False)
                _SHARED[key] = base
            return base

    def _open(self, read_only: bool, snapshot: int | None, spatial: bool) -> duckdb.DuckDBPyConnection:
        """A new DuckDB instance with the extensions loaded and the lake attached."""
        con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
        try:
            load_extensions(
                con, ("sqlite", "ducklake", "spatial") if spatial else ("sqlite", "ducklake"), self.extension_dir
            )
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

    def _create_views(self, con: duckdb.DuckDBPyConnection) -> None:
        # One transaction for all of them: DuckLake then reads its catalog once, not once per view
        # (about 4x cheaper per connection).
        con.execute("BEGIN TRANSACTION")
        try:
            self._create_views_in(con)
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def _create_views_in(self, con: duckdb.DuckDBPyConnection) -> None:
        pending = dict(sqlfiles.views())
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
        c = con or self.connect(read_only=True)
        try:
            # fetchall: an unfinished result would keep the SQLite catalog locked for writers
            rows = c.execute(f"FROM {LAKE_ALIAS}.current_snapshot()").fetchall()
            return int(rows[0][0]) if rows else 0
        finally:
            if own:
                c.close()

    def read_table(self, name: str, where: str = "", params: list[Any] | None = None) -> pa.Table:
        """Read a declared table as Arrow, geometry as WKB (optional trusted ``where`` clause)."""
        spec = table_spec(name)
        cols = ", ".join(
            f'ST_AsWKB("{c}") AS "{c}"' if c in spec.geometry_columns else f'"{c}"' for c in spec.columns
        )
        con = self.connect(read_only=True)
        try:
            tbl = con.execute(f'SELECT {cols} FROM {LAKE_ALIAS}."{name}" {where}', params or []).to_arrow_table()
        finally:
            con.close()
        return conform(tbl, spec)

    # -- schema ------------------------------------------------------------------
    def init(self, tables: tuple[TableSpec, ...] = ALL_TABLES) -> list[str]:
        """Create missing tables and add columns new in their declared schema. Idempotent.

        Returns the names of the tables created or migrated."""
        changed: list[str] = []
        with self.writer(create=True) as w:
            con = w.con
            con.execute(
                f"CREATE TABLE IF NOT EXISTS {LAKE_ALIAS}.{_SCHEMA_TABLE} "
                "(table_name VARCHAR, schema_version INTEGER, applied_utc TIMESTAMPTZ)"
            )
            versions = dict(con.execute(
                f"SELECT table_name, max(schema_version) FROM {LAKE_ALIAS}.{_SCHEMA_TABLE} GROUP BY 1"
            ).fetchall())
            existing = {r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = ?", [LAKE_ALIAS]
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
                        "SELECT column_name FROM information_schema.columns WHERE table_catalog = ? AND table_name = ?",
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
        return changed

    # -- writing -------------------------------------------------------------------
    def stage_bulk(self, name: str, data: pa.Table, constants: Mapping[str, Any] | None = None,
                   keep: pa.Array | None = None) -> BulkFiles | None:
        """Start writing a bulk append's Parquet files before taking the writer lock (they are
        invisible until a writer adopts them: :meth:`LakeWriter.adopt`; ``.discard()`` otherwise).
        ``None`` when the fast path does not apply; use :meth:`LakeWriter.start_bulk` then."""
        from warehouse import bulk

        if not self.bulk_append:
            return None
        con = self.connect(read_only=True, views=False)
        try:
            return bulk.stage(con, table_spec(name), data, constants, keep)
        finally:
            con.close()

    @contextlib.contextmanager
    def writer(
        self, create: bool = False, wait_s: float | None = None, transaction: bool = True
    ) -> Iterator[LakeWriter]:
        """Take the single-writer lock, open one transaction, commit on success.

        ``transaction=False`` holds the lock but lets each statement commit on its own
        (maintenance: DuckLake refuses compaction and changes in one transaction).

        Raises :class:`WarehouseBusy` when another process keeps the lock longer than
        ``wait_s`` (default: the ``writer_wait_s`` setting)."""
        self.lake_dir.mkdir(parents=True, exist_ok=True)
        wait = self.writer_wait_s if wait_s is None else wait_s
        with file_lock(self.lock_path, wait):
            con = self.connect(create=create)
            w = LakeWriter(con, bulk_append=self.bulk_append)
            try:
                if transaction:
                    con.execute("BEGIN TRANSACTION")
                yield w
                w.finish_pending()
                if transaction:
                    con.execute("COMMIT")
                w.settle(committed=True)
            except BaseException:
                if transaction:
                    with contextlib.suppress(duckdb.Error):
                        con.execute("ROLLBACK")
                w.settle(committed=False)
                raise
            finally:
                con.close()
