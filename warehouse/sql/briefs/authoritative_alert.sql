-- The newest authoritative PAGER alert of one event, as the response reads it (products_authoritative.sql):
-- the latest `losspager` version stored in event_products by the products pipeline, deleted versions left out.
-- Parameter: $1 event id.
SELECT alert_level, product_source AS source, product_id, product_update_time_utc AS updated_utc
FROM event_products
WHERE event_id = $1 AND product_type = 'losspager' AND alert_level IS NOT NULL
  AND coalesce(product_status, '') <> 'DELETE'
ORDER BY product_update_time_utc DESC, product_id
LIMIT 1
