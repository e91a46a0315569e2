-- Heavy damage by typology: count and share of grades 4-5 (very heavy damage and destruction), of grade 5
-- (collapse) and of grades 2-3 (repairable damage). Shares are defined on five-grade scales only (EMS-98,
-- or a local scale whose highest grade is 5); on other scales they are null and top_grade_share (share of
-- the scale's highest grade) is the comparable figure.
SELECT expedition_id, damage_scale, typology, any_value(typology_material) AS typology_material,
       max(damage_scale_grades) AS damage_scale_grades,
       count(*) AS building_count,
       count(*) FILTER (WHERE damage_grade >= 4) AS count_grade_4_5,
       count(*) FILTER (WHERE damage_grade = 5) AS count_grade_5,
       count(*) FILTER (WHERE damage_grade IN (2, 3)) AS count_grade_2_3,
       CASE WHEN max(damage_scale_grades) = 5 THEN count(*) FILTER (WHERE damage_grade >= 4) / count(*) END AS share_grade_4_5,
       CASE WHEN max(damage_scale_grades) = 5 THEN count(*) FILTER (WHERE damage_grade = 5) / count(*) END AS share_grade_5,
       CASE WHEN max(damage_scale_grades) = 5 THEN count(*) FILTER (WHERE damage_grade IN (2, 3)) / count(*) END AS share_grade_2_3,
       count(*) FILTER (WHERE damage_grade = damage_scale_grades) / count(*) AS top_grade_share
FROM analytics_building_grades
GROUP BY expedition_id, damage_scale, typology
