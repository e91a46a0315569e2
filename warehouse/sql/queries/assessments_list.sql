-- The assessment of every judged event, newest first (optionally of one event, by our id or an agency id).
-- param: eventid VARCHAR our event id or an agency event id (NULL: every event)
-- param: max_rows INTEGER most rows to return
SELECT a.*
FROM event_assessments a
WHERE CAST($eventid AS VARCHAR) IS NULL
   OR a.event_id = $eventid
   OR a.event_id IN (SELECT event_id FROM event_aliases WHERE provider_event_id = $eventid)
ORDER BY a.assessed_utc DESC, a.origin_time_utc DESC, a.assessment_id
LIMIT $max_rows
