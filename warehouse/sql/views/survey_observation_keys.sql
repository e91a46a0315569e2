-- Keys of every landed survey observation, all kinds together (used to find repeats across files).
SELECT 'buildings' AS observation_kind, expedition_id, observation_id, raw_sha256, raw_row_number
FROM survey_buildings_obs
UNION ALL
SELECT 'intensity', expedition_id, observation_id, raw_sha256, raw_row_number
FROM survey_intensity_obs
UNION ALL
SELECT 'ground_failure', expedition_id, observation_id, raw_sha256, raw_row_number
FROM survey_ground_failure_obs
UNION ALL
SELECT 'lifelines', expedition_id, observation_id, raw_sha256, raw_row_number
FROM survey_lifelines_obs
UNION ALL
SELECT 'stations', expedition_id, observation_id, raw_sha256, raw_row_number
FROM survey_stations_obs
