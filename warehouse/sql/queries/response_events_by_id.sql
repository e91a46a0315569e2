-- The current solution of the given events, oldest first.
-- param: event_ids VARCHAR[] event ids
SELECT e.event_id,
       coalesce(e.event_revision, 0) AS event_revision,
       e.origin_time_utc, e.origin_latitude_deg, e.origin_longitude_deg, e.origin_depth_km,
       e.magnitude_value, e.magnitude_type, e.event_type, e.region_name
FROM events e
WHERE list_contains($event_ids, e.event_id)
ORDER BY e.origin_time_utc, e.event_id
