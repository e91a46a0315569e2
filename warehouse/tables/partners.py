"""Partners tables (declared here, once)."""

from __future__ import annotations

from warehouse.schema import TableSpec

TABLES: tuple[TableSpec, ...] = ()
