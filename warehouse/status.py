"""What is in the lake: tables, row counts, last update, size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from warehouse.backend import redact
from warehouse.lake import LAKE_ALIAS, Lake
from warehouse.tables import ALL_TABLES


def lake_status(lake: Lake) -> dict[str, Any]:
    con = lake.connect(read_only=True)
    try:
        snap = con.execute(
            f"SELECT snapshot_id, snapshot_time FROM {LAKE_ALIAS}.snapshots() ORDER BY snapshot_id DESC LIMIT 1"
        ).fetchone()
        tables = []
        for spec in ALL_TABLES:
            row = con.execute(f'SELECT count(*) FROM {LAKE_ALIAS}."{spec.name}"').fetchone()
            tables.append({"table": spec.name, "rows": int(row[0]) if row else 0})
    finally:
        con.close()
    data_files = 0
    data_bytes = 0
    root = Path(lake.data_path)
    if not lake.backend.is_remote_storage and root.is_dir():
        for p in root.rglob("*.parquet"):
            data_files += 1
            data_bytes += p.stat().st_size
    catalog_bytes = 0
    if lake.is_local_sqlite:
        cat = Path(lake.catalog_url.removeprefix("sqlite:"))
        catalog_bytes = cat.stat().st_size if cat.exists() else 0
    return {
        "home": str(lake.home),
        "catalog": redact(lake.catalog_url),
        "backend": lake.backend.describe(),
        "catalog_kind": lake.backend.catalog_kind,
        "storage_kind": lake.backend.storage_kind,
        "concurrent_writers": lake.backend.concurrent_writers,
        "snapshot_id": int(snap[0]) if snap else 0,
        "last_update_utc": snap[1].isoformat() if snap else None,
        "data_files": data_files,
        "data_bytes": data_bytes + catalog_bytes,
        "tables": tables,
    }
