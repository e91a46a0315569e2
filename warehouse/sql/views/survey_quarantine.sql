-- Open survey errors: quarantined rows not yet superseded by a corrected file (one row per problem).
SELECT expedition_id, observation_kind, raw_file_name, raw_row_number, issue_column, issue_value,
       issue_expected, issue_reason, issue_check, raw_row_json, raw_sha256, ingest_batch_id,
       recorded_time_utc, issue_id
FROM survey_issues
WHERE issue_severity = 'error' AND NOT superseded
