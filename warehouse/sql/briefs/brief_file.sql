-- The recorded file of one brief version, language and format. Parameters: $1 expedition, $2 version, $3 lang, $4 format.
SELECT brief_path FROM briefs
WHERE expedition_id = $1 AND brief_version = $2 AND brief_lang = $3 AND brief_format = $4
