-- Which expedition each sequence event belongs to.
SELECT expedition_id, event_id, sequence_role FROM expedition_events ORDER BY expedition_id, event_id
