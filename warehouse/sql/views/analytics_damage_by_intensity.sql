-- Damage-grade distribution by estimated intensity at the building (estimated_mmi of analytics_building_grades,
-- Allen et al. 2012), in integer MMI bins (VII = 6.5 to 7.5, as in PAGER exposure tables).
SELECT expedition_id, damage_scale,
       CAST(round(estimated_mmi) AS INTEGER) AS estimated_mmi_bin,
       ['I', 'II', 'III', 'IV', 'V', 'VI', 'VII', 'VIII', 'IX', 'X'][CAST(round(estimated_mmi) AS INTEGER)] AS estimated_intensity,
       damage_grade,
       count(*) AS building_count,
       count(*) / sum(count(*)) OVER (PARTITION BY expedition_id, damage_scale, CAST(round(estimated_mmi) AS INTEGER))
           AS grade_share
FROM analytics_building_grades
WHERE estimated_mmi IS NOT NULL
GROUP BY expedition_id, damage_scale, estimated_mmi_bin, damage_grade
