-- Events at or above a magnitude since a time, newest first.
-- audience: partners
-- param: minmagnitude DOUBLE smallest magnitude
-- param: starttime TIMESTAMPTZ earliest origin time (UTC)
SELECT event_id, origin_time_utc, origin_latitude_deg, origin_longitude_deg, origin_depth_km,
       magnitude_value, magnitude_type, region_name, preferred_provider
FROM events
WHERE magnitude_value >= $minmagnitude AND origin_time_utc >= $starttime
ORDER BY origin_time_utc DESC
