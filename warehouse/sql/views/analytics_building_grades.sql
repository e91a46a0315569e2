-- Every surveyed building with one numeric damage grade, its scale, its typology and its shaking estimate.
-- * damage_scale: 'EMS-98' when the EMS-98 grade is known, else the survey's local scale; damage_grade is
--   the EMS-98 grade or the first number in the local grade ('Grade 3' -> 3). Buildings without a grade
--   are left out.
-- * damage_scale_grades: 5 for EMS-98; for a local scale, the highest grade seen in the expedition.
-- * rupture_distance_km: sqrt(max(Repi - L/2, 0)^2 + ztop^2) with the source of analytics_expedition_source
--   (science.md section 9); estimated_mmi: Allen, Wald & Worden (2012, J. Seismol. 16) rupture-distance IPE
--   MMI = 3.950 + 0.913 M - 1.107 ln sqrt(Rrup^2 + (1 + 0.813 e^(M-5))^2), clipped to [1, 10]; null
--   without coordinates.
WITH b AS (
    SELECT expedition_id, observation_id, building_id, surveyor_name, surveyed_time_utc, site_admin_code,
           site_latitude_deg, site_longitude_deg,
           coalesce(typology_gem_taxonomy, typology_material, 'unknown') AS typology,
           coalesce(typology_material, 'unknown') AS typology_material,
           CASE WHEN damage_ems98_grade IS NOT NULL THEN 'EMS-98' ELSE damage_local_scale END AS damage_scale,
           CASE WHEN damage_ems98_grade IS NOT NULL THEN CAST(damage_ems98_grade AS INTEGER)
                ELSE TRY_CAST(regexp_extract(damage_local_grade, '([0-9]+)', 1) AS INTEGER) END AS damage_grade
    FROM survey_buildings
), d AS (
    SELECT b.*,
           CASE WHEN b.damage_scale = 'EMS-98' THEN 5
                ELSE max(b.damage_grade) OVER (PARTITION BY b.expedition_id, b.damage_scale) END AS damage_scale_grades,
           2 * 6371.0088 * asin(sqrt(
               pow(sin(radians(b.site_latitude_deg - s.source_latitude_deg) / 2), 2)
               + cos(radians(s.source_latitude_deg)) * cos(radians(b.site_latitude_deg))
                 * pow(sin(radians(b.site_longitude_deg - s.source_longitude_deg) / 2), 2))) AS epicentral_distance_km,
           s.rupture_length_km, s.rupture_top_km, s.source_magnitude
    FROM b
    LEFT JOIN analytics_expedition_source s USING (expedition_id)
    WHERE b.damage_grade IS NOT NULL
), r AS (
    SELECT d.*,
           -- greatest() skips nulls: a building without coordinates must stay without a distance
           CASE WHEN epicentral_distance_km IS NOT NULL THEN
               sqrt(pow(greatest(epicentral_distance_km - rupture_length_km / 2, 0), 2) + pow(rupture_top_km, 2))
           END AS rupture_distance_km
    FROM d
)
SELECT expedition_id, observation_id, building_id, surveyor_name, surveyed_time_utc, site_admin_code,
       site_latitude_deg, site_longitude_deg, typology, typology_material, damage_scale, damage_grade,
       damage_scale_grades, epicentral_distance_km, rupture_distance_km,
       CASE WHEN rupture_distance_km IS NOT NULL THEN
           least(greatest(3.950 + 0.913 * source_magnitude
                          - 1.107 * ln(sqrt(pow(rupture_distance_km, 2) + pow(1 + 0.813 * exp(source_magnitude - 5), 2))),
                          1), 10)
       END AS estimated_mmi
FROM r
