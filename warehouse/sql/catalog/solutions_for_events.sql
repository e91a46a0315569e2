-- Every stored solution of the events in the registered relation qe_event_ids(event_id).
SELECT s.*
FROM event_solutions s
WHERE s.event_id IN (SELECT event_id FROM qe_event_ids)
