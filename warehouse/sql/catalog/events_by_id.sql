-- Events listed in the registered relation qe_event_ids(event_id).
SELECT e.*
FROM events e
WHERE e.event_id IN (SELECT event_id FROM qe_event_ids)
