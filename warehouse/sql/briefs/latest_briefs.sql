-- The latest brief version of every expedition and when it was generated.
SELECT expedition_id, max(brief_version) AS brief_version, max(generated_utc) AS generated_utc
FROM briefs GROUP BY expedition_id ORDER BY expedition_id
