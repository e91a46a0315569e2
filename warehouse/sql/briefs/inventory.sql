-- What a brief version is built from (compared between versions): assessments of the expedition and the
-- agency solutions of its mainshock. Parameters: $1 expedition id, $2 mainshock event id.
SELECT
  (SELECT coalesce(list(assessment_id ORDER BY assessment_id), []) FROM expedition_assessments
    WHERE expedition_id = $1) AS assessment_ids,
  (SELECT coalesce(list(provider || ':' || coalesce(CAST(updated_time_utc AS VARCHAR), '') ORDER BY provider, solution_id), [])
     FROM event_solutions WHERE event_id = $2) AS solution_keys
