-- The current state of every expedition: the highest version of each in expedition_versions.
SELECT *
FROM expedition_versions
QUALIFY row_number() OVER (PARTITION BY expedition_id ORDER BY expedition_version DESC) = 1
