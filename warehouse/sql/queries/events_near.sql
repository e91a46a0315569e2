-- Events within a distance of a point (great-circle, haversine on a 6371 km sphere) at or above a magnitude, nearest first.
-- audience: partners
-- param: latitude DOUBLE latitude of the point (degrees)
-- param: longitude DOUBLE longitude of the point (degrees)
-- param: maxradius_km DOUBLE largest distance from the point (km)
-- param: minmagnitude DOUBLE smallest magnitude
WITH d AS (
    SELECT *,
           2 * 6371.0 * asin(sqrt(
               pow(sin(radians(origin_latitude_deg - $latitude) / 2), 2)
               + cos(radians($latitude)) * cos(radians(origin_latitude_deg))
                 * pow(sin(radians(origin_longitude_deg - $longitude) / 2), 2)
           )) AS epicentre_distance_km
    FROM events
    WHERE magnitude_value >= $minmagnitude
)
SELECT event_id, origin_time_utc, origin_latitude_deg, origin_longitude_deg, origin_depth_km,
       magnitude_value, magnitude_type, region_name, preferred_provider, epicentre_distance_km
FROM d
WHERE epicentre_distance_km <= $maxradius_km
ORDER BY epicentre_distance_km, origin_time_utc DESC
