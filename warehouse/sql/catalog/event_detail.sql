-- One event by its project id.
-- param: event_id VARCHAR project event id
SELECT * FROM events WHERE event_id = $event_id
