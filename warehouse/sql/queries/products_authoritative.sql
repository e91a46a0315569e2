-- The newest authoritative PAGER alert and the newest readable ShakeMap grid of each event.
-- param: event_ids VARCHAR[] event ids
WITH pager AS (
    SELECT event_id, product_id, alert_level, product_source, product_update_time_utc, product_version,
           row_number() OVER (PARTITION BY event_id ORDER BY product_update_time_utc DESC, product_id) AS n
    FROM event_products
    WHERE product_type = 'losspager' AND alert_level IS NOT NULL AND coalesce(product_status, '') <> 'DELETE'
      AND list_contains($event_ids, event_id)
), grid AS (
    SELECT g.event_id, g.product_id, g.archive_path, g.shakemap_version, g.shakemap_agency, g.shakemap_originator,
           g.grid_event_id, p.product_update_time_utc,
           row_number() OVER (PARTITION BY g.event_id ORDER BY p.product_update_time_utc DESC, g.product_id) AS n
    FROM shakemap_grids g JOIN event_products p USING (product_id)
    WHERE list_contains($event_ids, g.event_id)
), fault AS (
    SELECT event_id, product_id, fault_strike_deg, fault_dip_deg, fault_length_km, fault_segment_count,
           row_number() OVER (PARTITION BY event_id ORDER BY product_update_time_utc DESC, product_id) AS n
    FROM event_products
    WHERE product_type = 'finite-fault' AND fault_strike_deg IS NOT NULL AND list_contains($event_ids, event_id)
)
SELECT e.event_id,
       pager.product_id AS pager_product_id, pager.alert_level AS pager_alert_level,
       pager.product_source AS pager_source, pager.product_update_time_utc AS pager_update_time_utc,
       grid.product_id AS grid_product_id, grid.archive_path AS grid_archive_path,
       grid.shakemap_version, grid.shakemap_agency, grid.shakemap_originator, grid.grid_event_id,
       fault.product_id AS fault_product_id, fault.fault_strike_deg, fault.fault_dip_deg, fault.fault_length_km,
       fault.fault_segment_count
FROM (SELECT unnest($event_ids) AS event_id) e
LEFT JOIN pager ON pager.event_id = e.event_id AND pager.n = 1
LEFT JOIN grid ON grid.event_id = e.event_id AND grid.n = 1
LEFT JOIN fault ON fault.event_id = e.event_id AND fault.n = 1
WHERE pager.product_id IS NOT NULL OR grid.product_id IS NOT NULL OR fault.product_id IS NOT NULL
