-- Brief versions of one expedition: one row per version with its snapshot and files. Parameter: $1 expedition id.
SELECT brief_version, min(lake_snapshot_id) AS lake_snapshot_id, min(generated_utc) AS generated_utc,
       any_value(context_sha256) AS context_sha256,
       list(brief_lang || ':' || brief_format ORDER BY brief_lang, brief_format) AS files
FROM briefs WHERE expedition_id = $1
GROUP BY brief_version ORDER BY brief_version
