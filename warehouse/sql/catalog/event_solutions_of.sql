-- Every solution reported for one event, oldest first.
-- param: event_id VARCHAR project event id
SELECT * FROM event_solutions WHERE event_id = $event_id ORDER BY first_seen_utc, provider, provider_event_id
