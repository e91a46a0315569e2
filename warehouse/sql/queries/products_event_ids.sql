-- The project events named by our ids or by any agency's ids, with the ids one provider knows them by
-- (one row per name asked for and event it names; all the names of one pull in one query).
-- param: eventids VARCHAR[] our event ids or agency event ids (e.g. us7000pn9s)
-- param: provider VARCHAR the provider whose ids are wanted (e.g. USGS)
WITH asked AS (
    SELECT DISTINCT unnest($eventids) AS requested
), hit AS (
    SELECT q.requested, e.event_id FROM asked q JOIN events e ON e.event_id = q.requested
    UNION
    SELECT q.requested, a.event_id FROM asked q JOIN event_aliases a ON a.provider_event_id = q.requested
), ids AS (
    SELECT a.event_id,
           list(a.provider_event_id ORDER BY a.first_seen_utc, a.provider_event_id)
               FILTER (WHERE upper(a.provider) = upper($provider)) AS provider_ids,
           list(a.provider_event_id ORDER BY a.provider_event_id) AS all_ids
    FROM event_aliases a
    WHERE a.event_id IN (SELECT event_id FROM hit)
    GROUP BY a.event_id
)
SELECT hit.requested, e.event_id, e.magnitude_value, e.preferred_provider, e.preferred_provider_event_id,
       ids.provider_ids, ids.all_ids
FROM hit
JOIN events e USING (event_id)
LEFT JOIN ids USING (event_id)
ORDER BY hit.requested, e.event_id
