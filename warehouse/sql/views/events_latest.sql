-- Events with the number of agencies (providers) that reported them and their alias list.
SELECT e.*,
       a.provider_count,
       a.aliases
FROM events e
LEFT JOIN (
    SELECT event_id,
           count(DISTINCT provider) AS provider_count,
           string_agg(provider || ':' || provider_event_id, ' ' ORDER BY provider, provider_event_id) AS aliases
    FROM event_aliases
    GROUP BY event_id
) a USING (event_id)
