-- The earthquake source of each expedition, as the analytics use it: epicentre, depth and magnitude of the
-- mainshock (expeditions view), and the rupture length of its newest assessment (expedition_assessments),
-- else the Wells & Coppersmith (1994, BSSA 84(4)) subsurface rupture length log10(RLD) = -2.44 + 0.59 M for
-- M >= 6 (a point source below). The top of the rupture is the hypocentral depth less half the W&C (1994)
-- rupture width log10(RW) = -1.01 + 0.32 M, at least 0 km (a vertical rupture centred on the hypocentre:
-- science.md section 9, the same choice as expedition/science/hazard/rupture.py).
SELECT x.expedition_id,
       x.mainshock_event_id,
       x.mainshock_latitude_deg AS source_latitude_deg,
       x.mainshock_longitude_deg AS source_longitude_deg,
       coalesce(x.mainshock_depth_km, 10.0) AS source_depth_km,
       x.mainshock_magnitude_value AS source_magnitude,
       coalesce(a.rupture_length_km,
                CASE WHEN x.mainshock_magnitude_value >= 6 THEN pow(10, -2.44 + 0.59 * x.mainshock_magnitude_value) ELSE 0 END)
           AS rupture_length_km,
       CASE WHEN coalesce(a.rupture_length_km, x.mainshock_magnitude_value - 6) > 0
            THEN greatest(coalesce(x.mainshock_depth_km, 10.0) - pow(10, -1.01 + 0.32 * x.mainshock_magnitude_value) / 2, 0)
            ELSE coalesce(x.mainshock_depth_km, 10.0) END AS rupture_top_km,
       coalesce(a.rupture_method, CASE WHEN x.mainshock_magnitude_value >= 6 THEN 'wc1994_line' ELSE 'point' END)
           AS rupture_method
FROM expeditions x
LEFT JOIN (
    SELECT expedition_id, event_id, rupture_length_km, rupture_method
    FROM expedition_assessments
    QUALIFY row_number() OVER (PARTITION BY expedition_id, event_id
                               ORDER BY event_revision DESC, assessed_utc DESC, assessment_id) = 1
) a ON a.expedition_id = x.expedition_id AND a.event_id = x.mainshock_event_id
