-- The newest lake snapshot that changed anything besides the partner service's own audit rows (internal: partner service cache key).
-- param: audit_author VARCHAR commit author of the partner query audit writer
SELECT coalesce(max(snapshot_id), 0) AS data_version
FROM ducklake_snapshots('lake')
WHERE author IS DISTINCT FROM $audit_author
