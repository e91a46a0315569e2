-- Ground failure summary per expedition and failure type: how many sites, their largest length, area and
-- displacement, and the site ids (sorted, for the evidence of advice).
SELECT expedition_id, failure_type,
       count(*) AS site_count,
       max(failure_length_m) AS failure_length_max_m,
       max(failure_area_m2) AS failure_area_max_m2,
       max(failure_volume_m3) AS failure_volume_max_m3,
       max(greatest(failure_offset_m, failure_vertical_offset_m)) AS failure_offset_max_m,
       string_agg(coalesce(failure_id, observation_id), ', ' ORDER BY coalesce(failure_id, observation_id)) AS site_ids
FROM survey_ground_failure
WHERE failure_type IS NOT NULL
GROUP BY expedition_id, failure_type
