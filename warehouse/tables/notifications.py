"""Notifications sent to people (webhooks, e-mail, chat) about expedition decisions."""

from __future__ import annotations

import pyarrow as pa

from warehouse.schema import TableSpec

UTC = pa.timestamp("us", tz="UTC")

NOTIFICATIONS = TableSpec(
    name="notifications",
    schema=pa.schema(
        [
            pa.field("decision_id", pa.string(), nullable=False),
            pa.field("channel_name", pa.string(), nullable=False),
            pa.field("channel_kind", pa.string(), nullable=False),  # webhook | email | chat
            pa.field("notification_id", pa.string(), nullable=False),  # sent as the idempotency key
            pa.field("expedition_id", pa.string()),
            pa.field("decision", pa.string()),  # opened | manual_open | updated | flagged_for_review
            pa.field("notification_status", pa.string(), nullable=False),  # claimed | sent | failed
            pa.field("attempts_count", pa.int32()),
            pa.field("last_error_text", pa.string()),
            pa.field("claimed_utc", UTC),
            pa.field("sent_utc", UTC),
        ]
    ),
    key=("decision_id", "channel_name"),
    description="One row per (decision, channel): claimed before sending, so no decision is ever announced "
                "twice on a channel; sent or failed after.",
)

TABLES = (NOTIFICATIONS,)
