-- Every partner with its scope and the number of active tokens (internal: `expedition partners list`).
SELECT p.partner_name, p.partner_country_iso3_list, p.partner_expedition_id_list, p.partner_embargo_days,
       p.partner_created_utc, p.partner_revoked_utc, p.partner_note,
       count(t.token_id) FILTER (WHERE t.token_revoked_utc IS NULL) AS active_token_count
FROM partners p
LEFT JOIN partner_tokens t USING (partner_name)
GROUP BY ALL
ORDER BY p.partner_name
