-- Observed intensity at each surveyed site against the Allen, Wald & Worden (2012, J. Seismol. 16)
-- rupture-distance prediction at the same site (source of analytics_expedition_source, science.md 2 and 9):
-- residual = observed - predicted (positive: stronger than predicted); ipe_sigma is the model's
-- sigma = 0.72 + 0.23 / (1 + (Rrup / 44.7)^2). Predictions are not clipped here. EMS-98, MMI and GB/T 17742
-- degrees are compared with MMI as equal (intensity_scale_name says which was observed).
WITH s AS (
    SELECT i.expedition_id, i.observation_id, coalesce(i.site_id, i.observation_id) AS site_id, i.site_name,
           i.site_latitude_deg, i.site_longitude_deg, i.intensity_scale_name, i.intensity_value AS observed_intensity,
           src.source_magnitude, src.rupture_length_km, src.rupture_top_km,
           2 * 6371.0088 * asin(sqrt(
               pow(sin(radians(i.site_latitude_deg - src.source_latitude_deg) / 2), 2)
               + cos(radians(src.source_latitude_deg)) * cos(radians(i.site_latitude_deg))
                 * pow(sin(radians(i.site_longitude_deg - src.source_longitude_deg) / 2), 2))) AS epicentral_distance_km
    FROM survey_intensity i
    JOIN analytics_expedition_source src USING (expedition_id)
    WHERE i.intensity_value IS NOT NULL AND i.site_latitude_deg IS NOT NULL AND i.site_longitude_deg IS NOT NULL
), r AS (
    SELECT s.*, sqrt(pow(greatest(epicentral_distance_km - rupture_length_km / 2, 0), 2) + pow(rupture_top_km, 2))
               AS rupture_distance_km
    FROM s
), p AS (
    SELECT r.*,
           3.950 + 0.913 * source_magnitude
             - 1.107 * ln(sqrt(pow(rupture_distance_km, 2) + pow(1 + 0.813 * exp(source_magnitude - 5), 2)))
             AS predicted_mmi,
           0.72 + 0.23 / (1 + pow(rupture_distance_km / 44.7, 2)) AS ipe_sigma
    FROM r
)
SELECT expedition_id, observation_id, site_id, site_name, site_latitude_deg, site_longitude_deg,
       intensity_scale_name, observed_intensity, epicentral_distance_km, rupture_distance_km,
       predicted_mmi, ipe_sigma, observed_intensity - predicted_mmi AS intensity_residual,
       (observed_intensity - predicted_mmi) / ipe_sigma AS intensity_residual_sigmas
FROM p
