"""Property tests (hypothesis) of every parser the pipeline exposes to outside input.

``tests/test_parse_fuzz.py`` (the parsers' own) throws arbitrary and spliced bytes at the four catalog
parsers. This file complements it:

* **catalog rows against an oracle**: random rows (values in range, out of range, NaN, infinities,
  times before 1900 or in 2100, unicode place names) written in each of the four formats by a writer
  of this file (not the project's), then parsed leniently and strictly. The parser must keep exactly
  the rows the oracle accepts, report exactly the rows it refuses (their 1-based numbers), raise on the
  first refused row when strict, and return the written values;
* **survey rows against an oracle**: random building rows through the survey reader, mapping and
  validation: exactly the bad rows are quarantined, by their spreadsheet row;
* **arbitrary and mutated bytes** into the survey reader (CSV, XLSX, GeoJSON), and through mapping
  and validation: only :class:`~expedition.errors.SurveyError` may come out;
* the other parsers of outside text: FDSN web-service query parameters (``parse_query``), the
  ``Retry-After`` header, ``qe.toml`` settings, survey mapping files, the trigger policy and the
  membership list: each returns a value or raises its documented error, nothing else.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from catalogs.comcat_csv import parse_comcat_csv
from catalogs.errors import ParseError
from catalogs.fdsntext import parse_fdsn_text
from catalogs.geojson_feed import parse_geojson_feed
from catalogs.quakeml import parse_quakeml

DATA = Path(__file__).parent / "data"
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = dt.datetime.now(dt.UTC)

# --- catalog rows and their oracle --------------------------------------------------------------


def _bounded(lo: float, hi: float) -> st.SearchStrategy[tuple[float, bool]]:
    """(value, valid): inside [lo, hi] with a margin, clearly outside, or not finite."""
    inside = st.floats(lo + 0.01, hi - 0.01).map(lambda v: (v, True))
    above = st.floats(hi + 0.5, hi + 1e6).map(lambda v: (v, False))
    below = st.floats(lo - 1e6, lo - 0.5).map(lambda v: (v, False))
    odd = st.sampled_from([math.nan, math.inf, -math.inf]).map(lambda v: (v, False))
    return st.one_of(inside, inside, inside, above, below, odd)


_times = st.one_of(
    st.datetimes(dt.datetime(1900, 1, 2), dt.datetime(2020, 12, 31)).map(lambda t: (t, True)),
    st.datetimes(dt.datetime(1700, 1, 1), dt.datetime(1899, 12, 30)).map(lambda t: (t, False)),
    st.datetimes(dt.datetime(2100, 1, 1), dt.datetime(2200, 1, 1)).map(lambda t: (t, False)),
)
# place names: any letter, mark, number, punctuation or symbol of any script, and plain spaces (other
# separators and format characters are left out: what counts as trimmable whitespace differs by library)
_text = st.text(st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Cn", "Co", "Zl", "Zp", "Zs"),
                              whitelist_characters=" "), max_size=24)


@st.composite
def catalog_rows(draw: Any) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 8))
    rows = []
    for i in range(n):
        t, t_ok = draw(_times)
        lat, lat_ok = draw(_bounded(-90, 90))
        lon, lon_ok = draw(_bounded(-180, 180))
        depth, d_ok = draw(_bounded(-10, 800))
        mag, m_ok = draw(_bounded(-2, 10.5))
        rows.append({"id": f"pt{i:03d}", "time": t.replace(microsecond=0), "lat": lat, "lon": lon, "depth": depth,
                     "mag": mag, "place": draw(_text), "ok": t_ok and lat_ok and lon_ok and d_ok and m_ok})
    return rows


def _num(v: float) -> str:
    return repr(float(v))


def write_csv(rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["time", "latitude", "longitude", "depth", "mag", "magType", "net", "id", "updated", "place", "type",
                "status", "locationSource", "magSource"])
    for r in rows:
        w.writerow([f"{r['time']:%Y-%m-%dT%H:%M:%S}.000Z", _num(r["lat"]), _num(r["lon"]), _num(r["depth"]),
                    _num(r["mag"]), "mww", "us", r["id"], "", r["place"].replace("\n", " "), "earthquake",
                    "reviewed", "us", "us"])
    return buf.getvalue().encode("utf-8")


def write_text(rows: list[dict[str, Any]]) -> bytes:
    lines = ["#EventID|Time|Latitude|Longitude|Depth/km|Author|Catalog|Contributor|ContributorID|MagType|"
             "Magnitude|MagAuthor|EventLocationName"]
    for r in rows:
        place = r["place"].replace("|", "/")
        lines.append(f"{r['id']}|{r['time']:%Y-%m-%dT%H:%M:%S}|{_num(r['lat'])}|{_num(r['lon'])}|{_num(r['depth'])}|"
                     f"us|us|us|{r['id']}|Mw|{_num(r['mag'])}|us|{place}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def write_quakeml(rows: list[dict[str, Any]]) -> bytes:
    events = []
    for r in rows:
        events.append(
            f'<event publicID="smi:org.test/event/{r["id"]}"><description><text>{escape(r["place"])}</text>'
            f'<type>region name</type></description><origin publicID="smi:org.test/origin/{r["id"]}">'
            f'<time><value>{r["time"]:%Y-%m-%dT%H:%M:%S}Z</value></time>'
            f'<latitude><value>{_num(r["lat"])}</value></latitude><longitude><value>{_num(r["lon"])}</value></longitude>'
            f'<depth><value>{_num(r["depth"] * 1000.0)}</value></depth></origin>'
            f'<magnitude publicID="smi:org.test/mag/{r["id"]}"><mag><value>{_num(r["mag"])}</value></mag>'
            f"<type>Mw</type></magnitude></event>")
    return ('<?xml version="1.0" encoding="UTF-8"?><q:quakeml xmlns:q="http://quakeml.org/xmlns/quakeml/1.2" '
            'xmlns="http://quakeml.org/xmlns/bed/1.2"><eventParameters publicID="smi:org.test/c">'
            + "".join(events) + "</eventParameters></q:quakeml>").encode("utf-8")


def write_geojson(rows: list[dict[str, Any]]) -> bytes:
    features = []
    for r in rows:
        ms = int((r["time"].replace(tzinfo=dt.UTC) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds() * 1000)
        features.append({"type": "Feature", "id": r["id"],
                         "properties": {"mag": r["mag"], "place": r["place"], "time": ms, "updated": None,
                                        "status": "reviewed", "net": "us", "magType": "mww", "type": "earthquake"},
                         "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"], r["depth"]]}})
    return json.dumps({"type": "FeatureCollection", "features": features}, allow_nan=True).encode("utf-8")


FORMATS: dict[str, tuple[Callable[[list[dict[str, Any]]], bytes], Callable[..., Any]]] = {
    "comcat_csv": (write_csv, parse_comcat_csv),
    "fdsn_text": (write_text, parse_fdsn_text),
    "quakeml": (write_quakeml, parse_quakeml),
    "geojson": (write_geojson, parse_geojson_feed),
}


@FAST
@given(rows=catalog_rows())
@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.slow
def test_catalog_parsers_keep_exactly_the_rows_the_oracle_accepts(fmt: str, rows: list[dict[str, Any]]) -> None:
    write, parse = FORMATS[fmt]
    data = write(rows)
    good, problems = parse(data, source_name="prop", strict=False)
    want_good = [r for r in rows if r["ok"]]
    bad_numbers = [i for i, r in enumerate(rows, start=1) if not r["ok"]]
    assert good.column("provider_event_id").to_pylist() == [r["id"] for r in want_good]
    assert sorted({p.row for p in problems}) == bad_numbers
    assert all(p.source == "prop" and p.column and p.expected for p in problems)
    for r, lat, lon, mag, depth, t, place in zip(
        want_good, *(good.column(c).to_pylist() for c in ("origin_latitude_deg", "origin_longitude_deg",
                                                           "magnitude_value", "origin_depth_km", "origin_time_utc",
                                                           "region_name"))):
        assert (lat, lon, mag) == (r["lat"], r["lon"], r["mag"])
        assert depth == pytest.approx(r["depth"], rel=1e-12, abs=1e-9)
        assert t == r["time"].replace(tzinfo=dt.UTC)
        written = r["place"].replace("|", "/") if fmt == "fdsn_text" else r["place"]
        assert (place or "").strip() == written.strip()
    # strict: the first refused row is the error, named by its number
    if bad_numbers:
        with pytest.raises(ParseError) as info:
            parse(data, source_name="prop")
        assert info.value.row == bad_numbers[0] and str(info.value).startswith(f"prop, row {bad_numbers[0]}")
    else:
        assert parse(data, source_name="prop").num_rows == len(rows)


# --- surveys -------------------------------------------------------------------------------------------
SURVEY_SEEDS = sorted(p for p in (DATA / "surveys").iterdir() if p.suffix in (".csv", ".geojson")) + sorted(
    p for p in (DATA / "bad").iterdir() if p.name.startswith("survey_"))


def _survey_context() -> Any:
    from expedition.surveys.context import SurveyContext

    return SurveyContext("EXP-2015-NPL-001", dt.datetime(2015, 4, 25, 6, 11, 25, tzinfo=dt.UTC), NOW,
                         28.2305, 84.7314, 250.0)


def _through_the_pipeline(path: Path) -> None:
    """Read, map and validate ``path`` as an ingest would (no lake): only SurveyError may escape."""
    from expedition.errors import SurveyError
    from expedition.surveys.mapping import to_canonical
    from expedition.surveys.readers import read_survey_file
    from expedition.surveys.validate import error_mask, validate

    try:
        raw = read_survey_file(path)
        checked = validate(to_canonical(raw), _survey_context(), raw.problems)
    except SurveyError as exc:
        assert str(exc)
        return
    rows = set(raw.row_numbers.to_pylist())
    assert set(checked.problems.column("raw_row_number").to_pylist()) <= rows
    assert len(error_mask(checked.problems, checked.num_rows)) == checked.num_rows == raw.num_rows


_mutated = st.builds(
    lambda seed, at, cut, noise: seed[:at] + noise + seed[at + cut:],
    st.sampled_from([p.read_bytes() for p in SURVEY_SEEDS]),
    st.integers(0, 1500), st.integers(0, 60), st.binary(max_size=40),
)


@FAST
@given(data=st.one_of(st.binary(max_size=300), _mutated), suffix=st.sampled_from([".csv", ".tsv", ".geojson", ".json", ".xlsx"]))
def test_survey_reader_mapping_and_validation_fail_only_with_survey_errors(
    data: bytes, suffix: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("survey-fuzz") / f"input{suffix}"
    path.write_bytes(data)
    _through_the_pipeline(path)


@FAST
@given(cut=st.integers(0, 6000), noise=st.binary(max_size=16), at=st.integers(0, 6000))
def test_mutated_workbooks_fail_only_with_survey_errors(cut: int, noise: bytes, at: int,
                                                        tmp_path_factory: pytest.TempPathFactory) -> None:
    seed = (DATA / "bad" / "survey_formulas.xlsx").read_bytes()
    data = seed[:at] + noise + seed[at + cut:] if cut else seed[:at] + noise
    path = tmp_path_factory.mktemp("xlsx-fuzz") / "input.xlsx"
    path.write_bytes(data)
    _through_the_pipeline(path)


_grade = st.one_of(
    st.integers(0, 5).map(lambda g: (str(g), True)), st.sampled_from(["6", "9", "-1", "x"]).map(lambda g: (g, False))
)
_storeys = st.one_of(st.integers(1, 60).map(lambda s: (str(s), True)),
                     st.sampled_from(["0", "-3", "201", "three", "2.5"]).map(lambda s: (s, False)))
_lat = st.one_of(st.floats(27.0, 28.5).map(lambda v: (f"{v:.5f}", True)),
                 st.sampled_from(["91", "-91.5", "nan", "inf", "north"]).map(lambda v: (v, False)))


@st.composite
def building_rows(draw: Any) -> list[dict[str, Any]]:
    rows = []
    for i in range(draw(st.integers(1, 10))):
        grade, g_ok = draw(_grade)
        storeys, s_ok = draw(_storeys)
        lat, l_ok = draw(_lat)
        rows.append({"building_id": f"P-{i:04d}", "grade": grade, "storeys": storeys, "lat": lat,
                     "ok": g_ok and s_ok and l_ok})
    return rows


@FAST
@given(rows=building_rows())
@pytest.mark.slow
def test_survey_validation_quarantines_exactly_the_bad_rows(rows: list[dict[str, Any]],
                                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    from expedition.surveys.kinds import kind_spec
    from expedition.surveys.mapping import to_canonical
    from expedition.surveys.readers import read_survey_file
    from expedition.surveys.validate import error_mask, validate

    lines = ["building_id,surveyed_time,latitude,longitude,damage_grade,storeys,material"]
    lines += [f"{r['building_id']},2015-05-02T09:10:00+05:45,{r['lat']},85.3,{r['grade']},{r['storeys']},MUR" for r in rows]
    path = tmp_path_factory.mktemp("survey-prop") / "buildings.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    raw = read_survey_file(path)
    checked = validate(to_canonical(raw, kind_spec("buildings")), _survey_context(), raw.problems)
    errors_mask = error_mask(checked.problems, checked.num_rows)
    quarantined = [n for n, e in zip(checked.row_numbers.to_pylist(), errors_mask.to_pylist()) if e]
    assert quarantined == [i for i, r in enumerate(rows, start=2) if not r["ok"]]  # spreadsheet rows (header = 1)
    errors = checked.problems.filter(pa.compute.equal(checked.problems.column("issue_severity"), "error"))
    assert set(errors.column("raw_row_number").to_pylist()) == set(quarantined)
    assert set(errors.column("issue_column").to_pylist()) <= {"damage_grade", "storeys", "latitude", "longitude"}
    good = checked.table.filter(pa.compute.invert(errors_mask))
    assert good.column("building_id").to_pylist() == [r["building_id"] for r in rows if r["ok"]]
    assert good.column("damage_ems98_grade").to_pylist() == [int(r["grade"]) for r in rows if r["ok"]]


# --- the other parsers of outside text -----------------------------------------------------------------
_PARAMS = ["starttime", "endtime", "start", "end", "updatedafter", "minlatitude", "maxlat", "longitude", "latitude",
           "minradius", "maxradius", "mindepth", "minmagnitude", "minmag", "magnitudetype", "eventtype", "eventid",
           "limit", "offset", "orderby", "format", "nodata", "includeallorigins", "bogus", "LIMIT"]
_values = st.one_of(st.text(max_size=12), st.sampled_from(["2020-01-01", "2020-01-01T00:00:00", "-1", "0", "1", "91",
                                                          "nan", "inf", "1e308", "time-asc", "text", "404", "xml"]))


@settings(max_examples=300, deadline=None)
@given(params=st.dictionaries(st.sampled_from(_PARAMS) | st.text(max_size=8), st.lists(_values, min_size=1, max_size=2),
                              max_size=6))
@pytest.mark.slow
def test_fdsn_query_parameters_give_a_query_or_a_query_error(params: dict[str, list[str]]) -> None:
    from catalogs.fdsnws_query import EventQuery, QueryError, parse_query

    try:
        q = parse_query(params)
    except QueryError as exc:
        assert str(exc)
        return
    assert isinstance(q, EventQuery)
    assert q.offset >= 1 and (q.limit is None or q.limit >= 1) and q.nodata in (204, 404)
    if q.starttime is not None and q.endtime is not None:
        assert q.starttime <= q.endtime


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.none(), st.text(max_size=40), st.integers(-10**6, 10**12).map(str),
                       st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1)).map(
                           lambda t: t.strftime("%a, %d %b %Y %H:%M:%S GMT"))))
def test_retry_after_is_none_or_a_non_negative_wait(value: str | None) -> None:
    from catalogs.fdsn import parse_retry_after

    wait = parse_retry_after(value)
    assert wait is None or (isinstance(wait, float) and wait >= 0 and not math.isnan(wait))


def _mutate_text(seed: str) -> st.SearchStrategy[str]:
    return st.builds(lambda at, cut, noise: seed[:at] + noise + seed[at + cut:],
                     st.integers(0, len(seed)), st.integers(0, 80), st.text(max_size=30))


def _seed(path: Path) -> str:
    return path.read_text(encoding="utf-8")


_QE_TOML = ('writer_wait_s = 5\noverlap_days = 2.0\nquery_row_limit = 1000\n[[providers]]\nname = "USGS"\npriority = 10\n'
            'url = "http://127.0.0.1:1"\n[pull]\nretry_attempts = 3\n[surveys]\naffected_radius_km = 100\n')


@FAST
@given(text=st.one_of(st.text(max_size=200), _mutate_text(_QE_TOML)))
def test_settings_files_give_settings_or_a_settings_error(text: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    from expedition.settings import Settings, SettingsError, load_settings

    root = tmp_path_factory.mktemp("settings")
    (root / "qe.toml").write_text(text, encoding="utf-8")
    try:
        s = load_settings(root)
    except SettingsError as exc:
        assert str(root / "qe.toml") in str(exc)
        return
    assert isinstance(s, Settings) and s.home == root


def _policy_seed() -> str:
    from importlib import resources

    return (resources.files("expedition.data") / "trigger_policy.toml").read_text(encoding="utf-8")


def _membership_seed() -> str:
    from importlib import resources

    return (resources.files("expedition.data") / "alliance_membership_APPROXIMATION.csv").read_text(encoding="utf-8")


@FAST
@given(text=st.one_of(st.text(max_size=200), _mutate_text(_policy_seed())))
def test_trigger_policy_text_gives_a_policy_or_a_policy_error(text: str) -> None:
    from expedition.decisions.policy import TriggerPolicy, parse_policy
    from expedition.errors import PolicyError

    try:
        assert isinstance(parse_policy(text, "policy.toml"), TriggerPolicy)
    except PolicyError as exc:
        assert str(exc).startswith("policy.toml")


@FAST
@given(text=st.one_of(st.text(max_size=200), _mutate_text(_membership_seed())))
def test_membership_text_gives_a_membership_or_a_policy_error(text: str) -> None:
    from expedition.decisions.membership import Membership, parse_membership
    from expedition.errors import PolicyError

    try:
        assert isinstance(parse_membership(text, "members.csv"), Membership)
    except PolicyError as exc:
        assert str(exc).startswith("members.csv")


_MAPPING_SEEDS = sorted((Path(__file__).parents[1] / "expedition" / "surveys" / "mappings").glob("*.toml"))


@FAST
@given(text=st.one_of(st.text(max_size=200), st.sampled_from([_seed(p) for p in _MAPPING_SEEDS]).flatmap(_mutate_text)))
def test_mapping_files_give_a_mapping_or_a_mapping_error(text: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    from expedition.errors import SurveyError
    from expedition.surveys.mapping import Mapping, load_mapping

    assume(text.strip() != "")
    path = tmp_path_factory.mktemp("mapping") / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    try:
        assert isinstance(load_mapping(path), Mapping)
    except SurveyError as exc:
        assert "mapping" in str(exc).lower()
