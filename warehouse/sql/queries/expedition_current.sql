-- The current state of one expedition.
-- param: expedition_id VARCHAR expedition id (EXP-YYYY-ISO-NNN)
SELECT * FROM expeditions WHERE expedition_id = $expedition_id
