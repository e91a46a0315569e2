-- The incremental-pull state of one provider.
-- param: provider VARCHAR provider name
SELECT *
FROM provider_watermarks
WHERE provider = $provider
