-- The newest authoritative PAGER alert, ShakeMap grid, finite-fault model and focal mechanism of each event.
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
    SELECT event_id, product_id, fault_strike_deg, fault_dip_deg, fault_rake_deg, fault_length_km, fault_width_km,
           fault_top_depth_km, fault_segment_count,
           TRY_CAST(json_extract_string(properties_json, '$."hypocenter-x"') AS DOUBLE) AS fault_hypocentre_x_km,
           TRY_CAST(json_extract_string(properties_json, '$."hypocenter-z"') AS DOUBLE) AS fault_hypocentre_z_km,
           TRY_CAST(json_extract_string(properties_json, '$.latitude') AS DOUBLE) AS fault_latitude_deg,
           TRY_CAST(json_extract_string(properties_json, '$.longitude') AS DOUBLE) AS fault_longitude_deg,
           row_number() OVER (PARTITION BY event_id ORDER BY product_update_time_utc DESC, product_id) AS n
    FROM event_products
    WHERE product_type = 'finite-fault' AND fault_strike_deg IS NOT NULL AND fault_dip_deg IS NOT NULL
      AND coalesce(product_status, '') <> 'DELETE' AND list_contains($event_ids, event_id)
), mech AS (
    -- ComCat moment tensors and QuakeML focal mechanisms: the preferred (highest weight), then the newest
    SELECT event_id, product_id, product_type, product_source,
           nodal_plane1_strike_deg, nodal_plane1_dip_deg, nodal_plane1_rake_deg,
           nodal_plane2_strike_deg, nodal_plane2_dip_deg, nodal_plane2_rake_deg,
           TRY_CAST(json_extract_string(properties_json, '$.preferred_plane') AS INTEGER) AS preferred_plane,
           row_number() OVER (PARTITION BY event_id ORDER BY coalesce(product_preferred_weight, 0) DESC,
                              product_update_time_utc DESC, product_id) AS n
    FROM event_products
    WHERE product_type IN ('moment-tensor', 'focal-mechanism') AND nodal_plane1_strike_deg IS NOT NULL
      AND nodal_plane1_dip_deg IS NOT NULL AND coalesce(product_status, '') <> 'DELETE'
      AND list_contains($event_ids, event_id)
)
SELECT e.event_id,
       pager.product_id AS pager_product_id, pager.alert_level AS pager_alert_level,
       pager.product_source AS pager_source, pager.product_update_time_utc AS pager_update_time_utc,
       grid.product_id AS grid_product_id, grid.archive_path AS grid_archive_path,
       grid.shakemap_version, grid.shakemap_agency, grid.shakemap_originator, grid.grid_event_id,
       fault.product_id AS fault_product_id, fault.fault_strike_deg, fault.fault_dip_deg, fault.fault_rake_deg,
       fault.fault_length_km, fault.fault_width_km, fault.fault_top_depth_km, fault.fault_segment_count,
       fault.fault_hypocentre_x_km, fault.fault_hypocentre_z_km, fault.fault_latitude_deg, fault.fault_longitude_deg,
       mech.product_id AS mechanism_product_id, mech.product_type AS mechanism_type,
       mech.product_source AS mechanism_source,
       mech.nodal_plane1_strike_deg, mech.nodal_plane1_dip_deg, mech.nodal_plane1_rake_deg,
       mech.nodal_plane2_strike_deg, mech.nodal_plane2_dip_deg, mech.nodal_plane2_rake_deg,
       mech.preferred_plane AS mechanism_preferred_plane
FROM (SELECT unnest($event_ids) AS event_id) e
LEFT JOIN pager ON pager.event_id = e.event_id AND pager.n = 1
LEFT JOIN grid ON grid.event_id = e.event_id AND grid.n = 1
LEFT JOIN fault ON fault.event_id = e.event_id AND fault.n = 1
LEFT JOIN mech ON mech.event_id = e.event_id AND mech.n = 1
WHERE pager.product_id IS NOT NULL OR grid.product_id IS NOT NULL OR fault.product_id IS NOT NULL
   OR mech.product_id IS NOT NULL
