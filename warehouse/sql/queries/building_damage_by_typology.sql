-- Building damage (EMS-98 grade counts and the share of grades 4-5) by material of one expedition's surveyed buildings you can see.
-- audience: partners
-- param: expedition_id VARCHAR expedition id (EXP-YYYY-ISO-NNN)
SELECT coalesce(typology_material, 'unknown') AS typology_material,
       count(*) AS building_count,
       count(*) FILTER (WHERE damage_ems98_grade = 0) AS grade_0_count,
       count(*) FILTER (WHERE damage_ems98_grade = 1) AS grade_1_count,
       count(*) FILTER (WHERE damage_ems98_grade = 2) AS grade_2_count,
       count(*) FILTER (WHERE damage_ems98_grade = 3) AS grade_3_count,
       count(*) FILTER (WHERE damage_ems98_grade = 4) AS grade_4_count,
       count(*) FILTER (WHERE damage_ems98_grade = 5) AS grade_5_count,
       count(*) FILTER (WHERE damage_ems98_grade IS NULL) AS grade_unknown_count,
       (count(*) FILTER (WHERE damage_ems98_grade >= 4))::DOUBLE
           / nullif(count(*) FILTER (WHERE damage_ems98_grade IS NOT NULL), 0) AS grade_4_5_share
FROM survey_buildings
WHERE expedition_id = $expedition_id
GROUP BY ALL
ORDER BY building_count DESC, typology_material
