-- PAGER's fatality-range probabilities stored with the decision that produced an assessment. Parameter: $1 decision id.
SELECT * FROM event_assessments WHERE decision_id = $1 LIMIT 1
