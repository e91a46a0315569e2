"""Decisions: alliance membership, the trigger policy, expedition lifecycle records and the response
that applies them to events (:mod:`expedition.decisions.response`)."""
