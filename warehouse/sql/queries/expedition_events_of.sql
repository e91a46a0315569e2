-- The earthquakes of one expedition's sequence with their current solution, oldest first.
-- param: expedition_id VARCHAR expedition id
SELECT x.expedition_id, x.event_id, x.sequence_role, x.joined_utc, x.decision_id,
       x.mainshock_distance_km, x.mainshock_delay_hours,
       e.origin_time_utc, e.origin_latitude_deg, e.origin_longitude_deg, e.origin_depth_km,
       e.magnitude_value, e.magnitude_type, e.region_name, e.event_revision
FROM expedition_events x
LEFT JOIN events e USING (event_id)
WHERE x.expedition_id = $expedition_id
ORDER BY e.origin_time_utc, x.event_id
