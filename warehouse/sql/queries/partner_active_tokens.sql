-- Active tokens of one partner (internal: revoke and rotate).
-- param: partner_name VARCHAR partner name
SELECT * FROM partner_tokens WHERE partner_name = $partner_name AND token_revoked_utc IS NULL
