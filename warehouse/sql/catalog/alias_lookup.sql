-- Project event ids an id refers to: the id itself, or a provider's event id (any provider).
-- param: any_id VARCHAR a project event id or a provider event id
SELECT event_id FROM events WHERE event_id = $any_id
UNION
SELECT event_id FROM event_aliases WHERE provider_event_id = $any_id
