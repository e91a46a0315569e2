"""The partner query audit: every SQL and named query, and every refusal, is logged.

Each record is logged at once (logger ``expedition.delivery.api.audit``: INFO when served, WARNING when
refused or cancelled) and buffered; a background thread writes the buffer to the lake table
``partner_query_audit`` every ``flush_s`` seconds in ONE transaction whose commit author is
:data:`~expedition.delivery.api.source.AUDIT_AUTHOR` (so these snapshots do not invalidate the partner
caches). Record ids are fixed when the record is made, and rows are written with
``insert_new``: a batch that fails (e.g. the writer lock is busy) is retried later without
duplicates. Read it with ``expedition query "SELECT * FROM partner_query_audit"``.

Records are bounded: the SQL text is cut to ``sql_chars`` characters, and the hex sha256 and length
of the whole text are kept (``query_sql_sha256``, ``query_sql_chars``), so a long text can be
matched but not stored; the detail is cut to 1,000 characters. Text that is not valid Unicode
(lone surrogates sent as ``\\ud800`` in JSON) is stored with those code points escaped
(``backslashreplace``), and hashed the same way. Retention: rows older than ``retention_days`` are
deleted by the flush thread, at most once every ``PRUNE_EVERY_S`` (``0`` keeps everything).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa

from expedition.delivery.api.source import AUDIT_AUTHOR
from warehouse.errors import WarehouseError
from warehouse.lake import Lake
from warehouse.tables import spec as table_spec

log = logging.getLogger(__name__)

MAX_BUFFERED = 100_000
MAX_DETAIL_CHARS = 1_000
PRUNE_EVERY_S = 3600.0


def safe_text(text: str) -> str:
    """``text`` that encodes as UTF-8: lone surrogates (and other unencodable code points) escaped."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def sql_digest(sql: str) -> str:
    """Hex sha256 of ``sql`` as UTF-8 (with unencodable code points escaped as in :func:`safe_text`)."""
    return hashlib.sha256(safe_text(sql).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditRecord:
    audit_id: str
    audit_time_utc: datetime
    partner_name: str | None
    client_address: str | None
    request_route: str
    query_name: str | None
    query_sql: str | None
    query_outcome: str  # ok | truncated | refused | failed | timeout | too_large
    http_status_code: int
    outcome_detail: str | None
    result_row_count: int | None
    query_duration_ms: float | None
    lake_snapshot_id: int | None
    query_sql_sha256: str | None
    query_sql_chars: int | None


class AuditLog:
    """Buffered audit writer (thread-safe)."""

    def __init__(self, lake: Lake, flush_s: float = 10.0, sql_chars: int = 2000, retention_days: float = 90.0) -> None:
        self.lake = lake
        self.flush_s = flush_s
        self.sql_chars = sql_chars
        self.retention_days = retention_days
        self._pruned_at = -float("inf")
        self._buffer: list[AuditRecord] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(
        self,
        *,
        route: str,
        outcome: str,
        status: int,
        partner: str | None = None,
        client: str | None = None,
        query_name: str | None = None,
        sql: str | None = None,
        detail: str | None = None,
        rows: int | None = None,
        duration_ms: float | None = None,
        snapshot_id: int | None = None,
    ) -> AuditRecord:
        kept = safe_text(sql[: self.sql_chars]) if sql is not None else None
        note = safe_text(detail[:MAX_DETAIL_CHARS]) if detail is not None else None
        rec = AuditRecord(
            uuid.uuid4().hex, datetime.now(UTC), partner, client, safe_text(route), query_name,
            kept, outcome, status, note, rows, duration_ms, snapshot_id,
            sql_digest(sql) if sql is not None else None, len(sql) if sql is not None else None,
        )
        level = logging.INFO if outcome in ("ok", "truncated") else logging.WARNING
        log.log(
            level, "partner=%s route=%s query=%s outcome=%s status=%d rows=%s detail=%s",
            partner, rec.request_route, query_name or (kept or "")[:200].replace("\n", " "), outcome, status, rows,
            (note or "")[:200],
        )
        with self._lock:
            self._buffer.append(rec)
            if len(self._buffer) > MAX_BUFFERED:
                dropped = len(self._buffer) - MAX_BUFFERED
                del self._buffer[:dropped]
                log.error("audit buffer full (lake not writable?): dropped %d oldest records", dropped)
            if self._thread is None and self.flush_s > 0 and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="qe-audit-flush", daemon=True)
                self._thread.start()
        return rec

    def pending(self) -> int:
        with self._lock:
            return len(self._buffer)

    def flush(self, wait_s: float = 5.0) -> int:
        """Write buffered records to the lake now (one transaction); returns how many."""
        with self._flush_lock:
            with self._lock:
                batch = list(self._buffer)
            if not batch:
                return 0
            table = pa.Table.from_pylist([asdict(r) for r in batch], schema=table_spec("partner_query_audit").schema)
            try:
                with self.lake.writer(wait_s=wait_s) as w:
                    w.write("partner_query_audit", table, mode="insert_new")
                    w.set_commit_message(AUDIT_AUTHOR, f"{len(batch)} partner queries")
            except (WarehouseError, duckdb.Error) as exc:
                log.warning("audit batch of %d records not written yet: %s", len(batch), exc)
                return 0
            with self._lock:
                written = {r.audit_id for r in batch}
                self._buffer = [r for r in self._buffer if r.audit_id not in written]
            return len(batch)

    def prune(self, now: datetime | None = None, wait_s: float = 5.0) -> bool:
        """Delete audit rows older than ``retention_days`` (one transaction); False if not done now."""
        if self.retention_days <= 0:
            return False
        cutoff = (now or datetime.now(UTC)) - timedelta(days=self.retention_days)
        try:
            with self.lake.writer(wait_s=wait_s) as w:
                w.delete("partner_query_audit", "audit_time_utc < ?", [cutoff])
                w.set_commit_message(AUDIT_AUTHOR, f"audit rows before {cutoff.isoformat()} pruned")
        except (WarehouseError, duckdb.Error) as exc:
            log.warning("audit retention not applied yet: %s", exc)
            return False
        self._pruned_at = time.monotonic()
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.flush_s):
            try:
                self.flush()
                if time.monotonic() - self._pruned_at >= PRUNE_EVERY_S:
                    self.prune()
            except Exception:  # never let the thread die: the next round retries
                log.exception("audit flush failed")

    def close(self) -> None:
        """Stop the background thread and write what is left."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=30)
        self.flush()
