-- The trigger decisions naming one expedition with the structured fields their reasons are written from, oldest first.
SELECT decision_id, event_id, event_revision, decision_source, decided_utc, decided_by, decision,
       magnitude_value, magnitude_type, origin_time_utc, origin_depth_km, epicentre_country_iso3,
       nearest_member_iso3, nearest_member_distance_km, member_mmi_max, member_mmi_place, alert_level,
       expedition_tier, country_iso3_list, rule_results_json
FROM trigger_decision_log
WHERE expedition_id = ?
ORDER BY decided_utc, origin_time_utc, event_id, event_revision
