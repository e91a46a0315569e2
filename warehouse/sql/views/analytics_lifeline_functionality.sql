-- Lifeline functionality per expedition and element type: elements functional, partly functional and not
-- functional, with shares of the elements whose functionality was recorded.
SELECT expedition_id, element_type,
       count(*) AS element_count,
       count(*) FILTER (WHERE service_functionality = 'functional') AS functional_count,
       count(*) FILTER (WHERE service_functionality = 'partial') AS partial_count,
       count(*) FILTER (WHERE service_functionality = 'non_functional') AS non_functional_count,
       count(*) FILTER (WHERE service_functionality = 'functional')
           / nullif(count(service_functionality), 0) AS functional_share,
       count(*) FILTER (WHERE service_functionality = 'non_functional')
           / nullif(count(service_functionality), 0) AS non_functional_share
FROM survey_lifelines
WHERE element_type IS NOT NULL
GROUP BY expedition_id, element_type
