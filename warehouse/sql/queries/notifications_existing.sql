-- Notifications already claimed, sent or failed for the given decision ids (one row per decision and channel).
-- param: decision_ids VARCHAR[] decision ids
SELECT decision_id, channel_name, notification_id, notification_status, attempts_count, claimed_utc
FROM notifications WHERE list_contains($decision_ids, decision_id)
