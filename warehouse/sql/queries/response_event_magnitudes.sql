-- Every magnitude any provider reported for the given events (to prefer moment magnitudes).
-- param: event_ids VARCHAR[] event ids
SELECT event_id, provider, magnitude_value, magnitude_type, updated_time_utc
FROM event_solutions
WHERE list_contains($event_ids, event_id) AND magnitude_value IS NOT NULL
ORDER BY event_id, updated_time_utc DESC NULLS LAST, provider
