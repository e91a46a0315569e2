"""Fixtures for catalog tests: real ComCat rows (the shared export, or the 40 bundled with the demo),
a real local FDSN event service, quick retries.

Import explicitly where needed: ``from tests.fdsn_fixtures import comcat_rows, fdsn_service``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from catalogs.fdsn import Provider, RetryPolicy
from catalogs.fdsnws_server import FDSNEventServer, serve_events
from catalogs.rows import SOLUTION_ROW_SCHEMA

COMCAT_CSV = "catalogs/usgs_csv/comcat_export_2022-2024_m5plus.csv"
COMCAT_TEXT = "catalogs/fdsn_text/DERIVED_comcat_2022-2024_m5plus_as_fdsn_text.txt"
UTC = pa.timestamp("us", tz="UTC")

# Retries fast enough for tests (a Retry-After header still wins).
QUICK_RETRY = RetryPolicy(attempts=4, base_s=0.05, max_s=0.2)


@pytest.fixture(scope="session")
def comcat_rows(shared_data: Path) -> pa.Table:
    """The 4,118 real ComCat rows (2022-01-01 .. 2024-05-16, M5+), parsed by our CSV parser."""
    from catalogs.comcat_csv import parse_comcat_csv

    return parse_comcat_csv(shared_data / COMCAT_CSV)


@pytest.fixture(scope="session")
def demo_rows() -> pa.Table:
    """The 40 real ComCat events bundled with the demo (flows/demo_data/), parsed by our CSV
    parser: real rows for the tests that need no ../shared (a fresh clone runs them)."""
    from catalogs.comcat_csv import parse_comcat_csv
    from flows.demo import SAMPLE_CATALOG, demo_file

    return parse_comcat_csv(demo_file(SAMPLE_CATALOG))


@pytest.fixture(scope="session")
def fdsn_service(comcat_rows: pa.Table) -> Iterator[FDSNEventServer]:
    """One session-wide service of the ComCat rows, capped at 500 events per request (413 mode).
    Tests that inject faults start their own small service instead."""
    with serve_events(comcat_rows, cap=500, cap_mode="413") as server:
        yield server


def provider_for(server: FDSNEventServer, name: str = "USGS", **kw: Any) -> Provider:
    """A provider pointing at ``server``, no throttling, short timeouts."""
    opts: dict[str, Any] = {"priority": 10, "max_events_per_request": 20_000, "min_interval_s": 0.0, "timeout_s": 5.0}
    opts.update(kw)
    return Provider(name, server.url, **opts)


def window(rows: pa.Table, start: str, end: str) -> pa.Table:
    """Rows whose origin time lies in [start, end)."""
    t = rows.column("origin_time_utc")
    lo = pa.scalar(dt.datetime.fromisoformat(start).replace(tzinfo=dt.UTC), UTC)
    hi = pa.scalar(dt.datetime.fromisoformat(end).replace(tzinfo=dt.UTC), UTC)
    return rows.filter(pc.and_(pc.greater_equal(t, lo), pc.less(t, hi)))


def solution(provider: str, event_id: str, when: str, lat: float, lon: float, mag: float | None, *,
             depth: float = 10.0, status: str | None = "reviewed", updated: str | None = None,
             aliases: list[str] | None = None, mag_type: str = "mww") -> dict[str, Any]:
    """One hand-made solution row (for association and revision cases)."""
    def ts(text: str | None) -> dt.datetime | None:
        return None if text is None else dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)

    return {
        "provider": provider, "provider_event_id": event_id, "origin_time_utc": ts(when),
        "origin_latitude_deg": lat, "origin_longitude_deg": lon, "origin_depth_km": depth,
        "magnitude_value": mag, "magnitude_type": mag_type, "magnitude_author": provider.lower(),
        "origin_agency": provider.lower(), "review_status": status, "event_type": "earthquake",
        "region_name": "test region", "updated_time_utc": ts(updated), "alias_ids": aliases or [],
        "source_ref": f"test#{event_id}",
    }


def table(*rows: dict[str, Any]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=SOLUTION_ROW_SCHEMA)


CATALOG_TABLES = ("events", "event_aliases", "event_solutions", "event_revisions", "ingest_batches", "raw_files")


def counts(lake: Any, *names: str) -> dict[str, int]:
    """Row counts of catalog tables (one read-only connection)."""
    con = lake.connect(read_only=True)
    try:
        return {n: int(con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) for n in names or CATALOG_TABLES}
    finally:
        con.close()


def lake_state(lake: Any) -> tuple[int, dict[str, int]]:
    """(current snapshot id, row counts of the catalog tables), from one connection."""
    con = lake.connect(read_only=True)
    try:
        snapshot = lake.current_snapshot(con)
        return snapshot, {n: int(con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) for n in CATALOG_TABLES}
    finally:
        con.close()


@pytest.fixture(scope="module")
def module_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data root for a whole test module (lake set-up costs seconds; tests that only look at
    their own provider or their own rows share it)."""
    return tmp_path_factory.mktemp("qe-module-home")


@pytest.fixture(scope="module")
def module_settings(module_home: Path) -> Any:
    from expedition.settings import load_settings

    return load_settings(module_home)


@pytest.fixture(scope="module")
def module_lake(module_settings: Any) -> Any:
    from warehouse.lake import Lake

    lk = Lake.from_settings(module_settings)
    lk.init()
    return lk
