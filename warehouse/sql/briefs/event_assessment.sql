-- The event_assessments row (written with every judged event) of one decision's assessment: both alerts (ours,
-- the authoritative USGS PAGER one, the one acted on and which drove the decision) and PAGER's fatality-range
-- probabilities. assessment_id is the decision id, so there is at most one row. Parameter: $1 decision id.
SELECT *
FROM event_assessments
WHERE decision_id = $1
ORDER BY assessed_utc DESC, assessment_id
LIMIT 1
