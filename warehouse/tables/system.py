"""Bookkeeping tables: ingest batches and the raw-file archive index."""

from __future__ import annotations

import pyarrow as pa

from warehouse.schema import TableSpec

UTC = pa.timestamp("us", tz="UTC")

INGEST_BATCHES = TableSpec(
    name="ingest_batches",
    schema=pa.schema(
        [
            pa.field("batch_id", pa.string(), nullable=False),
            pa.field("batch_kind", pa.string(), nullable=False),  # catalog_file, catalog_pull, survey_file, ...
            pa.field("source_name", pa.string()),  # provider name or file name
            pa.field("source_uri", pa.string()),  # URL with query, or archived raw path
            pa.field("raw_sha256", pa.string()),
            pa.field("started_utc", UTC),
            pa.field("finished_utc", UTC),
            pa.field("rows_read", pa.int64()),
            pa.field("rows_written", pa.int64()),
            pa.field("note", pa.string()),
        ]
    ),
    key=("batch_id",),
    fence_by="batch_id",
    append_only=True,
    description="One row per ingest (file import, provider pull window, survey file).",
)

RAW_FILES = TableSpec(
    name="raw_files",
    schema=pa.schema(
        [
            pa.field("raw_sha256", pa.string(), nullable=False),
            pa.field("raw_original_name", pa.string()),
            pa.field("raw_archive_path", pa.string()),
            pa.field("raw_size_bytes", pa.int64()),
            pa.field("raw_media_kind", pa.string()),
            pa.field("archived_utc", UTC),
        ]
    ),
    key=("raw_sha256",),
    fence_by="raw_sha256",
    append_only=True,
    description="Index of raw inputs archived by content hash before anything else happens.",
)

TABLES: tuple[TableSpec, ...] = (INGEST_BATCHES, RAW_FILES)
