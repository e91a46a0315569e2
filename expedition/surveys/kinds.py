"""Observation kinds, their fields and vocabularies: the one description every survey module reads.

A :class:`KindSpec` lists the fields of one observation kind (buildings, intensity, ground
failure, lifelines, stations) with their type, range, vocabulary and the header names accepted
without a mapping file (the XLSForm question name first, then common spellings). Templates,
readers, validation and exports are all generated from these specs, so a field is described once.

Scales (see /work/shared/science.md section 5): EMS-98 damage grades 0-5 (Grünthal 1998, European
Macroseismic Scale 1998); EMS-98, MMI and GB/T 17742-2020 intensity degrees I-XII; GEM building
taxonomy v2 codes for material, lateral load-resisting system and occupancy (Brzev et al. 2013, GEM
Building Taxonomy Version 2.0); HAZUS damage states for lifelines (FEMA HAZUS-MH technical manual).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from warehouse.schema import TableSpec
from warehouse.tables import surveys as tables

FieldType = Literal["text", "integer", "number", "datetime", "choice", "intensity", "geopoint", "geotrace", "photos"]

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise_key(text: str) -> str:
    """Lower case, runs of other characters as one ``_``, no ``_`` at the ends ("GB/T 17742" -> "gb_t_17742")."""
    return _NON_ALNUM.sub("_", text.lower()).strip("_")


@dataclass(frozen=True)
class Choice:
    code: str
    label: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vocabulary:
    """A closed list of codes (an XLSForm ``choices`` list)."""

    name: str
    choices: tuple[Choice, ...]

    @property
    def codes(self) -> list[str]:
        return [c.code for c in self.choices]

    def lookup(self) -> dict[str, str]:
        """Normalised spelling (code, label or alias) -> canonical code."""
        out: dict[str, str] = {}
        for c in self.choices:
            for spelling in (c.code, c.label, *c.aliases):
                out.setdefault(normalise_key(spelling), c.code)
        return out


@dataclass(frozen=True)
class FieldSpec:
    """One field of an observation kind.

    ``name`` is the lake column (``geopoint``/``geotrace``/``photos`` fields feed other columns);
    ``form_name`` the XLSForm question; ``aliases`` other accepted headers (normalised, in priority
    order). ``in_window`` times must fall inside the expedition's time window.
    """

    name: str
    type: FieldType
    label: str
    form_name: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    vocabulary: Vocabulary | None = None
    in_window: bool = False
    hint: str = ""

    @property
    def spellings(self) -> tuple[str, ...]:
        """Accepted header keys, best first."""
        seen: dict[str, None] = {}
        for s in (self.form_name, self.name, *self.aliases):
            seen.setdefault(normalise_key(s), None)
        return tuple(seen)

    def expected(self) -> str:
        """What a valid value looks like, in words (for problem reports)."""
        if self.type == "choice" and self.vocabulary is not None:
            return "one of " + ", ".join(self.vocabulary.codes)
        if self.type == "intensity":
            return "an intensity degree 1-12 (Arabic or Roman numerals, e.g. 7, VII or VI-VII)"
        if self.type == "datetime":
            return "an ISO 8601 date/time (e.g. 2015-05-02T10:30:00+05:45)"
        if self.type in ("integer", "number"):
            kind = "a whole number" if self.type == "integer" else "a number"
            if self.minimum is not None and self.maximum is not None:
                return f"{kind} between {self.minimum:g} and {self.maximum:g}"
            if self.minimum is not None:
                return f"{kind} >= {self.minimum:g}"
            return kind
        return "text"


@dataclass(frozen=True)
class KindSpec:
    """One observation kind: its table, view, fields and natural id."""

    name: str
    title: str
    table: TableSpec
    view: str
    fields: tuple[FieldSpec, ...]
    natural_id: tuple[str, ...]
    lines_allowed: bool = False
    group: str = field(default="")

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}; fields: {[f.name for f in self.fields]}")

    @property
    def own_fields(self) -> tuple[FieldSpec, ...]:
        """The fields specific to this kind (used to recognise it from a file's columns)."""
        common = {f.name for f in COMMON_FIELDS}
        return tuple(f for f in self.fields if f.name not in common)


def _vocab(name: str, *choices: tuple[str, str] | tuple[str, str, tuple[str, ...]]) -> Vocabulary:
    return Vocabulary(name, tuple(Choice(c[0], c[1], c[2] if len(c) > 2 else ()) for c in choices))  # type: ignore[misc]


EMS98_GRADE = _vocab(
    "ems98_grade",
    ("0", "Grade 0: no damage"),
    ("1", "Grade 1: negligible to slight damage"),
    ("2", "Grade 2: moderate damage"),
    ("3", "Grade 3: substantial to heavy damage"),
    ("4", "Grade 4: very heavy damage"),
    ("5", "Grade 5: destruction"),
)
ACTION = _vocab(
    "action",
    ("none", "No action needed", ("no need", "no action", "no_need")),
    ("minor_repair", "Minor repair", ("minor",)),
    ("major_repair", "Major repair", ("major",)),
    ("reconstruction", "Reconstruction", ("reconstruct", "rebuild", "demolish and rebuild")),
)
MATERIAL = _vocab(  # GEM taxonomy v2, material of the lateral load-resisting system
    "material",
    ("MUR", "Unreinforced masonry (incl. adobe blocks, stone, brick)", ("unreinforced masonry", "masonry", "urm")),
    ("MCF", "Confined masonry", ("confined masonry",)),
    ("MR", "Reinforced masonry", ("reinforced masonry",)),
    ("CR", "Reinforced concrete", ("reinforced concrete", "rc", "rcc")),
    ("CU", "Unreinforced concrete", ("unreinforced concrete",)),
    ("SRC", "Composite steel and concrete", ("composite",)),
    ("S", "Steel", ("steel",)),
    ("W", "Wood (timber, bamboo)", ("wood", "timber", "bamboo")),
    ("E", "Earth (rammed earth, cob)", ("earth", "rammed earth", "cob")),
    ("MATO", "Other material", ("other",)),
)
LLRS = _vocab(  # GEM taxonomy v2, lateral load-resisting system
    "llrs",
    ("LWAL", "Wall", ("wall", "bearing wall", "load bearing wall")),
    ("LFM", "Moment frame", ("moment frame", "frame")),
    ("LFINF", "Infilled frame", ("infilled frame",)),
    ("LFBR", "Braced frame", ("braced frame",)),
    ("LPB", "Post and beam", ("post and beam",)),
    ("LDUAL", "Dual frame-wall system", ("dual",)),
    ("LFLS", "Flat slab/plate", ("flat slab",)),
    ("LH", "Hybrid system", ("hybrid",)),
    ("LN", "No lateral load-resisting system", ("none",)),
    ("LO", "Other system", ("other",)),
)
OCCUPANCY = _vocab(  # GEM taxonomy v2, building occupancy
    "occupancy",
    ("RES", "Residential", ("residential", "house", "housing")),
    ("COM", "Commercial", ("commercial", "shop")),
    ("MIX", "Mixed use", ("mixed", "mixed use")),
    ("IND", "Industrial", ("industrial",)),
    ("AGR", "Agriculture", ("agriculture", "agricultural")),
    ("ASS", "Assembly", ("assembly", "religious")),
    ("GOV", "Government", ("government",)),
    ("EDU", "Education", ("education", "school")),
    ("OCO", "Other occupancy", ("other",)),
)
INTENSITY_SCALE = _vocab(
    "intensity_scale",
    ("ems98", "EMS-98", ("ems",)),
    ("mmi", "Modified Mercalli (MMI)", ("mm", "modified mercalli")),
    ("gbt17742", "China GB/T 17742-2020", ("gb/t 17742", "gb_t17742", "gbt 17742", "csis", "china")),
)
INTENSITY_DEGREE = _vocab(
    "intensity_degree", *(((str(i), r)) for i, r in enumerate(
        ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"), start=1))
)
INTENSITY_METHOD = _vocab(
    "intensity_method",
    ("field", "Field assessment", ("field survey", "macroseismic survey")),
    ("questionnaire", "Questionnaires", ("questionnaires", "internet", "dyfi")),
)
FAILURE_TYPE = _vocab(
    "failure_type",
    ("landslide", "Landslide", ("slide",)),
    ("liquefaction", "Liquefaction", ("sand boil", "sand_blow")),
    ("surface_rupture", "Surface fault rupture", ("rupture", "fault rupture")),
    ("settlement", "Settlement / subsidence", ("subsidence",)),
    ("rockfall", "Rockfall", ("rock fall",)),
    ("lateral_spread", "Lateral spreading", ("lateral spreading",)),
    ("ground_crack", "Ground cracking", ("crack", "ground cracking")),
)
ELEMENT_TYPE = _vocab(
    "element_type",
    ("bridge", "Bridge"), ("road", "Road"), ("water", "Water supply", ("water supply",)),
    ("power", "Electric power", ("electricity", "electric power")), ("telecom", "Telecommunication", ("telecommunication",)),
    ("gas", "Gas"), ("rail", "Railway", ("railway",)),
)
DAMAGE_STATE = _vocab(  # HAZUS damage states
    "damage_state",
    ("none", "None"), ("slight", "Slight", ("minor",)), ("moderate", "Moderate"),
    ("extensive", "Extensive", ("major", "severe")), ("complete", "Complete", ("collapse", "destroyed")),
)
FUNCTIONALITY = _vocab(
    "functionality",
    ("functional", "Functional", ("operational", "open")),
    ("partial", "Partially functional", ("partially functional", "limited")),
    ("non_functional", "Not functional", ("not functional", "closed", "out of service")),
)

_COMMON_HEAD = (
    FieldSpec("submission_uuid", "text", "Submission uuid", "instanceid", ("uuid", "key", "submission_uuid")),
    FieldSpec("surveyor_name", "text", "Surveyor", "surveyor", ("enumerator", "surveyor_name", "username")),
    FieldSpec("surveyed_time_utc", "datetime", "Survey time", "surveyed_time",
              ("survey_time", "survey_date", "date", "start"), in_window=True),
    FieldSpec("site_latitude_deg", "number", "Latitude", "latitude",
              ("location_latitude", "lat", "gps_latitude", "site_latitude"), minimum=-90, maximum=90),
    FieldSpec("site_longitude_deg", "number", "Longitude", "longitude",
              ("location_longitude", "lon", "lng", "long", "gps_longitude", "site_longitude"), minimum=-180, maximum=180),
    FieldSpec("site_location", "geopoint", "Location (GPS)", "location", ("gps", "geopoint", "site_location")),
)
_COMMON_TAIL = (
    FieldSpec("observation_notes", "text", "Notes", "notes", ("comments", "remarks", "observation_notes")),
)
COMMON_FIELDS = _COMMON_HEAD + _COMMON_TAIL


def _num(name: str, label: str, form: str, aliases: tuple[str, ...] = (), lo: float | None = 0.0,
         hi: float | None = None, integer: bool = False, required: bool = False) -> FieldSpec:
    return FieldSpec(name, "integer" if integer else "number", label, form, aliases, required, lo, hi)


def _choice(name: str, label: str, form: str, vocab: Vocabulary, aliases: tuple[str, ...] = (),
            required: bool = False) -> FieldSpec:
    return FieldSpec(name, "choice", label, form, aliases, required, vocabulary=vocab)


BUILDINGS = KindSpec(
    "buildings", "Building damage survey", tables.SURVEY_BUILDINGS, "survey_buildings",
    (
        *_COMMON_HEAD,
        FieldSpec("building_id", "text", "Building id", "building_id", ("bldg_id", "building_code"), required=True),
        FieldSpec("site_admin_code", "text", "Administrative area code", "admin_code", ("ward_code",)),
        FieldSpec("damage_ems98_grade", "integer", "Damage grade (EMS-98)", "damage_grade",
                  ("ems98_grade", "ems_98_grade", "damage_ems98"), minimum=0, maximum=5, vocabulary=EMS98_GRADE,
                  hint="EMS-98: 0 none ... 5 destruction"),
        FieldSpec("damage_local_grade", "text", "Damage grade (local scale)", "local_grade", ("local_damage_grade",)),
        FieldSpec("damage_local_scale", "text", "Name of the local damage scale", "local_scale", ("local_grade_scale",)),
        _choice("action_recommended", "Recommended action", "action", ACTION,
                ("recommended_action", "technical_solution_proposed", "technical_solution")),
        FieldSpec("typology_gem_taxonomy", "text", "GEM taxonomy string", "gem_taxonomy", ("taxonomy",)),
        _choice("typology_material", "Material (GEM)", "material", MATERIAL, ("main_material", "structural_material")),
        _choice("typology_llrs", "Lateral load-resisting system (GEM)", "llrs", LLRS, ("lateral_system",)),
        _num("typology_storeys_count", "Storeys above ground", "storeys",
             ("stories", "floors", "count_floors", "count_floors_pre_eq", "storey_count"), 1, 200, integer=True),
        _num("typology_construction_year", "Construction year", "construction_year",
             ("year_built", "year_of_construction"), 1000, 2100, integer=True),
        _num("typology_age_years", "Age (years)", "age", ("age_years", "building_age", "age_building"), 0, 2000,
             integer=True),
        _choice("typology_occupancy", "Occupancy (GEM)", "occupancy", OCCUPANCY, ("building_use", "main_use")),
        _num("typology_plinth_area_m2", "Plinth area (m2)", "plinth_area_m2", ("plinth_area", "footprint_m2"), 0, 1e6),
        _num("typology_height_m", "Height (m)", "height_m", ("building_height_m",), 0, 1000),
        FieldSpec("photo_refs", "photos", "Photos", "photo", ("photos", "photo_refs", "photo_1", "photo_2", "photo_3")),
        *_COMMON_TAIL,
    ),
    natural_id=("building_id",),
    group="building",
)

INTENSITY = KindSpec(
    "intensity", "Macroseismic intensity survey", tables.SURVEY_INTENSITY, "survey_intensity",
    (
        *_COMMON_HEAD,
        FieldSpec("site_id", "text", "Site id", "site_id", ("site_code", "locality_id")),
        FieldSpec("site_name", "text", "Site name", "site_name", ("locality", "place", "village", "town")),
        _choice("intensity_scale_name", "Intensity scale", "scale", INTENSITY_SCALE, ("intensity_scale",), required=True),
        FieldSpec("intensity_value", "intensity", "Intensity", "intensity", ("intensity_value", "intensity_degree"),
                  required=True, minimum=1, maximum=12, vocabulary=INTENSITY_DEGREE),
        _choice("intensity_method", "Method", "method", INTENSITY_METHOD, ("intensity_method",)),
        _num("intensity_responses_count", "Number of responses", "responses",
             ("response_count", "n_responses", "number_of_responses", "questionnaires"), 0, 1e7, integer=True),
        *_COMMON_TAIL,
    ),
    natural_id=("site_id", "intensity_scale_name"),
    group="intensity",
)

GROUND_FAILURE = KindSpec(
    "ground_failure", "Ground failure survey", tables.SURVEY_GROUND_FAILURE, "survey_ground_failure",
    (
        *_COMMON_HEAD,
        FieldSpec("site_trace", "geotrace", "Trace (line)", "trace", ("geotrace", "line", "rupture_trace")),
        FieldSpec("failure_id", "text", "Feature id", "failure_id", ("feature_id", "gf_id")),
        _choice("failure_type", "Ground failure type", "failure_type", FAILURE_TYPE, ("ground_failure_type", "type"),
                required=True),
        _num("failure_offset_m", "Horizontal offset (m)", "offset_m", ("offset", "horizontal_offset_m", "slip_m"), None),
        _num("failure_vertical_offset_m", "Vertical offset (m)", "vertical_offset_m", ("throw_m",), None),
        _num("failure_length_m", "Length (m)", "length_m", ("length",), 0, 2e6),
        _num("failure_width_m", "Width (m)", "width_m", ("width",), 0, 1e6),
        _num("failure_area_m2", "Area (m2)", "area_m2", ("area",), 0, 1e12),
        _num("failure_depth_m", "Depth (m)", "depth_m", ("depth",), 0, 1e4),
        _num("failure_volume_m3", "Volume (m3)", "volume_m3", ("volume",), 0, 1e12),
        *_COMMON_TAIL,
    ),
    natural_id=("failure_id",),
    lines_allowed=True,
    group="ground_failure",
)

LIFELINES = KindSpec(
    "lifelines", "Lifeline damage survey", tables.SURVEY_LIFELINES, "survey_lifelines",
    (
        *_COMMON_HEAD,
        FieldSpec("element_id", "text", "Element id", "element_id", ("asset_id",)),
        FieldSpec("element_name", "text", "Element name", "element_name", ("asset_name",)),
        _choice("element_type", "Element type", "element_type", ELEMENT_TYPE, ("lifeline_type", "asset_type", "type"),
                required=True),
        _choice("damage_state", "Damage state (HAZUS)", "damage_state", DAMAGE_STATE, ("damage",)),
        _choice("service_functionality", "Functionality", "functionality", FUNCTIONALITY,
                ("service_functionality", "service")),
        *_COMMON_TAIL,
    ),
    natural_id=("element_id",),
    group="lifeline",
)

STATIONS = KindSpec(
    "stations", "Temporary station deployment", tables.SURVEY_STATIONS, "survey_stations",
    (
        *_COMMON_HEAD,
        FieldSpec("station_network_code", "text", "Network code", "network", ("network_code", "net"), required=True),
        FieldSpec("station_code", "text", "Station code", "station", ("station_code", "sta"), required=True),
        FieldSpec("station_location_code", "text", "Location code", "location_code", ("loc", "channel_location")),
        _num("site_elevation_m", "Elevation (m)", "elevation_m", ("elevation", "altitude_m"), -12000, 9000),
        FieldSpec("sensor_description", "text", "Sensor", "sensor", ("sensor_model", "instrument")),
        FieldSpec("deployment_start_time_utc", "datetime", "Deployment start", "start_time",
                  ("deployment_start", "installed", "start_time_utc"), required=True, in_window=True),
        FieldSpec("deployment_end_time_utc", "datetime", "Deployment end", "end_time",
                  ("deployment_end", "removed", "end_time_utc")),
        *_COMMON_TAIL,
    ),
    natural_id=("station_network_code", "station_code", "station_location_code", "deployment_start_time_utc"),
    group="station",
)

KINDS: dict[str, KindSpec] = {k.name: k for k in (BUILDINGS, INTENSITY, GROUND_FAILURE, LIFELINES, STATIONS)}
if tuple(KINDS) != tables.SURVEY_KINDS or any(k.table is not tables.OBSERVATION_TABLES[n] for n, k in KINDS.items()):
    raise AssertionError("survey kinds differ from warehouse.tables.surveys.OBSERVATION_TABLES")  # pragma: no cover


def kind_spec(name: str) -> KindSpec:
    """The spec of kind ``name`` (accepts ``building``, ``ground-failure``...)."""
    key = normalise_key(name)
    for k in KINDS.values():
        if key in (k.name, k.name.rstrip("s"), k.group):
            return k
    raise KeyError(f"unknown survey kind {name!r}; known: {', '.join(KINDS)}")


@cache
def spelling_index(kind: str) -> dict[str, tuple[str, int]]:
    """Normalised header -> (field name, priority) for ``kind`` (lower priority wins)."""
    out: dict[str, tuple[str, int]] = {}
    for f in KINDS[kind].fields:
        for rank, s in enumerate(f.spellings):
            out.setdefault(s, (f.name, rank))
    return out


def normalise_array(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """:func:`normalise_key` on a whole string array (vectorised)."""
    low = pc.utf8_lower(values)
    return pc.utf8_trim(pc.replace_substring_regex(low, pattern="[^a-z0-9]+", replacement="_"), characters="_")
