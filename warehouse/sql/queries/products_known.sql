-- Product versions and grids already stored for one event.
-- param: event_id VARCHAR our event id
SELECT p.product_id, p.product_type, g.product_id IS NOT NULL AS has_grid
FROM event_products p
LEFT JOIN shakemap_grids g USING (product_id)
WHERE p.event_id = $event_id
