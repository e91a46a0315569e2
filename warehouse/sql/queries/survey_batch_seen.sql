-- A survey ingest batch, if it already ran (a re-ingest of the same file is then a no-op).
-- One column: planning a statement costs a catalog query per column read while ingest_batches is empty.
-- param: batch_id VARCHAR batch id (hash of expedition, kind, file, labels file and mapping)
SELECT batch_id
FROM ingest_batches
WHERE batch_id = $batch_id
