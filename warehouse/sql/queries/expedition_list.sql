-- Expeditions in their current state, optionally only those with one status; oldest mainshock first.
-- param: status VARCHAR status to keep (NULL: all)
SELECT *
FROM expeditions
WHERE CAST($status AS VARCHAR) IS NULL OR expedition_status = $status
ORDER BY mainshock_origin_time_utc, expedition_id
