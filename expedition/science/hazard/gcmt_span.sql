-- Earliest and latest reference time of the GCMT solutions in USGS STREC's moment_tensors.db.
SELECT MIN(time), MAX(time) FROM earthquake
