"""The lake: a DuckLake (Parquet files plus a catalog database) opened through DuckDB.

Example::

    from pathlib import Path
    import warehouse
    lake = warehouse.Lake.from_config(warehouse.LakeConfig.local(Path("~/qe").expanduser()))
    lake.init()                                           # idempotent: tables, views, migrations
    with lake.writer() as w:                              # the single writer, one transaction
        w.write("events", events_table, mode="upsert")
    warehouse.query_lake(lake, "SELECT count(*) AS n FROM events").table   # read-only, locked down

The warehouse knows no other package: it takes its own :class:`LakeConfig` (the application's
settings build one). Importing this package is cheap: each name loads its module on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from warehouse.lazy import lazy_exports

if TYPE_CHECKING:
    from warehouse.config import HasLakeConfig, LakeConfig
    from warehouse.errors import LakeNotInitialised, QueryRefused, SchemaMismatch, WarehouseBusy, WarehouseError
    from warehouse.lake import Lake, LakeWriter, WriteMode, WriteResult, close_shared_connections
    from warehouse.query import QueryResult, open_query_connection, query_lake, run_query
    from warehouse.schema import TableSpec
    from warehouse.status import lake_status
    from warehouse.tables import ALL_TABLES
    from warehouse.tables import spec as table_spec

__all__ = [
    "ALL_TABLES",
    "HasLakeConfig",
    "Lake",
    "LakeConfig",
    "LakeNotInitialised",
    "LakeWriter",
    "QueryRefused",
    "QueryResult",
    "SchemaMismatch",
    "TableSpec",
    "WarehouseBusy",
    "WarehouseError",
    "WriteMode",
    "WriteResult",
    "close_shared_connections",
    "lake_status",
    "open_query_connection",
    "query_lake",
    "run_query",
    "table_spec",
]

#: public name -> (module, name in that module)
_EXPORTS: dict[str, tuple[str, str]] = {
    "ALL_TABLES": ("warehouse.tables", "ALL_TABLES"),
    "HasLakeConfig": ("warehouse.config", "HasLakeConfig"),
    "Lake": ("warehouse.lake", "Lake"),
    "LakeConfig": ("warehouse.config", "LakeConfig"),
    "LakeNotInitialised": ("warehouse.errors", "LakeNotInitialised"),
    "LakeWriter": ("warehouse.lake", "LakeWriter"),
    "QueryRefused": ("warehouse.errors", "QueryRefused"),
    "QueryResult": ("warehouse.query", "QueryResult"),
    "SchemaMismatch": ("warehouse.errors", "SchemaMismatch"),
    "TableSpec": ("warehouse.schema", "TableSpec"),
    "WarehouseBusy": ("warehouse.errors", "WarehouseBusy"),
    "WarehouseError": ("warehouse.errors", "WarehouseError"),
    "WriteMode": ("warehouse.lake", "WriteMode"),
    "WriteResult": ("warehouse.lake", "WriteResult"),
    "close_shared_connections": ("warehouse.lake", "close_shared_connections"),
    "lake_status": ("warehouse.status", "lake_status"),
    "open_query_connection": ("warehouse.query", "open_query_connection"),
    "query_lake": ("warehouse.query", "query_lake"),
    "run_query": ("warehouse.query", "run_query"),
    "table_spec": ("warehouse.tables", "spec"),
}


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS, __all__)
