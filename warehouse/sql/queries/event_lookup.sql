-- One event of the catalog by our id or by any agency's id (e.g. us7000kufc), with every agency id it carries.
-- audience: partners
-- param: eventid VARCHAR our event id or an agency event id
SELECT e.*, a.aliases
FROM events e
LEFT JOIN (
    SELECT event_id, list(provider || ':' || provider_event_id ORDER BY provider, provider_event_id) AS aliases
    FROM event_aliases GROUP BY event_id
) a USING (event_id)
WHERE e.event_id = $eventid
   OR e.event_id IN (SELECT event_id FROM event_aliases WHERE provider_event_id = $eventid)
