"""Partner access tables: partners, their tokens, survey publications and the query audit log.

* ``partners``: one row per alliance partner with its scope: the member countries
  (ISO 3166 alpha-3) and the named expeditions it may see, and its survey embargo in days.
  Revoking sets ``partner_revoked_utc``; rows are never deleted (the lake's snapshots keep
  every earlier state too).
* ``partner_tokens``: API tokens. Only the SHA-256 of the token's 256-bit random secret is
  stored; the token itself is printed once when issued. ``token_id`` is the public part of
  the token (``qe_<token_id>_<secret>``) used to find the row.
* ``survey_publications``: an expedition lead released the expedition's survey data to
  every partner that can see the expedition, before the embargo ends. Append-only.
* ``partner_query_audit``: every partner SQL or named query (and every refusal), with the
  outcome. Append-only.
"""

from __future__ import annotations

import pyarrow as pa

from warehouse.schema import TableSpec

UTC = pa.timestamp("us", tz="UTC")

PARTNERS = TableSpec(
    name="partners",
    schema=pa.schema(
        [
            pa.field("partner_name", pa.string(), nullable=False),
            pa.field("partner_country_iso3_list", pa.list_(pa.string())),
            pa.field("partner_expedition_id_list", pa.list_(pa.string())),
            pa.field("partner_embargo_days", pa.int32(), nullable=False),
            pa.field("partner_created_utc", UTC, nullable=False),
            pa.field("partner_revoked_utc", UTC),
            pa.field("partner_note", pa.string()),
        ]
    ),
    key=("partner_name",),
    description="Alliance partners and their scope (countries, named expeditions, survey embargo).",
    column_docs={
        "partner_country_iso3_list": "Member countries whose expeditions the partner sees (ISO 3166 alpha-3).",
        "partner_expedition_id_list": "Further expeditions the partner sees, by id.",
        "partner_embargo_days": "Days after a survey row's ingest before the partner sees it (unless published).",
    },
)

PARTNER_TOKENS = TableSpec(
    name="partner_tokens",
    schema=pa.schema(
        [
            pa.field("token_id", pa.string(), nullable=False),
            pa.field("partner_name", pa.string(), nullable=False),
            pa.field("token_sha256", pa.string(), nullable=False),
            pa.field("token_created_utc", UTC, nullable=False),
            pa.field("token_revoked_utc", UTC),
        ]
    ),
    key=("token_id",),
    description="Partner API tokens: public id and the SHA-256 of the 256-bit secret (never the token).",
)

SURVEY_PUBLICATIONS = TableSpec(
    name="survey_publications",
    schema=pa.schema(
        [
            pa.field("expedition_id", pa.string(), nullable=False),
            pa.field("published_utc", UTC, nullable=False),
            pa.field("published_by", pa.string(), nullable=False),
            pa.field("publication_note", pa.string()),
        ]
    ),
    key=("expedition_id",),
    append_only=True,
    description="Expeditions whose survey data the lead released to partners before the embargo ends.",
)

PARTNER_QUERY_AUDIT = TableSpec(
    name="partner_query_audit",
    schema=pa.schema(
        [
            pa.field("audit_id", pa.string(), nullable=False),
            pa.field("audit_time_utc", UTC, nullable=False),
            pa.field("partner_name", pa.string()),
            pa.field("client_address", pa.string()),
            pa.field("request_route", pa.string(), nullable=False),  # /v1/query or /v1/queries/{name}
            pa.field("query_name", pa.string()),
            pa.field("query_sql", pa.string()),  # the first [api] audit_sql_chars characters
            pa.field("query_outcome", pa.string(), nullable=False),  # ok | truncated | refused | failed | timeout
            pa.field("http_status_code", pa.int32(), nullable=False),
            pa.field("outcome_detail", pa.string()),
            pa.field("result_row_count", pa.int64()),
            pa.field("query_duration_ms", pa.float64()),
            pa.field("lake_snapshot_id", pa.int64()),
            pa.field("query_sql_sha256", pa.string()),  # hex sha256 of the whole SQL text as received (UTF-8)
            pa.field("query_sql_chars", pa.int64()),  # length of the whole SQL text
        ]
    ),
    key=("audit_id",),
    version=2,
    append_only=True,
    description="Every partner query and refusal (who, when, what, outcome); bounded rows, kept "
    "[api] audit_retention_days.",
)

TABLES: tuple[TableSpec, ...] = (PARTNERS, PARTNER_TOKENS, SURVEY_PUBLICATIONS, PARTNER_QUERY_AUDIT)
