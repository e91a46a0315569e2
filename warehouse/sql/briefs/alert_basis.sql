-- Both alerts of one decision's assessment (event_assessments, written with every judged event): ours, the
-- authoritative USGS PAGER one, the one acted on and which drove the decision. Parameter: $1 decision id.
SELECT alert_level_ours, alert_level_authoritative, alert_authoritative_source, alert_level_acted, alert_basis
FROM event_assessments
WHERE decision_id = $1
ORDER BY assessed_utc DESC, assessment_id
LIMIT 1
