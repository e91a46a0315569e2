-- Expedition ids that start with a prefix (for the next sequence number per year and country).
-- param: prefix VARCHAR id prefix such as EXP-2023-AFG-
SELECT DISTINCT expedition_id FROM expedition_versions WHERE starts_with(expedition_id, $prefix)
