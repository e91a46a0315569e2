-- Events to judge, oldest first: the current revision has no policy decision yet (new or revised),
-- or a PAGER, ShakeMap, finite-fault, moment-tensor or focal-mechanism product version was pulled after the event's last policy decision.
-- param: since TIMESTAMPTZ earliest origin time to consider (NULL: all)
SELECT e.event_id,
       coalesce(e.event_revision, 0) AS event_revision,
       e.origin_time_utc, e.origin_latitude_deg, e.origin_longitude_deg, e.origin_depth_km,
       e.magnitude_value, e.magnitude_type, e.event_type, e.region_name
FROM events e
WHERE (CAST($since AS TIMESTAMPTZ) IS NULL OR e.origin_time_utc >= $since)
  AND e.origin_time_utc IS NOT NULL
  AND (
      NOT EXISTS (
          SELECT 1 FROM trigger_decision_log d
          WHERE d.event_id = e.event_id
            AND d.event_revision = coalesce(e.event_revision, 0)
            AND d.decision_source = 'policy'
      )
      OR EXISTS (
          SELECT 1 FROM event_products p
          WHERE p.event_id = e.event_id
            AND p.product_type IN ('losspager', 'shakemap', 'finite-fault', 'moment-tensor', 'focal-mechanism')
            AND p.pulled_utc > (SELECT max(d.decided_utc) FROM trigger_decision_log d
                                WHERE d.event_id = e.event_id AND d.decision_source = 'policy')
      )
  )
ORDER BY e.origin_time_utc, e.event_id
