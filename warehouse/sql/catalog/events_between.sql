-- Events whose preferred origin time lies in [$start, $end]: association candidates of a batch.
-- param: start TIMESTAMPTZ earliest origin time (batch minimum minus the time window)
-- param: end TIMESTAMPTZ latest origin time (batch maximum plus the time window)
SELECT *
FROM events
WHERE origin_time_utc BETWEEN $start AND $end
