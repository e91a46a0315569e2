-- The project event named by our id or by any agency's id, with the ids one provider knows it by.
-- param: eventid VARCHAR our event id or an agency event id (e.g. us7000pn9s)
-- param: provider VARCHAR the provider whose ids are wanted (e.g. USGS)
WITH hit AS (
    SELECT event_id FROM events WHERE event_id = $eventid
    UNION
    SELECT event_id FROM event_aliases WHERE provider_event_id = $eventid
)
SELECT e.event_id, e.magnitude_value, e.preferred_provider, e.preferred_provider_event_id,
       (SELECT list(a.provider_event_id ORDER BY a.first_seen_utc, a.provider_event_id)
        FROM event_aliases a WHERE a.event_id = e.event_id AND upper(a.provider) = upper($provider)) AS provider_ids,
       (SELECT list(a.provider_event_id ORDER BY a.provider_event_id)
        FROM event_aliases a WHERE a.event_id = e.event_id) AS all_ids
FROM events e
JOIN hit USING (event_id)
ORDER BY e.event_id
