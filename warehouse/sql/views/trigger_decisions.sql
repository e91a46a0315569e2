-- Every trigger decision, with is_latest marking the newest decision of each event.
SELECT d.*,
       row_number() OVER (
           PARTITION BY d.event_id ORDER BY d.event_revision DESC, d.decided_utc DESC, d.decision_id DESC
       ) = 1 AS is_latest
FROM trigger_decision_log d
