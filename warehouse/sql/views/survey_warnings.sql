-- Survey warnings: problems that did not stop a row from landing (e.g. a site far from the affected area).
SELECT expedition_id, observation_kind, raw_file_name, raw_row_number, issue_column, issue_value,
       issue_expected, issue_reason, issue_check, raw_sha256, ingest_batch_id, recorded_time_utc, issue_id
FROM survey_issues
WHERE issue_severity = 'warning'
