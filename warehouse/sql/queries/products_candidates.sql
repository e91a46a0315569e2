-- Events recorded (new or revised) since a time, at or above a magnitude, that one provider knows.
-- param: since TIMESTAMPTZ earliest revision time
-- param: min_magnitude DOUBLE magnitude floor
-- param: provider VARCHAR the provider (e.g. USGS)
SELECT DISTINCT r.event_id
FROM event_revisions r
JOIN events e USING (event_id)
WHERE r.revision_time_utc >= $since
  AND e.magnitude_value >= $min_magnitude
  AND EXISTS (SELECT 1 FROM event_aliases a WHERE a.event_id = e.event_id AND upper(a.provider) = upper($provider))
ORDER BY r.event_id
