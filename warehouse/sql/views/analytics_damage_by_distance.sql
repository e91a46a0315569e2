-- Damage-grade distribution by distance band from the rupture (rupture_distance_km of
-- analytics_building_grades: the epicentre for small events, a Wells & Coppersmith line for large ones).
-- Bands: 0-10, 10-25, 25-50, 50-100, 100-200, >= 200 km. Buildings without coordinates are left out.
WITH b AS (
    SELECT *,
           CASE WHEN rupture_distance_km < 10 THEN 0 WHEN rupture_distance_km < 25 THEN 10
                WHEN rupture_distance_km < 50 THEN 25 WHEN rupture_distance_km < 100 THEN 50
                WHEN rupture_distance_km < 200 THEN 100 ELSE 200 END AS distance_band_min_km
    FROM analytics_building_grades
    WHERE rupture_distance_km IS NOT NULL
)
SELECT expedition_id, damage_scale, distance_band_min_km,
       CASE distance_band_min_km WHEN 0 THEN 10 WHEN 10 THEN 25 WHEN 25 THEN 50 WHEN 50 THEN 100
            WHEN 100 THEN 200 END AS distance_band_max_km,
       damage_grade,
       count(*) AS building_count,
       count(*) / sum(count(*)) OVER (PARTITION BY expedition_id, damage_scale, distance_band_min_km) AS grade_share
FROM b
GROUP BY expedition_id, damage_scale, distance_band_min_km, damage_grade
