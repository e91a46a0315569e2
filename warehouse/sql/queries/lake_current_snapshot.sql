-- The lake snapshot a connection reads (internal: partner service).
SELECT id AS snapshot_id FROM lake.current_snapshot()
