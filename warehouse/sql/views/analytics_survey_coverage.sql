-- Survey coverage of building surveys: buildings surveyed per area (administrative code, else a 0.1 degree
-- cell 'lat,lon', else 'unlocated'), per UTC day (else 'undated') and per surveyor (else 'unnamed').
-- coverage_dimension says which of the three a row counts.
WITH b AS (
    SELECT expedition_id,
           coalesce(site_admin_code,
                    CASE WHEN site_latitude_deg IS NOT NULL AND site_longitude_deg IS NOT NULL
                         THEN printf('%.1f,%.1f', floor(site_latitude_deg * 10) / 10, floor(site_longitude_deg * 10) / 10) END,
                    'unlocated') AS area_key,
           coalesce(strftime(surveyed_time_utc AT TIME ZONE 'UTC', '%Y-%m-%d'), 'undated') AS day_key,
           coalesce(surveyor_name, 'unnamed') AS surveyor_key
    FROM survey_buildings
)
SELECT expedition_id, 'area' AS coverage_dimension, area_key AS coverage_key, count(*) AS building_count FROM b GROUP BY ALL
UNION ALL
SELECT expedition_id, 'day', day_key, count(*) FROM b GROUP BY ALL
UNION ALL
SELECT expedition_id, 'surveyor', surveyor_key, count(*) FROM b GROUP BY ALL
