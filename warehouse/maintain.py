"""Lake maintenance: compact small files, delete orphaned and expired files."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from warehouse.lake import LAKE_ALIAS, Lake

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MaintenanceReport:
    merged: int
    orphans_deleted: int
    old_files_deleted: int
    inlined_flushed: bool


#: Unreferenced files younger than this are left alone: a bulk append stages its Parquet files
#: before it takes the writer lock (see warehouse.bulk), so a fresh unreferenced file may be one
#: that an ingest running right now is about to register.
ORPHAN_GRACE_MINUTES = 60.0


def maintain(lake: Lake, expire_older_than_days: float | None = None,
             orphan_grace_minutes: float = ORPHAN_GRACE_MINUTES) -> MaintenanceReport:
    """Flush inlined rows to Parquet, merge adjacent small files, and delete files no snapshot
    references (left by killed writers; only those older than ``orphan_grace_minutes``) plus those
    of expired snapshots.

    Snapshots are kept (history is never lost) unless ``expire_older_than_days`` is given."""
    # Each call commits on its own (DuckLake does not mix compaction with changes), under the writer lock.
    with lake.writer(transaction=False) as w:
        con = w.con
        con.execute("CALL ducklake_flush_inlined_data(?)", [LAKE_ALIAS])
        merged = len(con.execute("CALL ducklake_merge_adjacent_files(?)", [LAKE_ALIAS]).fetchall())
        if expire_older_than_days is not None:
            con.execute(
                "CALL ducklake_expire_snapshots(?, older_than => now() - to_days(CAST(? AS INTEGER)))",
                [LAKE_ALIAS, int(expire_older_than_days)],
            )
        # DuckLake deletes only files that no remaining snapshot can see.
        old = len(con.execute("CALL ducklake_cleanup_old_files(?, cleanup_all => true)", [LAKE_ALIAS]).fetchall())
        orphans = len(con.execute(
            "CALL ducklake_delete_orphaned_files(?, older_than => now() - to_microseconds(CAST(? AS BIGINT)))",
            [LAKE_ALIAS, int(orphan_grace_minutes * 60e6)],
        ).fetchall())
    log.info("maintenance: %d merged, %d orphans, %d old files", merged, orphans, old)
    return MaintenanceReport(merged, orphans, old, True)
