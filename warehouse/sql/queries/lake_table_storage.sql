-- Where DuckLake keeps a table's data files and whether the lake encrypts them (DuckLake catalog
-- tables of the lake attached as `lake`; current versions only). Used by the bulk-append writer.
-- param: table_name VARCHAR lake table name
SELECT s.path AS schema_path, s.path_is_relative AS schema_path_is_relative,
       t.path AS table_path, t.path_is_relative AS table_path_is_relative,
       (SELECT lower(value) FROM __ducklake_metadata_lake.ducklake_metadata
         WHERE key = 'encrypted' AND scope IS NULL) AS encrypted,
       (SELECT value FROM __ducklake_metadata_lake.ducklake_metadata
         WHERE key = 'data_path' AND scope IS NULL) AS data_path
FROM __ducklake_metadata_lake.ducklake_table t
JOIN __ducklake_metadata_lake.ducklake_schema s ON s.schema_id = t.schema_id
WHERE t.table_name = $table_name AND t.end_snapshot IS NULL
  AND s.schema_name = 'main' AND s.end_snapshot IS NULL
