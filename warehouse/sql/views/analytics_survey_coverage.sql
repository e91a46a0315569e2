-- Survey coverage of building surveys: buildings surveyed per area (administrative code, else a 0.1 degree
-- cell 'lat,lon', else 'unlocated'), per UTC day (else 'undated') and per surveyor (else 'unnamed').
-- coverage_dimension says which of the three a row counts; coverage_key_known is false for the row of
-- the buildings without an area, a day or a surveyor (its key is then only a placeholder).
WITH b AS (
    SELECT expedition_id,
           coalesce(site_admin_code,
                    CASE WHEN site_latitude_deg IS NOT NULL AND site_longitude_deg IS NOT NULL
                         THEN printf('%.1f,%.1f', floor(site_latitude_deg * 10) / 10, floor(site_longitude_deg * 10) / 10) END,
                    'unlocated') AS area_key,
           site_admin_code IS NOT NULL OR (site_latitude_deg IS NOT NULL AND site_longitude_deg IS NOT NULL) AS area_known,
           coalesce(strftime(surveyed_time_utc AT TIME ZONE 'UTC', '%Y-%m-%d'), 'undated') AS day_key,
           surveyed_time_utc IS NOT NULL AS day_known,
           coalesce(surveyor_name, 'unnamed') AS surveyor_key,
           surveyor_name IS NOT NULL AS surveyor_known
    FROM survey_buildings
)
SELECT expedition_id, 'area' AS coverage_dimension, area_key AS coverage_key, area_known AS coverage_key_known,
       count(*) AS building_count FROM b GROUP BY ALL
UNION ALL
SELECT expedition_id, 'day', day_key, day_known, count(*) FROM b GROUP BY ALL
UNION ALL
SELECT expedition_id, 'surveyor', surveyor_key, surveyor_known, count(*) FROM b GROUP BY ALL
