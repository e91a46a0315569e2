-- The audit log of every expedition, oldest first: who changed what, when, from, to and why.
SELECT expedition_id,
       expedition_version,
       audit_time_utc,
       actor,
       audit_action,
       status_from,
       status_to,
       audit_reason
FROM expedition_audit
ORDER BY expedition_id, expedition_version
