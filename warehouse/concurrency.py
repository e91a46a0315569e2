"""Several writers at once on a PostgreSQL catalog: optimistic concurrency, fences, bounded retries.

DuckLake commits optimistically: two transactions that both only *insert* into a table never
conflict (DuckLake retries the catalog commit itself, ``ducklake_max_retry_count``), while a
transaction that deletes from a table conflicts with any other that inserted into or deleted from
it since its snapshot (measured with DuckLake 1.5.5: the check is per table, not per file).

Inserts that never conflict are a problem for exactly-once writes: two ingests of the same file at
the same moment would each read "not there yet" and each insert it. So every keyed write also
*claims the fence* of its table: it bumps the one row of ``lake.qe_fence.<table>`` (an UPDATE, that
is a delete and an insert). Two transactions that claim the same fence conflict at commit; the
loser is rolled back and run again (:func:`run_with_retries`), re-reads the lake, and skips the keys
the winner wrote. Writers of different tables (a catalog pull and a survey ingest) never conflict.

The SQLite catalog keeps its single-writer file lock instead, and never claims fences.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import duckdb

__all__ = ["FENCE_SCHEMA", "RetryPolicy", "claim_fence", "create_fences", "is_write_conflict", "run_with_retries"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The lake schema holding the fence tables.
FENCE_SCHEMA = "qe_fence"
#: Buckets of a table with ``fence_by``: writers of values in different buckets do not conflict.
FENCE_BUCKETS = 64


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with full jitter: attempt ``k`` (1-based) waits a random time in
    ``[0, min(cap_s, base_s * 2**(k-1))]`` before running again."""

    attempts: int = 8
    base_s: float = 0.05
    cap_s: float = 2.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based)."""
        top = min(self.cap_s, self.base_s * (2 ** max(0, attempt - 1)))
        return (rng or random).uniform(0.0, top)


def is_write_conflict(exc: BaseException) -> bool:
    """True when ``exc`` is DuckLake refusing a commit because another writer changed the same
    table meanwhile (or ran out of its own catalog retries): a transient failure, safe to rerun."""
    if not isinstance(exc, duckdb.TransactionException | duckdb.ConstraintException | duckdb.IOException):
        return False
    text = str(exc)
    return "Transaction conflict" in text or (
        "Failed to commit DuckLake transaction" in text and ("duplicate key" in text or "unique constraint" in text)
    )


def fence_table(table: str) -> str:
    """The qualified name of fence ``table`` (names come from the declared table specs)."""
    return f'lake.{FENCE_SCHEMA}."{table}"'


def fence_name(table: str, value: object | None = None) -> str:
    """The fence of ``table`` (``value`` None), or of the bucket of one ``fence_by`` value."""
    if value is None:
        return table
    bucket = int(hashlib.sha256(str(value).encode()).hexdigest()[:8], 16) % FENCE_BUCKETS
    return f"{table}#{bucket:02d}"


def create_fences(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> list[str]:
    """Create the fence schema and one single-row fence table per name (idempotent); returns the
    fences created. Runs inside the caller's transaction."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS lake.{FENCE_SCHEMA}")
    have = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'lake' AND table_schema = ?",
        [FENCE_SCHEMA],
    ).fetchall()}
    made = []
    for name in tables:
        if name in have:
            continue
        con.execute(f"CREATE TABLE {fence_table(name)} (fence_claims_count BIGINT)")
        con.execute(f"INSERT INTO {fence_table(name)} VALUES (0)")
        made.append(name)
    return made


def claim_fence(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Claim fence ``name`` (see :func:`fence_name`) in the current transaction: any other transaction
    that claims it and commits first makes this one fail at commit with a write conflict.

    Bucket fences are created on first use: two writers creating the same one also conflict."""
    if "#" in name:
        con.execute(f"CREATE TABLE IF NOT EXISTS {fence_table(name)} (fence_claims_count BIGINT)")
    row = con.execute(f"UPDATE {fence_table(name)} SET fence_claims_count = fence_claims_count + 1").fetchone()
    if not row or not row[0]:  # a new (or emptied) fence: its row makes the next claims conflict
        con.execute(f"INSERT INTO {fence_table(name)} VALUES (1)")


def run_with_retries(attempt: Callable[[int], T], policy: RetryPolicy, what: str,
                     on_conflict: Callable[[int, BaseException], None] | None = None,
                     sleep: Callable[[float], None] = time.sleep) -> T:
    """Call ``attempt(k)`` for k = 1, 2, ... until it returns, retrying only write conflicts
    (:func:`is_write_conflict` on the exception or its cause) with jittered backoff; after
    ``policy.attempts`` the last conflict is raised."""
    k = 1
    while True:
        try:
            return attempt(k)
        except Exception as exc:
            conflict = exc if is_write_conflict(exc) else exc.__cause__
            if conflict is None or not is_write_conflict(conflict) or k >= policy.attempts:
                raise
            wait = policy.delay(k)
            log.info("%s: write conflict on attempt %d of %d, retrying in %.2f s", what, k, policy.attempts, wait)
            if on_conflict is not None:
                on_conflict(k, conflict)
            sleep(wait)
            k += 1
