-- The assessments of one expedition, newest first (for one run: latest event revision first, then
-- the aftershock-zone rupture before the regression line, the better estimate of the two).
-- param: expedition_id VARCHAR expedition id
SELECT *
FROM expedition_assessments
WHERE expedition_id = $expedition_id
ORDER BY assessed_utc DESC,
         event_revision DESC,
         CASE rupture_method WHEN 'aftershock_zone' THEN 0 WHEN 'segment' THEN 1 ELSE 2 END,
         rupture_event_count DESC,
         assessment_id
