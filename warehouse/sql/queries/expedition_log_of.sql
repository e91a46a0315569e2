-- The audit log of one expedition, oldest first.
-- param: expedition_id VARCHAR expedition id
SELECT * FROM expedition_log WHERE expedition_id = $expedition_id ORDER BY expedition_version
