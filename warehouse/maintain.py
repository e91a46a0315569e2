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


def maintain(lake: Lake, expire_older_than_days: float | None = None) -> MaintenanceReport:
    """Flush inlined rows to Parquet, merge adjacent small files, and delete files no snapshot
    references (left by killed writers) plus those of expired snapshots.

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
        orphans = len(
            con.execute("CALL ducklake_delete_orphaned_files(?, cleanup_all => true)", [LAKE_ALIAS]).fetchall()
        )
    log.info("maintenance: %d merged, %d orphans, %d old files", merged, orphans, old)
    return MaintenanceReport(merged, orphans, old, True)
