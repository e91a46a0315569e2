"""Readers, mappings and vectorised validation without a lake (fast unit tests)."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import pyarrow as pa
import pytest

from expedition.surveys import parse
from expedition.surveys import validate as validate_module
from expedition.surveys.errors import MappingError, SurveyInputError
from expedition.surveys.kinds import INTENSITY_SCALE, kind_spec
from expedition.surveys.mapping import detect_kind, load_mapping, to_canonical
from expedition.surveys.readers import read_survey_file
from expedition.surveys.validate import validate
from tests.survey_support import DATA, gorkha_context, write_csv


def _check(path: Path, **kw: object) -> tuple[pa.Table, pa.Table]:
    raw = read_survey_file(path)
    canon = to_canonical(raw, **kw)  # type: ignore[arg-type]
    v = validate(canon, gorkha_context(), raw.problems, file_name=path.name)
    return v.table, v.problems


def test_numbers_fall_back_to_per_value_parsing() -> None:
    got = parse.numbers(pa.array(["1.5", " 2", "abc", None, "1e3"]))
    assert got.to_pylist() == [1.5, 2.0, None, None, 1000.0]


def test_times_with_offsets_naive_in_file_zone_and_bad_values() -> None:
    assert parse.times(pa.array(["2015-05-02T10:00:00+05:45", "2015-05-02T04:15:00Z"])).to_pylist() == [
        dt.datetime(2015, 5, 2, 4, 15, tzinfo=dt.UTC)] * 2
    assert parse.times(pa.array(["2015-05-02 10:00:00"]), tz="+05:45").to_pylist() == [
        dt.datetime(2015, 5, 2, 4, 15, tzinfo=dt.UTC)]
    mixed = parse.times(pa.array(["2015-05-02 10:00:00", "2015-05-02T10:00:00+05:45", "2015-02-30", "soon"]),
                        tz="+05:45").to_pylist()
    assert mixed == [dt.datetime(2015, 5, 2, 4, 15, tzinfo=dt.UTC)] * 2 + [None, None]


def test_codes_and_intensities_accept_labels_aliases_and_roman_numerals() -> None:
    assert parse.codes_of(pa.array(["EMS-98", "gb/t 17742", "Modified Mercalli", "Rossi-Forel"]),
                          INTENSITY_SCALE).to_pylist() == ["ems98", "gbt17742", "mmi", None]
    assert parse.intensity_values(pa.array(["VII", "vi-vii", "8", "XIII"])).to_pylist() == [7.0, 6.5, 8.0, None]


def test_csv_with_semicolons_bom_and_blank_cells(tmp_path: Path) -> None:
    p = tmp_path / "b.csv"
    p.write_bytes("\ufeffbuilding_id;damage_grade;notes\nA;2;  \nB;;ok\n".encode())
    raw = read_survey_file(p)
    assert raw.table.column_names == ["building_id", "damage_grade", "notes"]
    assert raw.row_numbers.to_pylist() == [2, 3]
    table, problems = _check(p)
    assert table["observation_notes"].to_pylist() == [None, "ok"]
    assert table["damage_ems98_grade"].to_pylist() == [2, None] and problems.num_rows == 0


def test_semicolon_csv_reads_decimal_commas_and_nothing_else(tmp_path: Path) -> None:
    """A spreadsheet in a decimal-comma locale (es, de, fr, ru, tr, id...) saves ';' and 27,68. Only the
    shape digits,digits is read that way: 1.234,5 and 1,234,5 stay errors, and a ',' file keeps "27,68" as
    an error (there it could be a thousands separator)."""
    gorkha = "building_id;surveyed_time;latitude;longitude;damage_grade;plinth_area_m2\n"
    p = write_csv(tmp_path / "es.csv", gorkha + "D-1;2015-04-26 09:30;27,68;85,07;3;45,5\n"
                                              "D-2;2015-04-26 09:30;27.69;85.07;3;1.234,5\n"
                                              "D-3;2015-04-26 09:30;-27,7x;85,1;2;1,234,5\n")
    table, problems = _check(p)
    assert table["site_latitude_deg"].to_pylist()[:2] == [27.68, 27.69]
    assert table["site_longitude_deg"].to_pylist()[:2] == [85.07, 85.07]
    assert table["typology_plinth_area_m2"].to_pylist() == [45.5, None, None]
    bad = set(zip(problems["raw_row_number"].to_pylist(), problems["issue_column"].to_pylist(),
                  problems["issue_value"].to_pylist()))
    assert bad == {(3, "plinth_area_m2", "1.234,5"), (4, "latitude", "-27,7x"), (4, "plinth_area_m2", "1,234,5")}
    q = write_csv(tmp_path / "en.csv", gorkha.replace(";", ",") + 'D-1,2015-04-26 09:30,"27,68",85.07,3,"1,234"\n')
    table, problems = _check(q)
    assert table["site_latitude_deg"].to_pylist() == [None] and table["typology_plinth_area_m2"].to_pylist() == [None]
    assert set(problems["issue_column"].to_pylist()) == {"latitude", "plinth_area_m2"}


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_bytes(b"a,b\n\xff\xfe,1\n")
    with pytest.raises(SurveyInputError, match="x.csv: not UTF-8"):
        read_survey_file(tmp_path / "x.csv")
    (tmp_path / "x.xlsx").write_text("not a workbook")
    with pytest.raises(SurveyInputError, match="x.xlsx: not a readable XLSX"):
        read_survey_file(tmp_path / "x.xlsx")
    with pytest.raises(SurveyInputError, match="ragged.csv: not a readable CSV file: row 3 has 3 columns, the header has 2"):
        read_survey_file(write_csv(tmp_path / "ragged.csv", "a,b\n1,2\n3,4,5"))
    with pytest.raises(SurveyInputError, match="unsupported file type '.pdf'"):
        read_survey_file(write_csv(tmp_path / "x.pdf", "x"))
    # a gzipped export (as the Nepal 2015 labels are published) says it is compressed and what is inside
    gz = tmp_path / "labels.csv.gz"
    gz.write_bytes(gzip.compress(b"building_id,damage_grade\n1,3\n"))
    with pytest.raises(SurveyInputError, match=r"labels\.csv\.gz: a compressed file \(\.gz\).*decompress it first "
                                               r"\(inside: '\.csv'"):
        read_survey_file(gz)


@pytest.mark.parametrize(("body", "bad_row"), [
    ('A,"open\nB,2\nC,3\n', 2),          # early: swallows the rest, line breaks and all
    ("A,1\nB,2\nC,\"open", 4),             # on the last line, no line break after it
    ("A,1\nB,2\nC,\"open\n", 4),           # on the last line, a line break after it
    ("A,1\n" * 30_000 + 'C,"open\n' + "D,4\n" * 3, 30_002),  # far from the file's tail
])
def test_an_unclosed_quote_anywhere_is_an_error(tmp_path: Path, body: str, bad_row: int) -> None:
    p = tmp_path / "q.csv"
    p.write_text("building_id,notes\n" + body, encoding="utf-8")  # as given: with or without a final line break
    with pytest.raises(SurveyInputError, match=f"row {bad_row} opens a quoted value that is never closed"):
        read_survey_file(p)


def test_closed_quotes_line_breaks_and_inch_marks_are_fine(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "q.csv", 'building_id,notes\nA,"say ""hi"""\nB,5" crack\n' + "B,2\n" * 30_000
                  + 'C,"two\nlines"\n')
    raw = read_survey_file(p)
    assert raw.num_rows == 30_003
    notes = raw.table["notes"].to_pylist()
    assert notes[0] == 'say "hi"' and notes[1] == '5" crack' and notes[-1] == "two\nlines"


def test_kind_is_detected_from_columns_or_refused() -> None:
    assert detect_kind(["network", "station", "start_time"]).name == "stations"
    assert detect_kind(["grp/intensity", "grp/scale"]).name == "intensity"
    with pytest.raises(SurveyInputError, match="pass --kind"):
        detect_kind(["foo", "bar"])


def test_an_earthquake_catalog_is_not_taken_for_a_survey(tmp_path: Path) -> None:
    """A ComCat export has latitude, longitude, depth and type: it was read as ground failure, every row
    quarantined. Detection now says what the file is and which command reads it."""
    catalog = Path(__file__).parent / "data" / "catalogs" / "comcat_bom.csv"
    raw = read_survey_file(catalog)
    with pytest.raises(SurveyInputError, match=r"earthquake catalog .*expedition catalog import"):
        to_canonical(raw)
    kaggle = write_csv(tmp_path / "k.csv", "Date,Time,Latitude,Longitude,Type,Depth,Magnitude,ID\n"
                                         "01/02/1965,13:44:18,19.246,145.616,Earthquake,131.6,6,ISCGEM860706\n")
    with pytest.raises(SurveyInputError, match="earthquake catalog"):
        to_canonical(read_survey_file(kaggle))
    # a ground-failure sheet with the same coordinates and a type is still one
    gf = write_csv(tmp_path / "gf.csv", "latitude,longitude,depth,type\n27.7,85.3,1.5,landslide\n")
    assert to_canonical(read_survey_file(gf)).kind.name == "ground_failure"


def test_a_table_without_the_kinds_required_column_is_not_detected_as_that_kind(tmp_path: Path) -> None:
    """GEM's district tables (OCCUPANCY, GEM_TAXONOMY, COMMENTS; LATITUDE/LONGITUDE in some) were taken for
    buildings without a building id, every row quarantined; one was taken for lifelines (SLIGHT_DAMAGE)."""
    gem = write_csv(tmp_path / "Impact_Buildings_ID_1.csv",
                    "ID_1,NAME_1,DAMAGED_UNITS,OCCUPANCY,GEM_TAXONOMY,COMMENTS\n1,Hatay,1000,All,,from StEER\n")
    with pytest.raises(SurveyInputError, match=r"Impact_Buildings_ID_1\.csv: cannot tell the survey kind .*"
                                               r"look most like buildings, but no column gives building_id "
                                               r"\(required\); pass --kind"):
        to_canonical(read_survey_file(gem))
    with pytest.raises(SurveyInputError, match="look most like lifelines, but no column gives element_type"):
        detect_kind(["ID_0", "SLIGHT_DAMAGE", "COMMENTS"])
    # with --kind the file is read as told, and the missing id is reported row by row
    assert to_canonical(read_survey_file(gem), kind=kind_spec("buildings")).kind.name == "buildings"
    assert detect_kind(["building_id", "occupancy"]).name == "buildings"


def test_geopoints_and_geotraces(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "gf.csv", """
failure_type,location,trace
landslide,27.9 85.6 1200 5,
surface_rupture,,27.70 85.30 0 0;27.71 85.31 0 0;27.72 85.33 0 0
rockfall,abc,
surface_rupture,,27.70 85.30 0 0
""")
    table, problems = _check(p)
    import shapely

    geoms = shapely.from_wkb(table["site_geometry"].to_pylist())
    assert [g.geom_type if g is not None else None for g in geoms] == ["Point", "LineString", None, None]
    assert (geoms[0].x, geoms[0].y) == (85.6, 27.9)
    assert list(geoms[1].coords)[2] == (85.33, 27.72)
    assert table["site_latitude_deg"].to_pylist()[:2] == [27.9, 27.70]
    assert sorted(zip(problems["raw_row_number"].to_pylist(), problems["issue_check"].to_pylist())) == [
        (4, "type"), (5, "geometry")]


def test_mapping_units_values_flags_constants_and_concat(tmp_path: Path) -> None:
    m = tmp_path / "m.toml"
    m.write_text("""
[mapping]
kind = "buildings"
[columns]
building_id = "id"
typology_plinth_area_m2 = "area_sqft"
typology_height_m = "h_ft"
damage_local_grade = "dmg"
damage_ems98_grade = "dmg"
[values.damage_ems98_grade]
"Grade 1" = "1"
"grade 5" = "5"
[units]
typology_plinth_area_m2 = "sq_ft"
typology_height_m = "ft"
[constants]
damage_local_scale = "NPC"
[flags.typology_material]
rc = "CR"
stone = "MUR"
[concat.site_admin_code]
columns = ["d", "w"]
separator = "-"
""")
    p = write_csv(tmp_path / "v.csv", "id,area_sqft,h_ft,dmg,rc,stone,d,w\nA,100,10,Grade 1,No,Yes,12,3\nB,,,GRADE 5,yes,yes,12,")
    table, problems = _check(p, mapping=load_mapping(m))
    rows = table.to_pylist()
    assert [r["typology_plinth_area_m2"] for r in rows] == [pytest.approx(9.290304), None]
    assert [r["typology_height_m"] for r in rows] == [pytest.approx(3.048), None]
    assert [(r["damage_ems98_grade"], r["damage_local_grade"]) for r in rows] == [(1, "Grade 1"), (5, "GRADE 5")]
    assert [r["typology_material"] for r in rows] == ["MUR", "CR"]
    assert [r["site_admin_code"] for r in rows] == ["12-3", None]
    assert {r["damage_local_scale"] for r in rows} == {"NPC"} and problems.num_rows == 0


def test_yaml_mapping_and_mapping_errors(tmp_path: Path) -> None:
    y = tmp_path / "m.yaml"
    y.write_text("mapping: {kind: lifelines}\ncolumns: {element_type: kind, element_id: ref}\n")
    table, _ = _check(write_csv(tmp_path / "l.csv", "ref,kind\nR1,Bridge"), mapping=load_mapping(y))
    assert table.select(["element_id", "element_type"]).to_pylist() == [{"element_id": "R1", "element_type": "bridge"}]
    bad = tmp_path / "bad.toml"
    bad.write_text('[mapping]\nkind = "buildings"\n[columns]\nroof_colour = "c"\n')
    with pytest.raises(MappingError, match="'roof_colour' is not a field of buildings"):
        load_mapping(bad)
    bad.write_text('[mapping]\nkind = "buildings"\n[columns]\ntypology_height_m = "h"\n[units]\ntypology_height_m = "cubits"\n')
    with pytest.raises(MappingError, match="unknown unit"):
        load_mapping(bad)
    bad.write_text('[mapping]\nkind = "buildings"\n[columns]\nbuilding_id = "bid"\n')
    with pytest.raises(MappingError, match="reads column 'bid', which l.csv does not have"):
        _check(tmp_path / "l.csv", mapping=load_mapping(bad))
    assert kind_spec("ground-failure").name == "ground_failure"


def test_duplicates_and_distance_warnings_without_a_lake(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "d.csv", "building_id,latitude,longitude\nA,27.7,85.3\nA,27.7,85.3\nB,40.0,116.4")
    table, problems = _check(p)
    got = sorted(zip(problems["raw_row_number"].to_pylist(), problems["issue_check"].to_pylist(),
                     problems["issue_severity"].to_pylist()))
    assert got == [(3, "duplicate", "error"), (4, "affected_area", "warning")]
    assert table["observation_id"].to_pylist() == ["A", "A", "B"]
    same = write_csv(tmp_path / "i.csv", "scale,intensity\nEMS-98,VII\nEMS-98,VII\nEMS-98,VIII")
    table, problems = _check(same)
    assert table["observation_id"][0].as_py().startswith("sha256:")
    assert problems.select(["raw_row_number", "issue_value", "issue_reason"]).to_pylist() == [
        {"raw_row_number": 3, "issue_value": None, "issue_reason": "same observation as row 2 (identical values)"}]
    assert (DATA / "buildings_odk_export.csv").is_file()


@pytest.mark.parametrize("threads", [False, True])
def test_repeated_building_ids_found_on_one_thread_and_on_two(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              threads: bool) -> None:
    if threads:  # the path large files take: field checks and the id check on the pool
        monkeypatch.setattr(validate_module, "_PARALLEL_ROWS", 1)
    distinct = write_csv(tmp_path / "u.csv", "building_id,latitude,longitude\nA,27.7,85.3\nB,27.8,85.3")
    assert _check(distinct)[1].num_rows == 0
    again = write_csv(tmp_path / "r.csv", "building_id,latitude,longitude\nA,27.7,85.3\nB,27.8,85.3\nA,27.7,85.4")
    problems = _check(again)[1]
    assert problems.select(["raw_row_number", "issue_check", "issue_reason"]).to_pylist() == [
        {"raw_row_number": 4, "issue_check": "duplicate", "issue_reason": "same observation as row 2"}]


def test_a_date_alone_counts_the_whole_mainshock_day(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "w.csv", """
building_id,surveyed_time
A,2015-04-25
B,2015-04-25T05:00:00Z
C,2015-04-24
""")
    _, problems = _check(p)
    assert list(zip(problems["raw_row_number"].to_pylist(), problems["issue_check"].to_pylist())) == [
        (3, "time_window"), (4, "time_window")]


@pytest.mark.parametrize(("lat0", "lon0", "radius"), [(28.231, 84.731, 150.0), (-60.0, 179.9, 3000.0),
                                                      (89.9, 0.0, 500.0), (0.0, 0.0, 19_000.0), (10.0, 20.0, 0.0)])
def test_the_cheap_distance_bound_never_leaves_out_a_far_site(lat0: float, lon0: float, radius: float) -> None:
    """Sites the bound leaves out are within the radius by the exact haversine, including sites
    right at the circle, across the antimeridian and at the poles; nulls are never candidates."""
    import numpy as np
    import pyarrow.compute as pc

    from expedition.surveys import geometry as geo

    rng = np.random.default_rng(18)
    n = 200_000
    lat, lon = rng.uniform(-90, 90, n), rng.uniform(-180, 180, n)
    spread = radius / 111.195 + 0.01  # a band around the circle
    lat[: n // 2] = np.clip(lat0 + rng.normal(0, spread, n // 2), -90, 90)
    lon[: n // 2] = lon0 + rng.normal(0, spread, n // 2)
    lat[7] = np.nan
    la, lo = pa.array(lat, from_pandas=True), pa.array(lon)
    far = np.asarray(pc.fill_null(pc.greater(geo.distance_km(la, lo, lat0, lon0), radius), False))
    candidates = geo.maybe_beyond_km(la, lo, lat0, lon0, radius)
    assert not (far & ~candidates).any()
    assert not candidates[7]
    if 0 < radius < 5000:  # a useful bound: most sites well inside are left out
        inside = ~far[: n // 2]
        assert candidates[: n // 2][inside].mean() < 0.5


def test_choice_columns_stay_coded_text(tmp_path: Path) -> None:
    p = write_csv(tmp_path / "b.csv", "building_id,material,action\nA,Mur,Major repair\nB,,none\nC,adobe,NONE")
    table, problems = _check(p)
    assert pa.types.is_dictionary(table["typology_material"].type)
    assert table["typology_material"].to_pylist() == ["MUR", None, None]
    assert table["action_recommended"].to_pylist() == ["major_repair", "none", "none"]
    assert problems["raw_row_number"].to_pylist() == [4] and problems["issue_check"].to_pylist() == ["vocabulary"]


def test_number_and_time_columns_with_blank_cells_still_read(tmp_path: Path) -> None:
    """A column typed without a blank pass when it has no blank cell takes the blank-to-null way
    when it has one (number, time and choice columns)."""
    p = write_csv(tmp_path / "b.csv", "building_id,damage_grade,surveyed_time,material\nA, ,2015-04-26T10:00:00,MUR\n"
                                       "B,3,  ,\t\nC,2,2015-04-27T10:00:00,CR\n")
    table, problems = _check(p)
    assert table["damage_ems98_grade"].to_pylist() == [None, 3, 2]
    assert table["typology_material"].to_pylist() == ["MUR", None, "CR"]
    assert table["surveyed_time_utc"].to_pylist()[1] is None and problems.num_rows == 0


def _survey_files() -> list[Path]:
    bad = DATA.parent / "bad"
    return sorted(DATA.glob("*.*")) + sorted(p for p in bad.glob("survey_*") if p.suffix in (".csv", ".geojson"))


@pytest.mark.parametrize("path", _survey_files(), ids=lambda p: p.name)
def test_the_pool_gives_what_one_thread_gives(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large files check fields, ids and the site on a pool: the same rows and problems, in the same
    order, as one thread (or the same refusal)."""
    ctx = gorkha_context()

    def check() -> tuple[pa.Table, pa.Table] | str:
        try:
            raw = read_survey_file(path)
            v = validate(to_canonical(raw), ctx, raw.problems, file_name=path.name)
        except (SurveyInputError, MappingError) as exc:
            return str(exc)
        return v.table, v.problems

    serial = check()
    monkeypatch.setattr(validate_module, "_PARALLEL_ROWS", 1)
    pooled = check()
    if isinstance(serial, str):
        assert pooled == serial
        return
    assert not isinstance(pooled, str)
    assert serial[0].num_rows > 0
    assert pooled[0].equals(serial[0]) and pooled[1].equals(serial[1])
