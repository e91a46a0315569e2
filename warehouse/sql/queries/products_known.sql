-- Product versions and grids already stored for some events.
-- param: event_ids VARCHAR[] our event ids
SELECT p.event_id, p.product_id, p.product_type, g.product_id IS NOT NULL AS has_grid
FROM event_products p
LEFT JOIN shakemap_grids g USING (product_id)
WHERE list_contains($event_ids, p.event_id)
