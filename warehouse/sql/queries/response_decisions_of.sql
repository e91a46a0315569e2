-- The trigger decisions that name one expedition (opened, joined, updated, flagged, manual), oldest first.
-- param: expedition_id VARCHAR expedition id
SELECT decision_id, event_id, event_revision, decision_source, decided_utc, decided_by, decision,
       decision_reason, magnitude_value, magnitude_type, origin_time_utc, alert_level, policy_version, policy_sha256
FROM trigger_decisions
WHERE expedition_id = $expedition_id
ORDER BY origin_time_utc, event_id, event_revision
