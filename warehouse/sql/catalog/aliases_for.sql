-- Known aliases of the incoming keys (registered relation qe_keys(provider, provider_event_id),
-- provider upper-cased) and of the candidate events (registered relation qe_event_ids(event_id)).
SELECT a.provider, a.provider_event_id, a.event_id
FROM event_aliases a
JOIN qe_keys k ON upper(a.provider) = k.provider AND a.provider_event_id = k.provider_event_id
UNION
SELECT a.provider, a.provider_event_id, a.event_id
FROM event_aliases a
WHERE a.event_id IN (SELECT event_id FROM qe_event_ids)
