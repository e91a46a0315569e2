-- The project events one provider's event ids belong to.
-- param: provider VARCHAR the provider (e.g. ISC)
-- param: provider_event_ids VARCHAR[] the provider's event ids
SELECT provider_event_id, event_id
FROM event_aliases
WHERE upper(provider) = upper($provider) AND list_contains($provider_event_ids, provider_event_id)
