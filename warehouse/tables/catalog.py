"""Catalog tables: events, their aliases, every solution seen, revisions, watermarks.

* ``events``: one row per physical earthquake, current preferred solution.
  Updated in place by the writer; every change is also appended to
  ``event_revisions`` and kept by the lake's snapshots.
* ``event_aliases``: every (provider, provider event id) seen for an event.
* ``event_solutions``: every distinct solution an agency/provider reported
  (for the spread between agencies, and for re-association).
* ``event_revisions``: append-only history of the preferred solution.
* ``provider_watermarks``: incremental-pull state per provider.
"""

from __future__ import annotations

import pyarrow as pa

from warehouse.schema import TableSpec

UTC = pa.timestamp("us", tz="UTC")

# The solution columns shared by events, solutions and revisions.
SOLUTION_FIELDS: list[pa.Field] = [
    pa.field("origin_time_utc", UTC),
    pa.field("origin_latitude_deg", pa.float64()),
    pa.field("origin_longitude_deg", pa.float64()),
    pa.field("origin_depth_km", pa.float64()),
    pa.field("magnitude_value", pa.float64()),
    pa.field("magnitude_type", pa.string()),
    pa.field("magnitude_author", pa.string()),
    pa.field("origin_agency", pa.string()),
    pa.field("review_status", pa.string()),  # automatic | reviewed | final | preliminary | ... (lower case)
    pa.field("event_type", pa.string()),  # QuakeML event type: earthquake, explosion, ...
    pa.field("region_name", pa.string()),
]

EVENTS = TableSpec(
    name="events",
    schema=pa.schema(
        [
            pa.field("event_id", pa.string(), nullable=False),
            *SOLUTION_FIELDS,
            pa.field("preferred_provider", pa.string()),
            pa.field("preferred_provider_event_id", pa.string()),
            pa.field("updated_time_utc", UTC),
            pa.field("event_revision", pa.int32()),
            pa.field("ingest_batch_id", pa.string()),
        ]
    ),
    key=("event_id",),
    version=1,
    description="One row per physical earthquake with its current preferred solution.",
)

EVENT_ALIASES = TableSpec(
    name="event_aliases",
    schema=pa.schema(
        [
            pa.field("provider", pa.string(), nullable=False),
            pa.field("provider_event_id", pa.string(), nullable=False),
            pa.field("event_id", pa.string(), nullable=False),
            pa.field("first_seen_utc", UTC),
            pa.field("ingest_batch_id", pa.string()),
        ]
    ),
    key=("provider", "provider_event_id"),
    append_only=True,
    description="Every (provider, provider event id) seen, and the project event it belongs to.",
)

EVENT_SOLUTIONS = TableSpec(
    name="event_solutions",
    schema=pa.schema(
        [
            pa.field("solution_id", pa.string(), nullable=False),  # hash of provider, id and values
            pa.field("provider", pa.string(), nullable=False),
            pa.field("provider_event_id", pa.string(), nullable=False),
            pa.field("event_id", pa.string(), nullable=False),
            *SOLUTION_FIELDS,
            pa.field("updated_time_utc", UTC),
            pa.field("first_seen_utc", UTC),
            pa.field("ingest_batch_id", pa.string()),
        ]
    ),
    key=("solution_id",),
    append_only=True,
    description="Every distinct solution reported by any provider.",
)

EVENT_REVISIONS = TableSpec(
    name="event_revisions",
    schema=pa.schema(
        [
            pa.field("event_id", pa.string(), nullable=False),
            pa.field("event_revision", pa.int32(), nullable=False),
            pa.field("revision_time_utc", UTC),  # when the warehouse recorded the change
            pa.field("revision_reason", pa.string()),  # new | magnitude | relocation | new_id | preferred_source
            pa.field("source_provider", pa.string()),
            pa.field("source_provider_event_id", pa.string()),
            *SOLUTION_FIELDS,
            pa.field("updated_time_utc", UTC),
            pa.field("ingest_batch_id", pa.string()),
        ]
    ),
    key=("event_id", "event_revision"),
    append_only=True,
    description="Append-only history of each event's preferred solution.",
)

PROVIDER_WATERMARKS = TableSpec(
    name="provider_watermarks",
    schema=pa.schema(
        [
            pa.field("provider", pa.string(), nullable=False),
            pa.field("watermark_origin_time_utc", UTC),
            pa.field("watermark_updated_utc", UTC),
            pa.field("last_success_utc", UTC),
            pa.field("last_error", pa.string()),
        ]
    ),
    key=("provider",),
    description="Incremental pull state per provider (origin time and updatedafter watermarks).",
)

TABLES: tuple[TableSpec, ...] = (
    EVENTS,
    EVENT_ALIASES,
    EVENT_SOLUTIONS,
    EVENT_REVISIONS,
    PROVIDER_WATERMARKS,
)
