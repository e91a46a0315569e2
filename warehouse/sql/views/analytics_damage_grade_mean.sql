-- Mean damage grade with a 95 % confidence interval by typology, plus one row per scale for all typologies
-- ('*'). The interval is the normal approximation mean +/- 1.96 s / sqrt(n) (s: sample standard deviation);
-- it is null when n < 2.
-- Grade, scale and typology are those of analytics_building_grades (buildings without a grade are left out),
-- computed here without that view's distances, intensities and window. The buildings are counted once per
-- distinct (expedition, typology, grade) columns, a few hundred rows however many buildings; grades, means
-- and deviations are computed on those counts: n = sum(k), s = sum(k g), q = sum(k g^2) in exact integer
-- arithmetic, mean = s / n, variance = (n q - s^2) / (n (n - 1)). bench/bench_scaling.py checks the numbers
-- against pandas on the same rows.
WITH c AS (
    SELECT expedition_id, typology_gem_taxonomy, typology_material, damage_ems98_grade, damage_local_scale,
           damage_local_grade, count(*) AS k
    FROM survey_buildings
    GROUP BY ALL
), g AS (
    SELECT expedition_id,
           CASE WHEN damage_ems98_grade IS NOT NULL THEN 'EMS-98' ELSE damage_local_scale END AS damage_scale,
           coalesce(typology_gem_taxonomy, typology_material, 'unknown') AS typology,
           CASE WHEN damage_ems98_grade IS NOT NULL THEN CAST(damage_ems98_grade AS INTEGER)
                ELSE TRY_CAST(regexp_extract(damage_local_grade, '([0-9]+)', 1) AS INTEGER) END AS damage_grade,
           k
    FROM c
), s AS (
    SELECT expedition_id, damage_scale,
           CASE WHEN grouping(typology) = 1 THEN '*' ELSE typology END AS typology,
           sum(k) AS n, sum(k * damage_grade) AS s, sum(k * damage_grade * damage_grade) AS q
    FROM g
    WHERE damage_grade IS NOT NULL
    GROUP BY GROUPING SETS ((expedition_id, damage_scale, typology), (expedition_id, damage_scale))
), m AS (
    SELECT expedition_id, damage_scale, typology, CAST(n AS BIGINT) AS building_count, s / n AS damage_grade_mean,
           CASE WHEN n > 1 THEN sqrt(CAST(n * q - s * s AS DOUBLE) / CAST(n * (n - 1) AS DOUBLE)) END AS damage_grade_sd
    FROM s
)
SELECT expedition_id, damage_scale, typology, building_count, damage_grade_mean, damage_grade_sd,
       damage_grade_mean - 1.96 * damage_grade_sd / sqrt(building_count) AS damage_grade_ci95_low,
       damage_grade_mean + 1.96 * damage_grade_sd / sqrt(building_count) AS damage_grade_ci95_high
FROM m
