-- A survey ingest batch, if it already ran (a re-ingest of the same file is then a no-op).
-- param: batch_id VARCHAR batch id (hash of expedition, kind, file, labels file and mapping)
SELECT batch_id, source_name, finished_utc, rows_read, rows_written, note
FROM ingest_batches
WHERE batch_id = $batch_id
