"""The offline demo, end to end, on a fresh data root."""

from __future__ import annotations

from pathlib import Path

from expedition.settings import load_settings
from warehouse.lake import Lake
from warehouse.query import open_query_connection, run_query


def run_demo(home: Path) -> list[str]:
    """Create a lake under ``home`` and query it; return the summary lines."""
    settings = load_settings(home)
    lake = Lake.from_settings(settings)
    created = lake.init()
    con = open_query_connection(lake)
    try:
        tables = run_query(
            con, "SELECT count(*) AS n FROM information_schema.tables WHERE table_catalog = 'lake'"
        ).table.column("n")[0].as_py()
    finally:
        con.close()
    return [
        f"lake:   {settings.home} ({len(created)} tables created, {tables} in the catalog)",
        f"query:  expedition query --home {settings.home} \"SELECT * FROM events\"",
    ]
