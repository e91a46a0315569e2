-- The publication of one expedition's survey data, if any (internal: `expedition publish`).
-- param: expedition_id VARCHAR expedition id (EXP-YYYY-ISO-NNN)
SELECT * FROM survey_publications WHERE expedition_id = $expedition_id
