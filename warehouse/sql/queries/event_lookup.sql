-- One event of the catalog by our id or by any agency's id (e.g. us7000kufc), with every agency id it carries.
-- audience: partners
-- param: eventid VARCHAR our event id or an agency event id
WITH hit AS (
    SELECT event_id FROM events WHERE event_id = $eventid
    UNION
    SELECT event_id FROM event_aliases WHERE provider_event_id = $eventid
)
SELECT e.*,
       (SELECT list(a.provider || ':' || a.provider_event_id ORDER BY a.provider, a.provider_event_id)
        FROM event_aliases a WHERE a.event_id = e.event_id) AS aliases
FROM events e
JOIN hit USING (event_id)
