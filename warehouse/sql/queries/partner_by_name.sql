-- One partner by name (internal: partner registry).
-- param: partner_name VARCHAR partner name
SELECT * FROM partners WHERE partner_name = $partner_name
