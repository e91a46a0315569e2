"""The one flat row format every catalog source produces ("solution rows").

Every parser (QuakeML, FDSN text, ComCat CSV, USGS GeoJSON feed, ObsPy ``Catalog``) returns a
``pyarrow.Table`` with exactly :data:`SOLUTION_ROW_SCHEMA`: one row per event as one provider
reported it, with its preferred origin and magnitude resolved. Association
(:mod:`catalogs.associate`) turns these rows into project events.

Columns beyond the lake's solution fields:

* ``provider``: who reported it (a provider name such as ``USGS``, ``EMSC``, ``ISC``; for files,
  detected from the file or given by the user);
* ``provider_event_id``: that provider's id for the event (never used as a project key);
* ``alias_ids``: other ids the provider lists for the same event (ComCat ``ids``), may be empty;
* ``source_ref``: where the row came from (file name and row/element number, or request URL).
"""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.compute as pc

from warehouse.tables.catalog import SOLUTION_FIELDS

UTC = pa.timestamp("us", tz="UTC")

SOLUTION_ROW_SCHEMA = pa.schema(
    [
        pa.field("provider", pa.string(), nullable=False),
        pa.field("provider_event_id", pa.string(), nullable=False),
        *SOLUTION_FIELDS,
        pa.field("updated_time_utc", UTC),
        pa.field("alias_ids", pa.list_(pa.string())),
        pa.field("source_ref", pa.string()),
    ]
)

# Columns whose values define a distinct solution (for solution ids and change detection).
SOLUTION_VALUE_COLUMNS = [f.name for f in SOLUTION_FIELDS]


def empty_solutions() -> pa.Table:
    """No rows, with :data:`SOLUTION_ROW_SCHEMA`."""
    return SOLUTION_ROW_SCHEMA.empty_table()


def solution_ids(rows: pa.Table) -> pa.Array:
    """Deterministic id of each row's solution: sha1 of provider, id and the solution values."""
    parts = [rows.column("provider"), rows.column("provider_event_id")]
    for name in SOLUTION_VALUE_COLUMNS:
        parts.append(pc.cast(rows.column(name), pa.string()))
    joined = pc.binary_join_element_wise(*[pc.fill_null(p, "") for p in parts], "|")
    return pa.array(
        [hashlib.sha1(s.encode("utf-8")).hexdigest()[:20] for s in joined.to_pylist()], pa.string()
    )
