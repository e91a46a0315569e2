-- Survey observations of one expedition per kind. Parameter: $1 expedition id.
SELECT 'buildings' AS kind, count(*) AS n FROM survey_buildings WHERE expedition_id = $1
UNION ALL SELECT 'intensity', count(*) FROM survey_intensity WHERE expedition_id = $1
UNION ALL SELECT 'ground_failure', count(*) FROM survey_ground_failure WHERE expedition_id = $1
UNION ALL SELECT 'lifelines', count(*) FROM survey_lifelines WHERE expedition_id = $1
UNION ALL SELECT 'stations', count(*) FROM survey_stations WHERE expedition_id = $1
ORDER BY kind
