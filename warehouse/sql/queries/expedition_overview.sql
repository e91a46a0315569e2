-- Every expedition you can see with its mainshock, sequence size and the survey observations visible to you.
-- audience: partners
SELECT x.expedition_id, x.expedition_status, x.expedition_tier, x.alert_level, x.primary_country_iso3,
       x.country_iso3_list, x.mainshock_event_id, x.mainshock_origin_time_utc, x.mainshock_magnitude_value,
       (SELECT count(*) FROM expedition_events e WHERE e.expedition_id = x.expedition_id) AS sequence_event_count,
       (SELECT count(*) FROM survey_buildings b WHERE b.expedition_id = x.expedition_id) AS survey_building_count,
       (SELECT count(*) FROM survey_intensity i WHERE i.expedition_id = x.expedition_id) AS survey_intensity_count,
       EXISTS (SELECT 1 FROM survey_publications p WHERE p.expedition_id = x.expedition_id) AS surveys_published
FROM expeditions x
ORDER BY x.mainshock_origin_time_utc DESC, x.expedition_id
