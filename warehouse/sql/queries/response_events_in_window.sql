-- Events in a time window and latitude band (candidates for an aftershock zone), oldest first.
-- param: t0 TIMESTAMPTZ window start (exclusive)
-- param: t1 TIMESTAMPTZ window end (inclusive)
-- param: lat_min DOUBLE southern edge
-- param: lat_max DOUBLE northern edge
SELECT event_id, origin_time_utc, origin_latitude_deg, origin_longitude_deg, magnitude_value
FROM events
WHERE origin_time_utc > $t0 AND origin_time_utc <= $t1
  AND origin_latitude_deg BETWEEN $lat_min AND $lat_max
  AND magnitude_value IS NOT NULL
ORDER BY origin_time_utc, event_id
