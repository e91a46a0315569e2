-- Building damage observations of every expedition, as landed (rows with errors are in survey_quarantine instead).
SELECT * FROM survey_buildings_obs
