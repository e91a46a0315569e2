-- The latest authoritative PAGER alert recorded for one event (USGS losspager products). Parameter: $1 event id.
SELECT alert_level, product_source AS source, product_version AS version
FROM event_products
WHERE event_id = $1 AND product_type = 'losspager' AND alert_level IS NOT NULL
  AND coalesce(product_status, '') <> 'DELETE'
ORDER BY product_update_time_utc DESC, product_id DESC LIMIT 1
