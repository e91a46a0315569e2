-- Advice items (active ones with their evidence hash) and sign-offs of one expedition. Parameter: $1 expedition id.
SELECT 'item' AS kind, advice_id || ':' || evidence_sha256 AS key FROM advice_items WHERE expedition_id = $1 AND advice_active
UNION ALL SELECT 'approval', approval_id FROM advice_approvals WHERE expedition_id = $1
ORDER BY kind, key
