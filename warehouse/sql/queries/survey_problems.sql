-- Survey problems of one expedition: open errors (quarantine) and, optionally, warnings; by file and row.
-- param: expedition_id VARCHAR expedition id
-- param: kind VARCHAR observation kind, or NULL for all kinds
-- param: with_warnings BOOLEAN also list warnings (rows that landed)
SELECT observation_kind, issue_severity, raw_file_name, raw_row_number, issue_column, issue_value,
       issue_expected, issue_reason, issue_check
FROM survey_issues
WHERE expedition_id = $expedition_id
  AND ($kind IS NULL OR observation_kind = $kind)
  AND ((issue_severity = 'error' AND NOT superseded) OR ($with_warnings AND issue_severity = 'warning'))
ORDER BY observation_kind, raw_file_name, raw_row_number, issue_column
