"""From a file's own columns to the fields of an observation kind.

Two ways, one result (:class:`CanonicalInput`, text columns named after the kind's fields):

* **no mapping** (our XLSForm templates, ODK Central, KoboToolbox and Briefcase exports, tidy
  spreadsheets): headers are matched against each field's spellings after dropping group
  prefixes (``building/damage_grade``, ``grp-damage-grade``, ``location-Latitude``) and the
  ODK/Kobo metadata columns (``_id``, ``_index``, ``_submission_time``, ``formhub/uuid`` ...);
  ``_uuid``/``meta/instanceID``/``KEY`` become ``submission_uuid``;
* **a mapping file** (TOML, or YAML with the same structure) for any other layout::

      [mapping]
      kind = "buildings"
      timezone = "+05:45"            # for times written without an offset (default UTC)
      [join]                         # a second file given with --labels, joined on a column
      on = "building_id"
      [columns]                      # field = "source column"
      damage_local_grade = "damage_grade"
      [values.damage_ems98_grade]    # source text -> value, before parsing
      "Grade 1" = "1"
      [units]                        # source unit of a field (converted to the field's SI unit)
      typology_plinth_area_m2 = "sq_ft"
      [constants]
      damage_local_scale = "Nepal 2015 NPC/CBS damage grade"
      [flags.typology_material]      # first source column holding a true value (1/yes/true) wins
      has_superstructure_rc_engineered = "CR"
      [concat.site_admin_code]
      columns = ["geo_level_1_id", "geo_level_2_id"]
      separator = "/"

All column work is done on whole Arrow arrays.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from expedition.surveys.errors import MappingError, SurveyInputError
from expedition.surveys.kinds import KINDS, KindSpec, kind_spec, normalise_array, normalise_key, spelling_index
from expedition.surveys.readers import RawTable

__all__ = ["UNITS", "CanonicalInput", "Mapping", "detect_kind", "load_mapping", "resolve_headers",
           "shipped_mapping", "to_canonical"]

#: Factor from a source unit to the SI unit of the field (m, m2, m3).
UNITS: dict[str, float] = {
    "m": 1.0, "cm": 0.01, "mm": 0.001, "km": 1000.0, "ft": 0.3048, "in": 0.0254, "mi": 1609.344,
    "m2": 1.0, "sq_ft": 0.09290304, "ft2": 0.09290304, "km2": 1e6, "ha": 1e4, "acre": 4046.8564224,
    "m3": 1.0, "ft3": 0.028316846592, "cu_ft": 0.028316846592,
}

#: ODK Central / KoboToolbox / Briefcase metadata headers (lower case) that are never observations.
ODK_METADATA = frozenset({
    "_id", "_index", "_submission_time", "_validation_status", "_notes", "_status", "_submitted_by",
    "__version__", "_version_", "_tags", "_attachments", "_geolocation", "_xform_id_string", "_parent_index",
    "_parent_table_name", "_submission__id", "_submission__uuid", "_submission__submission_time",
    "formhub/uuid", "meta/deprecatedid", "meta/rootuuid", "submissiondate", "submitterid", "submittername",
    "attachmentspresent", "attachmentsexpected", "status", "reviewstate", "deviceid", "edits", "formversion",
    "end", "today", "simserial", "subscriberid", "phonenumber",
})
_TRUE = ["1", "yes", "y", "true", "t", "x"]
_TZ = re.compile(r"^(UTC|Z|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file (see the module docstring for the format)."""

    path: Path
    sha256: str
    kind: str | None = None
    title: str = ""
    sheet: str | None = None
    timezone: str | None = None
    encoding: str | None = None
    join_on: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    flags: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    concat: dict[str, tuple[list[str], str]] = field(default_factory=dict)


@dataclass
class CanonicalInput:
    """A survey file in the kind's terms: text columns named after fields, plus provenance."""

    kind: KindSpec
    table: pa.Table
    row_numbers: pa.Array
    raw: pa.Table  # the record as read (after the join), for the quarantine's raw_row_json
    sources: dict[str, str]  # field -> column(s) of the file, for problem reports
    geometry: pa.Array | None = None
    unit_factors: dict[str, float] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    timezone: str | None = None
    decimal_comma: bool = False  # numbers may be written 27,68 (the file is separated by ';')

    def source_of(self, name: str) -> str:
        """The file's column(s) a field came from, as problem reports name them."""
        return self.sources.get(name, name)


def shipped_mapping(name: str) -> Path:
    """Path of a mapping shipped with the project (``nepal_2015_richter``...)."""
    base = Path(__file__).with_name("mappings")
    path = base / (name if name.endswith((".toml", ".yaml", ".yml")) else name + ".toml")
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in base.glob("*.toml")))
        raise MappingError(f"no mapping file {name!r} and no shipped mapping of that name; shipped: {known}")
    return path


def load_mapping(path: Path | str) -> Mapping:
    """Read and check a TOML (or YAML) mapping file; raises :class:`MappingError` naming the problem."""
    p = Path(path)
    if not p.is_file() and "/" not in str(path):  # a shipped mapping by name (with or without .toml)
        p = shipped_mapping(str(path))
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise MappingError(f"{p}: cannot read the mapping file: {exc}") from exc
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            doc = yaml.safe_load(data.decode("utf-8")) or {}
        else:
            doc = tomllib.loads(data.decode("utf-8"))
    except Exception as exc:  # TOMLDecodeError, YAMLError, UnicodeDecodeError
        raise MappingError(f"{p}: not a valid mapping file: {exc}") from exc
    if not isinstance(doc, dict):
        raise MappingError(f"{p}: expected a table of sections ([mapping], [columns], ...)")
    unknown = set(doc) - {"mapping", "join", "columns", "values", "units", "constants", "flags", "concat"}
    if unknown:
        raise MappingError(f"{p}: unknown section(s) {sorted(unknown)}")
    head = _section(doc, "mapping", p)
    tz = head.get("timezone")
    if tz is not None and not _TZ.match(str(tz)):
        raise MappingError(f"{p}: [mapping] timezone must be UTC or an offset like +05:45, got {tz!r}")
    m = Mapping(
        path=p,
        sha256=hashlib.sha256(data).hexdigest(),
        kind=head.get("kind"),
        title=str(head.get("title", "")),
        sheet=head.get("sheet"),
        timezone=tz,
        encoding=head.get("encoding"),
        join_on=_section(doc, "join", p).get("on"),
        columns={k: str(v) for k, v in _section(doc, "columns", p).items()},
        values={k: {str(a): str(b) for a, b in _section(_section(doc, "values", p), k, p).items()}
                for k in _section(doc, "values", p)},
        units={k: str(v) for k, v in _section(doc, "units", p).items()},
        constants={k: str(v) for k, v in _section(doc, "constants", p).items()},
        flags={k: [(str(a), str(b)) for a, b in _section(_section(doc, "flags", p), k, p).items()]
               for k in _section(doc, "flags", p)},
        concat={k: (list(v.get("columns", [])), str(v.get("separator", "/")))
                for k, v in _section(doc, "concat", p).items()},
    )
    _check_targets(m)
    return m


def _section(doc: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, dict):
        raise MappingError(f"{path}: [{name}] must be a table of key = value pairs")
    return value


def _check_targets(m: Mapping) -> None:
    if m.kind is None:
        return
    try:
        kind = kind_spec(m.kind)
    except KeyError as exc:
        raise MappingError(f"{m.path}: [mapping] kind: {exc.args[0]}") from None
    names = [f.name for f in kind.fields]
    seen: dict[str, str] = {}
    for section, targets in (("columns", m.columns), ("constants", m.constants), ("flags", m.flags),
                             ("concat", m.concat)):
        for target in targets:
            if target not in names:
                raise MappingError(f"{m.path}: [{section}] {target!r} is not a field of {kind.name}; fields: {', '.join(names)}")
            if target in seen:
                raise MappingError(f"{m.path}: field {target!r} is given by both [{seen[target]}] and [{section}]")
            seen[target] = section
    for target, unit in m.units.items():
        if unit not in UNITS:
            raise MappingError(f"{m.path}: [units] {target} = {unit!r}: unknown unit; known: {', '.join(UNITS)}")
        if target not in names or kind.field(target).type != "number":
            raise MappingError(f"{m.path}: [units] {target!r} is not a numeric field of {kind.name}")


def _header_key(header: str) -> str | None:
    raw = header.strip().lower()
    if raw in ODK_METADATA or raw.startswith("formhub/") or raw.endswith("_url"):
        return None
    return normalise_key(raw.rsplit("/", 1)[-1])


def resolve_headers(headers: list[str], kind: KindSpec) -> tuple[dict[str, list[str]], list[str]]:
    """Match a file's headers to ``kind``'s fields: field -> headers (best first), and the ignored headers."""
    index = spelling_index(kind.name)
    best: dict[str, list[tuple[tuple[int, int, int], str]]] = {}
    ignored: list[str] = []
    for pos, header in enumerate(headers):
        key = _header_key(header)
        hit: tuple[str, int] | None = None
        exact = 0
        if key:
            hit = index.get(key)
            if hit is None:
                suffixes = [s for s in index if key.endswith("_" + s)]
                if suffixes:
                    hit, exact = index[max(suffixes, key=len)], 1
        if hit is None:
            ignored.append(header)
            continue
        best.setdefault(hit[0], []).append(((exact, hit[1], pos), header))
    out: dict[str, list[str]] = {}
    for name, cands in best.items():
        ordered = [h for _, h in sorted(cands)]
        if kind.field(name).type == "photos":
            out[name] = [h for h in headers if h in ordered]  # every photo column, in file order
        else:
            out[name] = ordered[:1]
            ignored.extend(ordered[1:])
    return out, ignored


def detect_kind(headers: list[str], source: str | None = None) -> KindSpec:
    """The kind whose own fields best match ``headers`` (:class:`SurveyInputError` when unclear, or when
    the columns are those of an earthquake catalog: a ComCat export has latitude, longitude, depth and
    type, which once read as 4,118 ground-failure rows, every one quarantined). ``source`` (the file) starts
    the messages."""
    where = f"{source}: " if source else ""
    from catalogs.comcat_csv import csv_layout

    if csv_layout([h.strip() for h in headers]) is not None:
        raise SurveyInputError(
            f"{where}the columns are those of an earthquake catalog (a ComCat or Kaggle CSV export: "
            f"{', '.join(headers[:6])}...), not of a field survey; import it with `expedition catalog import FILE`"
        )
    scores = []
    lacking: dict[str, list[str]] = {}
    for kind in KINDS.values():
        matched, _ = resolve_headers(headers, kind)
        own = {f.name for f in kind.own_fields}
        required = sum(1 for f in kind.own_fields if f.required and f.name in matched)
        scores.append((required + len(own & set(matched)), kind.name))
        lacking[kind.name] = [f.name for f in kind.own_fields if f.required and f.name not in matched]
    scores.sort(reverse=True)
    shown = f"{', '.join(headers[:12])}{'...' if len(headers) > 12 else ''}"
    if scores[0][0] == 0 or scores[0][0] == scores[1][0]:
        raise SurveyInputError(
            f"{where}cannot tell the survey kind from the columns ({shown}); pass --kind "
            f"({', '.join(KINDS)}) or a mapping file"
        )
    best = scores[0][1]
    if lacking[best]:
        # a file without the kind's required column would land nothing: every row quarantined (GEM's
        # district tables have OCCUPANCY, GEM_TAXONOMY and COMMENTS but no building id)
        raise SurveyInputError(
            f"{where}cannot tell the survey kind from the columns ({shown}): they look most like {best}, but no "
            f"column gives {', '.join(lacking[best])} (required); pass --kind ({', '.join(KINDS)}) or a mapping file"
        )
    return KINDS[best]


def _join(raw: RawTable, labels: RawTable, on: str, mapping: Path) -> pa.Table:
    for t, what in ((raw, "values"), (labels, "labels")):
        if on not in t.table.column_names:
            raise MappingError(f"{mapping}: [join] on = {on!r}, but the {what} file {t.path} has no such column")
    counts = labels.table.group_by(on).aggregate([(on, "count")])
    dups = counts.filter(pc.greater(counts[f"{on}_count"], 1))
    if dups.num_rows:
        raise SurveyInputError(
            f"{labels.path}: column {on!r} repeats {dups.num_rows} value(s) (e.g. {dups[on][0].as_py()!r}); "
            "a labels file must have one row per key"
        )
    right = labels.table.rename_columns(
        [c if c == on or c not in raw.table.column_names else f"{c} (labels)" for c in labels.table.column_names]
    )
    left = raw.table.append_column("__row_index", pa.array(range(raw.num_rows), pa.int64()))
    joined = left.join(right, keys=on, join_type="left outer", use_threads=True)
    return joined.sort_by("__row_index").drop(["__row_index"])


def to_canonical(raw: RawTable, kind: KindSpec | None = None, mapping: Mapping | None = None,
                 labels: RawTable | None = None) -> CanonicalInput:
    """Turn a read file (and its labels file) into the kind's text columns."""
    table = raw.table
    if mapping is not None and mapping.join_on:
        if labels is None:
            raise MappingError(f"{mapping.path}: this mapping joins a labels file on {mapping.join_on!r}: pass --labels FILE")
        table = _join(raw, labels, mapping.join_on, mapping.path)
    elif labels is not None:
        raise MappingError("--labels needs a mapping with a [join] section (which column joins the two files)")
    if kind is None:
        if mapping is not None and mapping.kind:
            kind = kind_spec(mapping.kind)
        else:
            kind = detect_kind(table.column_names, str(raw.path))
    if mapping is None:
        matched, ignored = resolve_headers(table.column_names, kind)
        cols = {}
        for name, headers in matched.items():
            if len(headers) == 1:
                cols[name] = table[headers[0]]
            else:
                cols[name] = join_present([table[h] for h in headers], ";")
        sources = {name: " + ".join(h) for name, h in matched.items()}
        return CanonicalInput(kind, _table(cols, table.num_rows), raw.row_numbers, table, sources,
                              raw.geometry, {}, ignored, decimal_comma=raw.decimal_comma)
    return _apply_mapping(raw, table, kind, mapping)


def join_present(arrays: list[pa.ChunkedArray], sep: str) -> pa.Array | pa.ChunkedArray:
    """Join the non-null values of each row with ``sep`` (null when all are null).

    pyarrow 26's ``null_handling="skip"`` drops rows whose values are all null, so nulls are
    replaced by empty strings and the separators they leave are removed."""
    texts = [pc.cast(a, pa.string()) for a in arrays]  # an all-empty column reads as type null
    joined = pc.binary_join_element_wise(*texts, sep, null_handling="replace", null_replacement="")
    esc = re.escape(sep)
    cleaned = pc.replace_substring_regex(joined, pattern=f"(^({esc})+)|(({esc})+$)", replacement="")
    cleaned = pc.replace_substring_regex(cleaned, pattern=f"({esc}){{2,}}", replacement=sep)
    return pc.if_else(pc.equal(cleaned, ""), pa.scalar(None, pa.string()), cleaned)


def _table(cols: dict[str, Any], n: int) -> pa.Table:
    if not cols:
        return pa.table({"__n": pa.nulls(n, pa.string())}).drop(["__n"])
    return pa.table({k: v if isinstance(v, pa.ChunkedArray) else pa.chunked_array([v]) for k, v in cols.items()})


def _apply_mapping(raw: RawTable, table: pa.Table, kind: KindSpec, m: Mapping) -> CanonicalInput:
    if m.kind and kind_spec(m.kind).name != kind.name:
        raise MappingError(f"{m.path}: this mapping is for {m.kind}, not {kind.name}")
    names = table.column_names

    def col(source: str, target: str) -> pa.ChunkedArray:
        if source not in names:
            raise MappingError(
                f"{m.path}: field {target!r} reads column {source!r}, which {raw.path.name} does not have; "
                f"its columns: {', '.join(names[:30])}"
            )
        return table[source]

    cols: dict[str, Any] = {}
    sources: dict[str, str] = {}
    n = table.num_rows
    for target, source in m.columns.items():
        cols[target] = col(source, target)
        sources[target] = source
    for target, value in m.constants.items():
        cols[target] = pa.repeat(pa.scalar(value, pa.string()), n)
        sources[target] = "(constant)"
    for target, pairs in m.flags.items():
        result: Any = pa.nulls(n, pa.string())
        for source, value in reversed(pairs):
            truthy = pc.is_in(pc.utf8_lower(pc.utf8_trim_whitespace(col(source, target))), value_set=pa.array(_TRUE))
            result = pc.if_else(truthy, pa.scalar(value, pa.string()), result)
        cols[target] = result
        sources[target] = f"first true of {len(pairs)} flag columns ({pairs[0][0]}, ...)"
    for target, (columns, sep) in m.concat.items():
        cols[target] = pc.binary_join_element_wise(*[col(c, target) for c in columns], sep, null_handling="emit_null")
        sources[target] = " + ".join(columns)
    for target, table_map in m.values.items():
        if target not in cols:
            raise MappingError(f"{m.path}: [values.{target}] maps values of a field no column gives")
        keys = pa.array([normalise_key(k) for k in table_map], pa.string())
        vals = pa.array(list(table_map.values()), pa.string())
        mapped = pc.take(vals, pc.index_in(normalise_array(cols[target]), value_set=keys))
        cols[target] = pc.coalesce(mapped, cols[target])
    used = {s for s in m.columns.values()} | {s for p in m.flags.values() for s, _ in p} | {
        c for cs, _ in m.concat.values() for c in cs}
    if m.join_on:
        used.add(m.join_on)
    ignored = [c for c in names if c not in used]
    factors = {t: UNITS[u] for t, u in m.units.items()}
    return CanonicalInput(kind, _table(cols, n), raw.row_numbers, table, sources, raw.geometry, factors, ignored,
                          m.timezone, decimal_comma=raw.decimal_comma)
