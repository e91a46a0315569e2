-- What a brief version is built from (compared between versions): assessments of the expedition, the
-- agency solutions of its mainshock and its authoritative product versions the response reads (USGS PAGER,
-- ShakeMap, finite fault; event_products). Parameters: $1 expedition id, $2 mainshock event id.
SELECT
  (SELECT coalesce(list(assessment_id ORDER BY assessment_id), []) FROM expedition_assessments
    WHERE expedition_id = $1) AS assessment_ids,
  (SELECT coalesce(list(provider || ':' || coalesce(CAST(updated_time_utc AS VARCHAR), '') ORDER BY provider, solution_id), [])
     FROM event_solutions WHERE event_id = $2) AS solution_keys,
  -- keys 'USGS PAGER:<product id>': the part before ':' names the source in both languages (capitals)
  (SELECT coalesce(list(provider || ' ' || upper(replace(product_type, 'losspager', 'pager')) || ':' || product_id
                        ORDER BY product_id), [])
     FROM event_products
    WHERE event_id = $2 AND product_type IN ('losspager', 'shakemap', 'finite-fault')) AS product_keys
