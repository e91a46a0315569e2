"""Expedition tables: trigger decisions, expedition versions, audit log, sequences, assessments.

All five are append-only: nothing is ever updated in place or deleted, so the full history of
every decision and every expedition is kept (and the lake's snapshots keep it again).

* ``trigger_decision_log``: one row per (event, event revision, policy hash, source) evaluated:
  ``opened | not_opened | joined | updated | flagged_for_review | manual_open``, with the reason in
  words, the facts it was based on, the policy version and hash and the model versions.
  Read it through the ``trigger_decisions`` view.
* ``expedition_versions``: every state an expedition has had (one row per change). The
  ``expeditions`` view shows the current state (highest ``expedition_version``).
* ``expedition_audit``: who changed what, when, from which status to which, and why; one row per
  version. Read it through the ``expedition_log`` view.
* ``expedition_events``: the earthquakes of each expedition's sequence (Gardner-Knopoff window).
* ``expedition_assessments``: shaking, exposure, alert, fatality estimate and aftershock forecast
  per expedition and event revision (and rupture basis), with model provenance, for briefs.

Ids: expeditions are ``EXP-<year>-<ISO3>-<nnn>`` (year of the mainshock, ISO 3166 alpha-3 of the
primary country, sequence number per year and country); decisions and assessments use
deterministic hashes of their inputs so reruns never duplicate rows.
"""

from __future__ import annotations

import pyarrow as pa

from warehouse.schema import TableSpec

UTC = pa.timestamp("us", tz="UTC")

_EVENT_FACTS: list[pa.Field] = [
    pa.field("origin_time_utc", UTC),
    pa.field("origin_latitude_deg", pa.float64()),
    pa.field("origin_longitude_deg", pa.float64()),
    pa.field("origin_depth_km", pa.float64()),
    pa.field("magnitude_value", pa.float64()),
    pa.field("magnitude_type", pa.string()),
]

TRIGGER_DECISION_LOG = TableSpec(
    name="trigger_decision_log",
    schema=pa.schema(
        [
            pa.field("decision_id", pa.string(), nullable=False),  # sha1(event, revision, policy hash, source)
            pa.field("event_id", pa.string(), nullable=False),
            pa.field("event_revision", pa.int32(), nullable=False),
            pa.field("decision_source", pa.string(), nullable=False),  # policy | manual
            pa.field("decided_utc", UTC, nullable=False),
            pa.field("decided_by", pa.string()),  # 'policy' or a person
            pa.field("decision", pa.string(), nullable=False),
            pa.field("expedition_id", pa.string()),
            pa.field("decision_reason", pa.string(), nullable=False),
            *_EVENT_FACTS,
            pa.field("event_type", pa.string()),
            pa.field("epicentre_country_iso3", pa.string()),  # '' at sea
            pa.field("nearest_member_iso3", pa.string()),
            pa.field("nearest_member_distance_km", pa.float64()),  # 0 inside
            pa.field("member_mmi_max", pa.float64()),  # strongest est. MMI at a populated place of a member
            pa.field("member_mmi_place", pa.string()),
            pa.field("alert_level", pa.string()),  # green | yellow | orange | red
            pa.field("expedition_tier", pa.int16()),
            pa.field("country_iso3_list", pa.list_(pa.string())),
            pa.field("rule_results_json", pa.string()),  # each policy rule: passed, value, threshold
            pa.field("policy_version", pa.string(), nullable=False),
            pa.field("policy_sha256", pa.string(), nullable=False),
            pa.field("membership_sha256", pa.string()),
            pa.field("model_versions_json", pa.string()),
        ]
    ),
    key=("decision_id",),
    append_only=True,
    description="Every trigger evaluation of every event revision: the decision and its reason in words.",
)

EXPEDITION_VERSIONS = TableSpec(
    name="expedition_versions",
    schema=pa.schema(
        [
            pa.field("expedition_id", pa.string(), nullable=False),
            pa.field("expedition_version", pa.int32(), nullable=False),
            pa.field("recorded_utc", UTC, nullable=False),
            pa.field("expedition_status", pa.string(), nullable=False),
            pa.field("expedition_tier", pa.int16(), nullable=False),  # 1 virtual, 2 scouts, 3 field team (StEER)
            pa.field("expedition_priority", pa.int16(), nullable=False),  # 1 most urgent .. 3
            pa.field("alert_level", pa.string()),
            pa.field("review_flag", pa.bool_()),
            pa.field("review_reason", pa.string()),
            pa.field("expedition_title", pa.string()),
            pa.field("primary_country_iso3", pa.string(), nullable=False),
            pa.field("country_iso3_list", pa.list_(pa.string())),
            pa.field("mainshock_event_id", pa.string(), nullable=False),
            pa.field("mainshock_origin_time_utc", UTC),
            pa.field("mainshock_latitude_deg", pa.float64()),
            pa.field("mainshock_longitude_deg", pa.float64()),
            pa.field("mainshock_depth_km", pa.float64()),
            pa.field("mainshock_magnitude_value", pa.float64()),
            pa.field("mainshock_magnitude_type", pa.string()),
            pa.field("sequence_radius_km", pa.float64()),  # Gardner-Knopoff L(M) of the mainshock
            pa.field("sequence_window_days", pa.float64()),  # Gardner-Knopoff T(M)
            pa.field("sequence_event_count", pa.int32()),
            pa.field("team_members", pa.list_(pa.string())),
            pa.field("objectives", pa.string()),
            pa.field("start_date", pa.date32()),
            pa.field("end_date", pa.date32()),
            pa.field("opened_utc", UTC),
            pa.field("opened_by", pa.string()),
            pa.field("opened_reason", pa.string()),
            pa.field("policy_version", pa.string()),
            pa.field("policy_sha256", pa.string()),
            pa.field("changed_by", pa.string()),
            pa.field("change_note", pa.string()),
        ]
    ),
    key=("expedition_id", "expedition_version"),
    append_only=True,
    description="Every state of every expedition (append-only); the `expeditions` view shows the current one.",
)

EXPEDITION_AUDIT = TableSpec(
    name="expedition_audit",
    schema=pa.schema(
        [
            pa.field("expedition_id", pa.string(), nullable=False),
            pa.field("expedition_version", pa.int32(), nullable=False),
            pa.field("audit_time_utc", UTC, nullable=False),
            pa.field("actor", pa.string(), nullable=False),  # a person, or 'policy'
            pa.field("audit_action", pa.string(), nullable=False),  # open | transition | update | join | flag | edit
            pa.field("status_from", pa.string()),
            pa.field("status_to", pa.string()),
            pa.field("audit_reason", pa.string()),
        ]
    ),
    key=("expedition_id", "expedition_version"),
    append_only=True,
    description="Append-only audit log of expeditions: who, when, from, to, why.",
)

EXPEDITION_EVENTS = TableSpec(
    name="expedition_events",
    schema=pa.schema(
        [
            pa.field("expedition_id", pa.string(), nullable=False),
            pa.field("event_id", pa.string(), nullable=False),
            pa.field("sequence_role", pa.string(), nullable=False),  # opening | sequence | manual
            pa.field("joined_utc", UTC),
            pa.field("decision_id", pa.string()),
            pa.field("mainshock_distance_km", pa.float64()),
            pa.field("mainshock_delay_hours", pa.float64()),  # negative: before the mainshock
        ]
    ),
    key=("expedition_id", "event_id"),
    append_only=True,
    description="The earthquakes of each expedition's sequence.",
)

EXPEDITION_ASSESSMENTS = TableSpec(
    name="expedition_assessments",
    schema=pa.schema(
        [
            pa.field("assessment_id", pa.string(), nullable=False),  # sha1 of expedition, event, revision, basis
            pa.field("expedition_id", pa.string(), nullable=False),
            pa.field("event_id", pa.string(), nullable=False),
            pa.field("event_revision", pa.int32(), nullable=False),
            pa.field("decision_id", pa.string()),
            pa.field("assessed_utc", UTC),
            *_EVENT_FACTS,
            pa.field("rupture_method", pa.string()),  # point | wells_coppersmith_line | aftershock_zone
            pa.field("rupture_length_km", pa.float64()),
            pa.field("rupture_event_count", pa.int32()),  # aftershocks used to outline the zone
            pa.field("shaking_model", pa.string()),
            pa.field("mmi_max", pa.float64()),  # strongest est. MMI at a populated place
            pa.field("mmi_max_place", pa.string()),
            pa.field("mmi_max_country_iso3", pa.string()),
            pa.field("mmi_by_country_json", pa.string()),  # {"CHN": {"mmi": 8.1, "place": "Aksu", "member": true}}
            pa.field("population_by_mmi_json", pa.string()),  # {"IV": 1234, ..., "X": 0}
            pa.field("population_mmi7plus_count", pa.int64()),
            pa.field("alert_level", pa.string()),
            pa.field("fatality_expected", pa.float64()),
            pa.field("fatality_method", pa.string()),
            pa.field("aftershock_regime", pa.string()),
            pa.field("forecast_json", pa.string()),
            pa.field("caveats_json", pa.string()),
            pa.field("provenance_json", pa.string()),
            pa.field("model_versions_json", pa.string()),
        ]
    ),
    key=("assessment_id",),
    append_only=True,
    description="Shaking, exposure, alert and aftershock forecast per expedition and event revision.",
)

TABLES: tuple[TableSpec, ...] = (
    TRIGGER_DECISION_LOG,
    EXPEDITION_VERSIONS,
    EXPEDITION_AUDIT,
    EXPEDITION_EVENTS,
    EXPEDITION_ASSESSMENTS,
)
