-- Revision history of one event, first revision first.
-- param: event_id VARCHAR project event id
SELECT * FROM event_revisions WHERE event_id = $event_id ORDER BY event_revision
