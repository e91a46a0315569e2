-- Landed observations of one kind in one expedition, with the file they came from.
-- param: expedition_id VARCHAR expedition id
-- param: kind VARCHAR observation kind (buildings, intensity, ground_failure, lifelines, stations)
SELECT k.observation_id, k.raw_sha256, k.raw_row_number, r.raw_original_name
FROM survey_observation_keys k
LEFT JOIN raw_files r USING (raw_sha256)
WHERE k.expedition_id = $expedition_id AND k.observation_kind = $kind
