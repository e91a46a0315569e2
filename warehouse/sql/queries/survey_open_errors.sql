-- Open (not superseded) survey errors of one kind in one expedition, every column of survey_issues.
-- param: expedition_id VARCHAR expedition id
-- param: kind VARCHAR observation kind
SELECT *
FROM survey_issues
WHERE expedition_id = $expedition_id AND observation_kind = $kind
  AND issue_severity = 'error' AND NOT superseded
