-- What a later file needs to supersede open survey errors: the key columns only (cheap; the full
-- rows are read for the few that match, see survey_issues_selected).
-- param: expedition_id VARCHAR expedition id
-- param: kind VARCHAR observation kind
SELECT issue_id, observation_match_key, raw_sha256
FROM survey_issues
WHERE expedition_id = $expedition_id AND observation_kind = $kind
  AND issue_severity = 'error' AND NOT superseded
