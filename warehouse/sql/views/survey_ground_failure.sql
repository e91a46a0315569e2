-- Ground failure observations (points and lines) of every expedition, as landed (rows with errors are in survey_quarantine instead).
SELECT * FROM survey_ground_failure_obs
