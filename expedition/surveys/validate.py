"""Vectorised validation: text columns in, typed observation rows and a table of problems out.

For every field (never for every row) the column is typed (:mod:`expedition.surveys.parse`) and
compared with its text to find missing required values, unreadable values, values out of range,
unknown categories and times outside the expedition window. Geometry comes from GeoJSON shapes,
ODK geotraces, latitude/longitude columns or ODK geopoints (in that order of preference). Sites
outside the affected area are warnings with their distance. The same observation twice in a file
is an error on the later rows. Checks against what already landed happen in ``ingest``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from expedition.surveys import geometry as geo
from expedition.surveys import parse
from expedition.surveys.context import SurveyContext
from expedition.surveys.kinds import FieldSpec, KindSpec
from expedition.surveys.mapping import CanonicalInput
from expedition.surveys.problems import concat_problems, empty_problems, problems_at

__all__ = ["Validated", "error_mask", "validate"]

_DATE_ONLY = r"^\s*\d{4}-\d{2}-\d{2}\s*$"
_PARALLEL_ROWS = 50_000  # below this, threads cost more than they save
_WORKERS = 2
#: Fields read by cross-field checks (site, deployment window): typed even when the file lacks them.
_USED_ACROSS_FIELDS = frozenset({"site_latitude_deg", "site_longitude_deg", "site_location", "site_trace",
                                 "deployment_start_time_utc", "deployment_end_time_utc"})
_BOOKKEEPING = {"expedition_id", "observation_id", "raw_sha256", "raw_row_number", "ingest_batch_id",
                "ingested_time_utc"}
#: Fields :func:`_site` reads.
_SITE_FIELDS = frozenset({"site_latitude_deg", "site_longitude_deg", "site_location", "site_trace"})
Column: TypeAlias = pa.Array | pa.ChunkedArray
#: Problems, latitude, longitude and geometry of every row's site (:func:`_site`).
_Site: TypeAlias = tuple[list[pa.Table], Column, Column, Column]


@dataclass
class Validated:
    """Typed rows (observation columns plus ``observation_id``) and their file-local problems."""

    kind: KindSpec
    table: pa.Table
    problems: pa.Table  # errors and warnings (see problems.PROBLEM_SCHEMA)
    natural_ids: pa.Array  # the natural id of each row (null when it has none)
    row_numbers: pa.Array
    file_name: str = ""

    def match_keys(self, rows: pa.Array | None = None) -> pa.Array:
        """What a later file repeats to supersede a row's errors, for the rows at indices ``rows``
        (all rows when ``None``); computed on demand, as most ingests never need it."""
        natural, numbers = self.natural_ids, self.row_numbers
        if rows is not None:
            natural, numbers = pc.take(natural, rows), pc.take(numbers, rows)
        return _match_keys(natural, numbers, self.file_name)

    @property
    def num_rows(self) -> int:
        return self.table.num_rows


def error_mask(problems: pa.Table, n: int) -> pa.Array:
    """True for rows with at least one error."""
    mask = np.zeros(n, dtype=bool)
    err = problems.filter(pc.equal(problems["issue_severity"], "error"))
    mask[np.asarray(err["row_index"].to_numpy(), dtype=np.int64)] = True
    return pa.array(mask)


def _check_field(f: FieldSpec, raw: Column, canon: CanonicalInput, ctx: SurveyContext, rows: pa.Array,
                 col: str, parts: list[pa.Table], typed: Column | None = None) -> Column:
    """Type one field and append its problems to ``parts``; returns the typed column (``typed``: the
    field's values already read by :func:`_fast_typed`)."""
    present = pc.is_valid(raw)
    if f.required:
        parts.append(problems_at(pc.invert(present), rows, column=col, values=None, expected=f.expected(),
                                 reason=f"{f.name} is required", check="required"))
    if f.type == "choice" and f.vocabulary is not None:
        codes = typed if typed is not None else parse.codes_of(raw, f.vocabulary)
        parts.append(problems_at(pc.and_(present, pc.is_null(codes)), rows, column=col, values=raw,
                                 expected=f.expected(), reason=f"unknown category for {f.name}", check="vocabulary"))
        return codes
    if f.type in ("integer", "number", "intensity"):
        if typed is not None:
            val = typed
        else:
            val = (parse.intensity_values(raw) if f.type == "intensity"
                   else parse.numbers(raw, decimal_comma=canon.decimal_comma))
        if f.name in canon.unit_factors:
            val = pc.multiply(val, canon.unit_factors[f.name])
        finite = pc.fill_null(pc.is_finite(val), False)
        parts.append(problems_at(pc.and_(present, pc.invert(finite)), rows, column=col, values=raw,
                                 expected=f.expected(), reason=f"not a number ({f.name})", check="type"))
        val = pc.if_else(finite, val, pa.scalar(None, pa.float64()))
        low = pc.less(val, f.minimum) if f.minimum is not None else None
        high = pc.greater(val, f.maximum) if f.maximum is not None else None
        bad = pc.or_(low, high) if low is not None and high is not None else (low if low is not None else high)
        if bad is not None:
            parts.append(problems_at(bad, rows, column=col, values=raw, expected=f.expected(),
                                     reason=f"{f.name} out of range", check="range"))
        if f.type == "integer":
            whole = pc.equal(val, pc.floor(val))
            parts.append(problems_at(pc.invert(whole), rows, column=col, values=raw, expected=f.expected(),
                                     reason=f"{f.name} must be a whole number", check="type"))
            val = pc.if_else(whole, val, pa.scalar(None, pa.float64()))
        return val
    if f.type == "datetime":
        val = typed if typed is not None else parse.times(raw, canon.timezone)
        parts.append(problems_at(pc.and_(present, pc.is_null(val)), rows, column=col, values=raw,
                                 expected=f.expected(), reason=f"not a date/time ({f.name})", check="type"))
        if f.in_window:
            parts.append(_window_problems(val, raw, rows, col, ctx))
        return val
    if f.name == "submission_uuid":
        return pc.replace_substring_regex(raw, pattern="^uuid:", replacement="")
    return raw


def validate(canon: CanonicalInput, context: SurveyContext, reader_problems: pa.Table | None = None,
             file_name: str = "") -> Validated:
    """Type and check ``canon`` (read from ``file_name``) against its kind and the expedition ``context``."""
    kind = canon.kind
    n = canon.table.num_rows
    rows = canon.row_numbers
    present = set(canon.table.column_names)
    text: dict[str, Column] = {}
    null_text = pa.nulls(n, pa.string())  # one all-null column for every field the file lacks
    parts: list[pa.Table] = [reader_problems] if reader_problems is not None else []
    src = canon.source_of
    # Fields are independent: check them on two threads (Arrow kernels release the GIL); problems
    # are gathered per field and joined in field order, so the result does not depend on timing.
    def check(f: FieldSpec) -> tuple[Column, Column | None, list[pa.Table]]:
        found: list[pa.Table] = []
        if f.name not in present and not f.required and f.name not in _USED_ACROSS_FIELDS:
            return null_text, None, found  # an optional field the file lacks: all null
        if f.name not in present:
            return null_text, _check_field(f, null_text, canon, context, rows, src(f.name), found), found
        given = canon.table[f.name]
        typed = _fast_typed(f, given, canon.timezone)
        # a column the fast parse read whole has no blank values: it is its own text
        t = given if typed is not None else parse.blank_to_null(given)
        return t, _check_field(f, t, canon, context, rows, src(f.name), found, typed), found

    pool = ThreadPoolExecutor(_WORKERS, thread_name_prefix="qe-validate") if n >= _PARALLEL_ROWS else None
    try:
        out: dict[str, Column | None] = {}
        if pool is None:
            for f in kind.fields:
                text[f.name], out[f.name], found = check(f)
                parts += found
            site = _site(canon, text, out, rows, src)
            ids_distinct = _ids_distinct(kind, canon)
        else:
            # the one hashing pass over the ids runs beside the field checks, not after them, and the
            # site (coordinates, geometry) is worked out as soon as its fields are checked
            distinct = pool.submit(_ids_distinct, kind, canon)
            checks, site_future = [], None
            last_site_field = max(i for i, f in enumerate(kind.fields) if f.name in _SITE_FIELDS)
            for i, f in enumerate(kind.fields):
                checks.append(pool.submit(check, f))
                if i == last_site_field:  # submitted after its fields' checks: never waits on queued work
                    site_future = pool.submit(_site_when_checked, canon, kind, checks, rows, src)
            for f, done in zip(kind.fields, checks, strict=True):
                text[f.name], out[f.name], found = done.result()
                parts += found
            assert site_future is not None
            site = site_future.result()
            ids_distinct = distinct.result()
        problems, obs, natural = _rows_and_problems(canon, context, text, out, parts, site, pool, ids_distinct)
    finally:
        if pool is not None:
            pool.shutdown()
    return Validated(kind, obs, problems, natural, rows, file_name)


def _fast_typed(f: FieldSpec, given: Column, tz: str | None) -> Column | None:
    """A choice, number or time column typed without a blank-to-null pass over every row: the choice
    codes when none of the column's distinct values is blank, the numbers or times when one Arrow
    cast reads every value (it refuses blank text). ``None`` otherwise, or when the column is not
    text: then the column's blanks become nulls first and it is typed value by value."""
    if not pa.types.is_string(given.type):
        return None
    if f.type == "choice" and f.vocabulary is not None:
        # a blank spelling would be one of the column's few distinct values: with none, the
        # column needs no blank pass over every row
        encoded = pc.dictionary_encode(given.combine_chunks() if isinstance(given, pa.ChunkedArray) else given)
        if pc.any(pc.utf8_is_space(encoded.dictionary)).as_py():
            return None
        return parse.codes_of_encoded(encoded, f.vocabulary)
    if f.type in ("integer", "number"):
        return parse.fast_numbers(given)
    if f.type == "datetime":
        return parse.fast_times(given, tz)
    return None


def _rows_and_problems(canon: CanonicalInput, context: SurveyContext, text: dict[str, Column],
                       out: dict[str, Column | None], parts: list[pa.Table], site: _Site,
                       pool: ThreadPoolExecutor | None, ids_distinct: bool) -> tuple[pa.Table, pa.Table, pa.Array]:
    """Cross-field checks, the observation table and its ids, repeats and distance warnings
    (``site``: :func:`_site`; ``ids_distinct``: :func:`_ids_distinct` found that no observation repeats)."""
    kind, n, rows = canon.kind, canon.table.num_rows, canon.row_numbers
    src = canon.source_of
    if "deployment_end_time_utc" in out:
        parts.append(problems_at(
            pc.less(out["deployment_end_time_utc"], out["deployment_start_time_utc"]), rows,
            column=src("deployment_end_time_utc"), values=text["deployment_end_time_utc"],
            expected="an end time after the deployment start", reason="deployment ends before it starts",
            check="range"))
    site_parts, out["site_latitude_deg"], out["site_longitude_deg"], out["site_geometry"] = site
    parts += site_parts
    obs = _observation_table(kind, out, n)
    natural = _natural_key(kind, obs)
    obs = obs.append_column("observation_id", _observation_ids(obs, natural))
    problems = concat_problems(parts)
    kid = kind.natural_id[0] if kind.natural_id else "observation_id"

    def distance() -> pa.Table | None:
        if context.affected_radius_km is None or context.epicentre_latitude_deg is None:
            return None
        return _distance_warnings(obs, rows, context, src("site_latitude_deg"))

    far = pool.submit(distance) if pool else None  # runs while repeats are looked for
    extra = [empty_problems() if ids_distinct else _duplicates(obs, natural, error_mask(problems, n), rows, src(kid))]
    warnings = far.result() if far else distance()
    if warnings is not None:
        extra.append(warnings)
    return concat_problems([problems, *extra]), obs, natural


def _window_problems(val: Column, raw: Column, rows: pa.Array, col: str, ctx: SurveyContext) -> pa.Table:
    if ctx.window_start_utc is None and ctx.window_end_utc is None:
        return empty_problems()
    start = ctx.window_start_utc or dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
    end = ctx.window_end_utc or dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
    early = pc.fill_null(pc.less(val, pa.scalar(start, val.type)), False)
    if pc.any(early).as_py():  # a date alone (no time) counts the whole day: look at those few rows only
        day_start = dt.datetime.combine(start.date(), dt.time(0), tzinfo=dt.UTC)
        idx = pc.indices_nonzero(early)
        date_only = pc.match_substring_regex(pc.fill_null(pc.take(raw, idx), ""), _DATE_ONLY)
        excused = pc.and_(date_only, pc.greater_equal(pc.take(val, idx), pa.scalar(day_start, val.type)))
        mask = np.asarray(early.to_numpy(zero_copy_only=False)).copy()
        mask[np.asarray(idx)[np.asarray(excused.to_numpy(zero_copy_only=False), dtype=bool)]] = False
        early = pa.array(mask)
    bad = pc.or_(early, pc.greater(val, pa.scalar(end, val.type)))
    return problems_at(bad, rows, column=col, values=raw, check="time_window",
                       expected=f"a time between {start.isoformat()} and {end.isoformat()} (the expedition window)",
                       reason="outside the expedition's time window")


def _site_when_checked(canon: CanonicalInput, kind: KindSpec,
                       checks: list[Future[tuple[Column, Column | None, list[pa.Table]]]],
                       rows: pa.Array, src: Callable[[str], str]) -> _Site:
    """:func:`_site` once the checks of the site fields (futures, in field order) are done."""
    text: dict[str, Column] = {}
    out: dict[str, Column | None] = {}
    for f, done in zip(kind.fields, checks, strict=False):
        if f.name in _SITE_FIELDS:
            text[f.name], out[f.name], _ = done.result()
    return _site(canon, text, out, rows, src)


def _site(canon: CanonicalInput, text: dict[str, Column], out: dict[str, Column | None], rows: pa.Array,
          src: Callable[[str], str]) -> _Site:
    """site_latitude_deg, site_longitude_deg and site_geometry from the best source, and the problems
    found on the way (reads the site fields of ``text`` and ``out``, changes neither)."""
    parts: list[pa.Table] = []
    lat, lon = out["site_latitude_deg"], out["site_longitude_deg"]
    parts.append(problems_at(pc.xor(pc.is_valid(lat), pc.is_valid(lon)), rows, column=src("site_latitude_deg"),
                             values=text["site_latitude_deg"], expected="both latitude and longitude, or neither",
                             reason="half a coordinate pair", check="required"))
    if pc.any(pc.is_valid(text["site_location"])).as_py():
        gp_lat, gp_lon, gp_bad = geo.parse_geopoints(text["site_location"])
        parts.append(problems_at(gp_bad, rows, column=src("site_location"), values=text["site_location"],
                                 expected="an ODK geopoint 'lat lon [alt [accuracy]]'", reason="unreadable geopoint",
                                 check="type"))
        gp_range = pc.or_(pc.greater(pc.abs(gp_lat), 90), pc.greater(pc.abs(gp_lon), 180))
        parts.append(problems_at(gp_range, rows, column=src("site_location"), values=text["site_location"],
                                 expected="latitude within ±90 and longitude within ±180",
                                 reason="geopoint out of range", check="range"))
        both = pc.and_(pc.is_valid(lat), pc.is_valid(lon))
        none = pa.scalar(None, pa.float64())
        lat = pc.if_else(both, lat, pc.if_else(gp_range, none, gp_lat))
        lon = pc.if_else(both, lon, pc.if_else(gp_range, none, gp_lon))
    ok = pc.and_(pc.less_equal(pc.abs(lat), 90), pc.less_equal(pc.abs(lon), 180))
    lat = pc.if_else(ok, lat, pa.scalar(None, pa.float64()))
    lon = pc.if_else(ok, lon, pa.scalar(None, pa.float64()))
    wkb: Column = geo.point_wkb(lon, lat)
    shapes: list[tuple[geo.Shapes, str, Column]] = []
    if "site_trace" in text and pc.any(pc.is_valid(text["site_trace"])).as_py():
        shapes.append((geo.parse_geotraces(text["site_trace"]), src("site_trace"), text["site_trace"]))
    if canon.geometry is not None:
        shapes.append((geo.shapes_of(canon.geometry, canon.kind.lines_allowed), "geometry",
                       pc.cast(pc.binary_length(canon.geometry), pa.string())))
    for s, col, values in shapes:
        parts.append(problems_at(s.bad, rows, column=col, values=values, expected=s.why, reason="unusable geometry",
                                 check="geometry"))
        has = pc.is_valid(s.wkb)
        wkb, lat, lon = pc.if_else(has, s.wkb, wkb), pc.if_else(has, s.lat, lat), pc.if_else(has, s.lon, lon)
    return parts, lat, lon, wkb


def _observation_table(kind: KindSpec, out: dict[str, Column | None], n: int) -> pa.Table:
    """The typed observation columns. Coded text (choices) stays dictionary-encoded over its values
    (the lake column's type): the bulk writer stores it as it is, any other writer casts it."""
    fields = [f for f in kind.table.schema if f.name not in _BOOKKEEPING]
    nulls: dict[pa.DataType, pa.Array] = {}  # all-null columns are immutable: one per type
    cols: list[Column] = []
    for f in fields:
        col = out.get(f.name)
        if col is None:
            cols.append(nulls.setdefault(f.type, pa.nulls(n, f.type)))
        elif pa.types.is_dictionary(col.type) and col.type.value_type.equals(f.type):
            cols.append(col)
        else:
            cols.append(pc.cast(col, f.type, safe=False))
    schema = pa.schema([f.with_type(c.type).with_nullable(True) for f, c in zip(fields, cols, strict=True)])
    return pa.Table.from_arrays(cols, schema=schema)


def _natural_key(kind: KindSpec, obs: pa.Table) -> pa.Array:
    """The natural id as text (parts joined by '|'), null when its first part is missing."""
    if not kind.natural_id:
        return pa.nulls(obs.num_rows, pa.string())
    first = obs[kind.natural_id[0]]
    if len(kind.natural_id) == 1 and pa.types.is_string(first.type):
        return first  # a text id on its own is the key as it is (nulls stay null): no copy
    key = parse.text_key([obs[c] for c in kind.natural_id])
    return pc.if_else(pc.is_valid(obs[kind.natural_id[0]]), key, pa.scalar(None, pa.string()))


def _observation_ids(obs: pa.Table, natural: pa.Array) -> pa.Array:
    """Natural id, else ``sha256:`` + the hash of the values (computed for those rows only)."""
    missing = pc.is_null(natural)
    if not pc.any(missing).as_py():
        return natural
    idx = pc.indices_nonzero(missing)
    hashes = pc.binary_join_element_wise("sha256:", parse.sha256_of_rows(obs.take(idx)), "")
    full = pc.take(hashes, pc.index_in(pa.array(np.arange(obs.num_rows, dtype=np.int64)), value_set=idx))
    return pc.coalesce(natural, full)


def _ids_distinct(kind: KindSpec, canon: CanonicalInput) -> bool:
    """True when the kind's natural id is one text field given on every row and never twice: then
    every observation id is that text (see :func:`_natural_key`) and none repeats. False when this
    cannot tell (the repeat check then looks at the observation ids themselves)."""
    if len(kind.natural_id) != 1 or kind.natural_id[0] not in canon.table.column_names:
        return False
    name = kind.natural_id[0]
    if next(f for f in kind.fields if f.name == name).type != "text":
        return False
    ids = parse.blank_to_null(canon.table[name])
    return ids.null_count == 0 and len(pc.unique(ids)) == len(ids)


def _duplicates(obs: pa.Table, natural: pa.Array, errors: pa.Array, rows: pa.Array, column: str) -> pa.Table:
    """Later rows repeating an observation id (among rows without other errors) are errors."""
    n = obs.num_rows
    if len(pc.unique(obs["observation_id"])) == n:  # the usual case: nothing repeats
        return empty_problems()
    enc = obs["observation_id"].combine_chunks().dictionary_encode()
    codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False))
    ok = ~np.asarray(errors.to_numpy(zero_copy_only=False))
    positions = np.flatnonzero(ok)
    uniq, first = np.unique(codes[positions], return_index=True)
    first_of = np.full(len(enc.dictionary), -1, dtype=np.int64)
    first_of[uniq] = positions[first]
    dup = ok & (first_of[codes] != np.arange(n))
    if not dup.any():
        return empty_problems()
    first_row = pc.take(rows, pa.array(np.where(dup, first_of[codes], 0)))
    reason = pc.binary_join_element_wise(
        "same observation as row ", pc.cast(first_row, pa.string()),
        pc.if_else(pc.is_null(natural), " (identical values)", ""), "")
    return problems_at(pa.array(dup), rows, column=column, values=natural, check="duplicate",
                       reason=reason, expected="each observation once per file (a building id, site or station once)")


def _distance_warnings(obs: pa.Table, rows: pa.Array, ctx: SurveyContext, column: str) -> pa.Table:
    assert ctx.epicentre_latitude_deg is not None and ctx.epicentre_longitude_deg is not None
    radius = float(ctx.affected_radius_km or 0.0)
    lat, lon = obs["site_latitude_deg"], obs["site_longitude_deg"]
    lat0, lon0 = ctx.epicentre_latitude_deg, ctx.epicentre_longitude_deg
    # the exact distance only for the rows a cheap bound cannot place inside the area (usually few)
    candidates = pa.array(np.flatnonzero(geo.maybe_beyond_km(lat, lon, lat0, lon0, radius)))
    d = geo.distance_km(pc.take(lat, candidates), pc.take(lon, candidates), lat0, lon0)
    far = pc.fill_null(pc.greater(d, radius), False)
    idx = pc.filter(candidates, far)
    if len(idx) == 0:
        return empty_problems()
    text = pc.binary_join_element_wise(pc.cast(pc.round(pc.filter(d, far), 0), pa.string()), " km", "")
    reason = pc.binary_join_element_wise(
        "site is ", text, f" from the epicentre, outside the affected area (radius {radius:.0f} km)", "")
    return problems_at(pa.array(np.ones(len(idx), dtype=bool)), pc.take(rows, idx), column=column, values=text,
                       reason=reason, check="affected_area", severity="warning",
                       expected=f"a site within {radius:.0f} km of the epicentre", row_index=idx)


def _match_keys(natural: pa.Array, rows: pa.Array, file_name: str) -> pa.Array:
    """``id:<natural id>`` when the row has one, else ``row:<file name>:<row>`` (a corrected file keeps its
    name and row positions)."""
    by_row = pc.binary_join_element_wise(f"row:{file_name}:", pc.cast(rows, pa.string()), "")
    by_id = pc.binary_join_element_wise("id:", natural, "")
    out = pc.coalesce(by_id, by_row)
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out
