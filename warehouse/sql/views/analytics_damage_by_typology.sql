-- Damage-grade distribution by building typology: buildings per grade and their share of the typology,
-- per expedition and damage scale.
SELECT expedition_id, damage_scale, typology, any_value(typology_material) AS typology_material, damage_grade,
       count(*) AS building_count,
       sum(count(*)) OVER (PARTITION BY expedition_id, damage_scale, typology) AS typology_building_count,
       count(*) / sum(count(*)) OVER (PARTITION BY expedition_id, damage_scale, typology) AS grade_share
FROM analytics_building_grades
GROUP BY expedition_id, damage_scale, typology, damage_grade
