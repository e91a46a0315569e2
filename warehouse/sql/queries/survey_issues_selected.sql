-- Every column of the survey issues whose ids are in the registered relation `survey_issue_ids`
-- (an Arrow table with one column, issue_id).
-- param: expedition_id VARCHAR expedition id
SELECT *
FROM survey_issues
WHERE expedition_id = $expedition_id AND issue_id IN (SELECT issue_id FROM survey_issue_ids)
