"""Field survey tables: one table per observation kind, plus the issue log (quarantine and warnings).

Every observation row carries its provenance: the expedition, the archived raw file
(``raw_sha256``, see ``raw_files``), the row of that file (``raw_row_number``: the row a
spreadsheet shows, header = row 1; the 1-based feature number for GeoJSON) and the ingest
batch. The key is (``expedition_id``, ``observation_id``); ``observation_id`` is derived from the
inputs: the natural id of the observation (building id; site id and scale; network, station,
location and start time; ...) or, when it has none, ``sha256:`` and a hash of its values. So
re-ingesting never duplicates, and the same id arriving again with other values is a conflict.

Geometry is WKB in Arrow and ``GEOMETRY`` in the lake (EPSG:4326, longitude/latitude order);
``site_latitude_deg``/``site_longitude_deg`` repeat the site point (for ground failure lines, the
first vertex) for plain-table users.

The lake tables end in ``_obs``; the views ``survey_buildings``, ``survey_intensity``,
``survey_ground_failure``, ``survey_lifelines``, ``survey_stations`` (current observations),
``survey_quarantine`` (open errors) and ``survey_warnings`` expose them
(``warehouse/sql/views/survey_*.sql``).
"""

from __future__ import annotations

import pyarrow as pa

from warehouse.schema import TableSpec, geometry_field

UTC = pa.timestamp("us", tz="UTC")

#: Provenance and site columns shared by every observation table (in this order, first).
COMMON_FIELDS: list[pa.Field] = [
    pa.field("expedition_id", pa.string(), nullable=False),
    pa.field("observation_id", pa.string(), nullable=False),
    pa.field("raw_sha256", pa.string(), nullable=False),
    pa.field("raw_row_number", pa.int64(), nullable=False),
    pa.field("submission_uuid", pa.string()),
    pa.field("surveyor_name", pa.string()),
    pa.field("surveyed_time_utc", UTC),
    pa.field("site_latitude_deg", pa.float64()),
    pa.field("site_longitude_deg", pa.float64()),
    geometry_field("site_geometry"),
]

#: Bookkeeping columns shared by every observation table (last).
TRAILING_FIELDS: list[pa.Field] = [
    pa.field("observation_notes", pa.string()),
    pa.field("ingest_batch_id", pa.string(), nullable=False),
    pa.field("ingested_time_utc", UTC, nullable=False),
]

_COMMON_DOCS = {
    "expedition_id": "Expedition the survey belongs to (partition column).",
    "observation_id": "Natural id of the observation ('|' between parts), or 'sha256:' + hash of its values.",
    "raw_sha256": "SHA-256 of the archived raw file (see raw_files).",
    "raw_row_number": "Row in the raw file as a spreadsheet shows it (header = 1); GeoJSON: feature number.",
    "submission_uuid": "ODK/KoboToolbox submission uuid (_uuid / meta/instanceID) when present.",
    "site_geometry": "Point (or line for ground failure), EPSG:4326 lon/lat, stored as GEOMETRY.",
}


def _obs(name: str, fields: list[pa.Field], description: str, docs: dict[str, str]) -> TableSpec:
    return TableSpec(
        name=name,
        schema=pa.schema([*COMMON_FIELDS, *fields, *TRAILING_FIELDS]),
        key=("expedition_id", "observation_id"),
        version=1,
        partition_by=("expedition_id",),
        description=description,
        append_only=True,
        column_docs={**_COMMON_DOCS, **docs},
        fence_by="expedition_id",  # teams surveying different expeditions write at once
    )


SURVEY_BUILDINGS = _obs(
    "survey_buildings_obs",
    [
        pa.field("building_id", pa.string(), nullable=False),
        pa.field("site_admin_code", pa.string()),
        pa.field("damage_ems98_grade", pa.int8()),
        pa.field("damage_local_grade", pa.string()),
        pa.field("damage_local_scale", pa.string()),
        pa.field("action_recommended", pa.string()),
        pa.field("typology_gem_taxonomy", pa.string()),
        pa.field("typology_material", pa.string()),
        pa.field("typology_llrs", pa.string()),
        pa.field("typology_storeys_count", pa.int16()),
        pa.field("typology_construction_year", pa.int16()),
        pa.field("typology_age_years", pa.int16()),
        pa.field("typology_occupancy", pa.string()),
        pa.field("typology_plinth_area_m2", pa.float64()),
        pa.field("typology_height_m", pa.float64()),
        pa.field("photo_refs", pa.string()),
    ],
    "Building damage survey: one row per surveyed building.",
    {
        "damage_ems98_grade": "EMS-98 damage grade 0-5 (null when the local scale has no defensible mapping).",
        "damage_local_grade": "Grade as written on the local scale (see damage_local_scale).",
        "action_recommended": "none | minor_repair | major_repair | reconstruction.",
        "typology_material": "GEM taxonomy material family (MUR, CR, W, ...).",
        "typology_llrs": "GEM lateral load-resisting system (LWAL, LFM, LFINF, ...).",
        "site_admin_code": "Administrative area code when the survey has no coordinates.",
        "photo_refs": "Photo file names, separated by ';'.",
    },
)

SURVEY_INTENSITY = _obs(
    "survey_intensity_obs",
    [
        pa.field("site_id", pa.string()),
        pa.field("site_name", pa.string()),
        pa.field("intensity_scale_name", pa.string()),
        pa.field("intensity_value", pa.float64()),
        pa.field("intensity_method", pa.string()),
        pa.field("intensity_responses_count", pa.int32()),
    ],
    "Macroseismic intensity at a site (field estimate or questionnaires).",
    {
        "intensity_scale_name": "ems98 | mmi | gbt17742 (GB/T 17742-2020).",
        "intensity_value": "Intensity degree 1-12 (half degrees allowed, e.g. VI-VII = 6.5).",
        "intensity_method": "field | questionnaire.",
    },
)

SURVEY_GROUND_FAILURE = _obs(
    "survey_ground_failure_obs",
    [
        pa.field("failure_id", pa.string()),
        pa.field("failure_type", pa.string()),
        pa.field("failure_offset_m", pa.float64()),
        pa.field("failure_vertical_offset_m", pa.float64()),
        pa.field("failure_length_m", pa.float64()),
        pa.field("failure_width_m", pa.float64()),
        pa.field("failure_area_m2", pa.float64()),
        pa.field("failure_depth_m", pa.float64()),
        pa.field("failure_volume_m3", pa.float64()),
    ],
    "Ground failure: landslides, liquefaction, surface rupture, settlement, rockfall (point or line).",
    {"failure_type": "landslide | liquefaction | surface_rupture | settlement | rockfall | lateral_spread | ground_crack."},
)

SURVEY_LIFELINES = _obs(
    "survey_lifelines_obs",
    [
        pa.field("element_id", pa.string()),
        pa.field("element_name", pa.string()),
        pa.field("element_type", pa.string()),
        pa.field("damage_state", pa.string()),
        pa.field("service_functionality", pa.string()),
    ],
    "Lifeline elements: bridges, roads, water, power, telecom.",
    {
        "element_type": "bridge | road | water | power | telecom | gas | rail.",
        "damage_state": "none | slight | moderate | extensive | complete (HAZUS damage states).",
        "service_functionality": "functional | partial | non_functional.",
    },
)

SURVEY_STATIONS = _obs(
    "survey_stations_obs",
    [
        pa.field("station_network_code", pa.string()),
        pa.field("station_code", pa.string()),
        pa.field("station_location_code", pa.string()),
        pa.field("site_elevation_m", pa.float64()),
        pa.field("sensor_description", pa.string()),
        pa.field("deployment_start_time_utc", UTC),
        pa.field("deployment_end_time_utc", UTC),
    ],
    "Temporary seismic stations deployed by the expedition.",
    {"station_code": "FDSN network, station and location codes."},
)

SURVEY_ISSUES = TableSpec(
    name="survey_issues",
    schema=pa.schema(
        [
            pa.field("issue_id", pa.string(), nullable=False),
            pa.field("expedition_id", pa.string(), nullable=False),
            pa.field("observation_kind", pa.string(), nullable=False),
            pa.field("issue_severity", pa.string(), nullable=False),  # error (row quarantined) | warning (landed)
            pa.field("issue_check", pa.string(), nullable=False),  # type, range, vocabulary, required, ...
            pa.field("raw_sha256", pa.string(), nullable=False),
            pa.field("raw_file_name", pa.string()),
            pa.field("raw_row_number", pa.int64()),
            pa.field("issue_column", pa.string()),
            pa.field("issue_value", pa.string()),
            pa.field("issue_expected", pa.string()),
            pa.field("issue_reason", pa.string()),
            pa.field("raw_row_json", pa.string()),
            pa.field("observation_match_key", pa.string()),
            pa.field("superseded", pa.bool_(), nullable=False),
            pa.field("superseded_by_raw_sha256", pa.string()),
            pa.field("superseded_time_utc", UTC),
            pa.field("ingest_batch_id", pa.string(), nullable=False),
            pa.field("recorded_time_utc", UTC, nullable=False),
        ]
    ),
    key=("issue_id",),
    # by expedition, not by issue id: an issue id hashes its batch id, which hashes the expedition, so
    # one key never changes expedition; a file with hundreds of issues claims one fence, not all 64
    # buckets (1.5 s inside the transaction for 400 issues, and a conflict with every other such file)
    fence_by="expedition_id",
    version=1,
    partition_by=("expedition_id",),
    description=(
        "Every problem found in a survey file: errors (the row is quarantined) and warnings (the row landed). "
        "A later file with the same observation supersedes errors (flagged, never deleted)."
    ),
    column_docs={
        "observation_match_key": "Natural id of the row (or file name and row) used to find what a later file fixes.",
        "raw_row_json": "The raw row as read, as a JSON object (column -> text).",
    },
)

#: The one list of survey observation kinds, each with its lake table (``survey_<kind>_obs``).
#: ``expedition.surveys.kinds`` defines the fields of each; the API, the CLI and the views follow it.
OBSERVATION_TABLES: dict[str, TableSpec] = {
    "buildings": SURVEY_BUILDINGS,
    "intensity": SURVEY_INTENSITY,
    "ground_failure": SURVEY_GROUND_FAILURE,
    "lifelines": SURVEY_LIFELINES,
    "stations": SURVEY_STATIONS,
}
SURVEY_KINDS: tuple[str, ...] = tuple(OBSERVATION_TABLES)

TABLES: tuple[TableSpec, ...] = (
    SURVEY_BUILDINGS,
    SURVEY_INTENSITY,
    SURVEY_GROUND_FAILURE,
    SURVEY_LIFELINES,
    SURVEY_STATIONS,
    SURVEY_ISSUES,
)
