-- Whether an ingest batch id was already committed (imports are idempotent by batch id).
-- param: batch_id VARCHAR the batch id derived from the input
SELECT count(*) AS n
FROM ingest_batches
WHERE batch_id = $batch_id
