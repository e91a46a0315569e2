-- The latest authoritative PAGER alert recorded for one event (products pipeline). Parameter: $1 event id.
SELECT alert_level, product_source AS source, product_version AS version
FROM authoritative_alerts WHERE event_id = $1
ORDER BY product_version DESC LIMIT 1
