"""Exceptions raised by the warehouse layer.

Tree::

    WarehouseError
    ├── LakeNotInitialised   the data root has no lake yet (run ``expedition init``)
    ├── SchemaMismatch       rows do not match a declared table schema (names the column)
    ├── WarehouseBusy        another process holds the single-writer lock
    │   └── WriteConflict    concurrent writers changed the same table; retries ran out
    └── QueryRefused         a query-mode statement is not a read-only SELECT, or is bounded out
        └── QueryLimitExceeded   a query passed its time, memory or answer-size limit
"""

from __future__ import annotations


class WarehouseError(Exception):
    """Base class of every warehouse error."""


class LakeNotInitialised(WarehouseError):
    """The lake catalog does not exist yet."""


class SchemaMismatch(WarehouseError):
    """Incoming rows do not match the declared schema of a table."""

    def __init__(self, table: str, column: str, problem: str) -> None:
        self.table = table
        self.column = column
        self.problem = problem
        super().__init__(f"table {table!r}, column {column!r}: {problem}")


class WarehouseBusy(WarehouseError):
    """The single-writer lock could not be taken in time."""


class WriteConflict(WarehouseBusy):
    """Another writer committed a change to the same table first (optimistic concurrency on a
    PostgreSQL catalog); raised after the bounded retries ran out."""


class QueryRefused(WarehouseError):
    """A statement was refused by the read-only query mode."""


class QueryLimitExceeded(QueryRefused):
    """A query passed one of its limits: ``limit`` is ``"time"``, ``"memory"`` or ``"answer_size"``."""

    def __init__(self, limit: str, message: str) -> None:
        self.limit = limit
        super().__init__(message)
