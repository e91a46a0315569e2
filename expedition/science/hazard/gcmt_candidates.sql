-- Global CMT solutions (USGS STREC's moment_tensors.db, table earthquake) whose reference time lies
-- in [start, end] (text 'YYYY-MM-DD HH:MM:SS.ffffff', as STREC stores it), with their source's name.
-- param: start TEXT  earliest reference time
-- param: end   TEXT  latest reference time
SELECT e.time, e.lat, e.lon, e.depth, e.mag, e.mrr, e.mtt, e.mpp, e.mrt, e.mrp, e.mtp, s.source
FROM earthquake AS e
LEFT JOIN source AS s ON s.id = e.sourceid
WHERE e.time >= ? AND e.time <= ?
ORDER BY e.time
