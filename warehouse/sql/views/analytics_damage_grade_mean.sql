-- Mean damage grade with a 95 % confidence interval by typology, plus one row per scale for all typologies
-- ('*'). The interval is the normal approximation mean +/- 1.96 s / sqrt(n) (s: sample standard deviation);
-- it is null when n < 2.
WITH g AS (
    SELECT expedition_id, damage_scale, typology, damage_grade FROM analytics_building_grades
    UNION ALL
    SELECT expedition_id, damage_scale, '*' AS typology, damage_grade FROM analytics_building_grades
)
SELECT expedition_id, damage_scale, typology,
       count(*) AS building_count,
       avg(damage_grade) AS damage_grade_mean,
       stddev_samp(damage_grade) AS damage_grade_sd,
       avg(damage_grade) - 1.96 * stddev_samp(damage_grade) / sqrt(count(*)) AS damage_grade_ci95_low,
       avg(damage_grade) + 1.96 * stddev_samp(damage_grade) / sqrt(count(*)) AS damage_grade_ci95_high
FROM g
GROUP BY expedition_id, damage_scale, typology
