"""How a failed partner query is answered: its HTTP status, audit outcome and message.

Shared by the service (in-process mode) and the query workers (:mod:`expedition.delivery.api.worker`).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from warehouse.errors import QueryLimitExceeded, QueryRefused, WarehouseError


@dataclass(frozen=True)
class Outcome:
    status: int
    outcome: str
    detail: str


def classify(exc: WarehouseError, relations: list[str] | None = None) -> Outcome:
    """HTTP status and audit outcome of a failed query (``relations``: what the partner may read)."""
    cause = exc.__cause__
    if isinstance(exc, QueryLimitExceeded):
        if exc.limit == "time":
            return Outcome(422, "timeout", str(exc))
        return Outcome(413, "too_large", str(exc))
    if isinstance(cause, duckdb.InterruptException):
        return Outcome(422, "timeout", str(exc))
    if isinstance(cause, duckdb.OutOfMemoryException):
        return Outcome(413, "too_large", f"the query needs more memory than a partner may use: {exc}")
    if isinstance(exc, QueryRefused):
        if isinstance(cause, duckdb.ParserException) or str(exc).startswith(("SQL does not parse", "SQL is not",
                                                                               "SQL contains", "SQL must")):
            return Outcome(400, "failed", str(exc))
        return Outcome(403, "refused", str(exc))
    if isinstance(cause, duckdb.CatalogException):
        first = str(cause).splitlines()[0]  # without DuckDB's "Did you mean" guesses at system tables
        yours = ", ".join(relations or []) or "see GET /v1/tables"
        return Outcome(400, "refused", f"query failed: {first} Your tables: {yours}")
    if isinstance(cause, duckdb.NotImplementedException) and "Arrow type" in str(cause):
        return Outcome(400, "failed", f"a result column has a type the service cannot send ({_first(cause)}); "
                                      "cast it, e.g. to VARCHAR")
    return Outcome(400, "failed", str(exc))


def _first(exc: BaseException) -> str:
    return str(exc).splitlines()[0]
