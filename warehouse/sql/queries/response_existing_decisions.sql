-- Which of the given decision ids are already in the decision log.
-- param: decision_ids VARCHAR[] decision ids
SELECT decision_id FROM trigger_decision_log WHERE list_contains($decision_ids, decision_id)
