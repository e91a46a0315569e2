"""Survey ingestion into a real lake: ODK/Kobo exports, quarantine, --strict, re-ingest, supersession."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from expedition.surveys.context import context_for
from expedition.surveys.errors import SurveyRejected, UnknownExpedition
from expedition.surveys.ingest import ingest_file
from tests.survey_support import (
    DATA,
    GORKHA_TIME,
    seed_expedition,
    write_csv,
)


@pytest.fixture
def mlake(survey_lake: Any) -> Any:
    return survey_lake


class _Reader:
    """One read-only lake connection for all the checks of a test (connections are costly)."""

    def __init__(self, lake: Any) -> None:
        self.lake = lake
        self.con: Any = None

    def __call__(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        if self.con is None:
            self.con = self.lake.connect(read_only=True, spatial=True)
        rows: list[dict[str, Any]] = self.con.execute(sql, params).to_arrow_table().to_pylist()
        return rows

    def reset(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None


@pytest.fixture
def q(mlake: Any) -> Iterator[_Reader]:
    reader = _Reader(mlake)
    yield reader
    reader.reset()


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_kobo_export_ingests_without_mapping(mlake: Any, q: _Reader) -> None:
    exp = seed_expedition(mlake)
    src = DATA / "buildings_odk_export.csv"
    report = ingest_file(mlake, src, context_for(mlake, exp))
    source = _csv_rows(src)
    assert (report.kind, report.rows_read, report.rows_landed, report.errors) == ("buildings", len(source), len(source), 0)
    assert report.column_sources["damage_ems98_grade"] == "building/damage_grade"
    assert "_submission_time" in report.ignored_columns and "formhub/uuid" in report.ignored_columns
    got = {r["building_id"]: r for r in q(
        "SELECT *, ST_X(site_geometry) AS x, ST_Y(site_geometry) AS y FROM survey_buildings WHERE expedition_id = ?",
        [exp])}
    for row in source:
        b = got[row["building/building_id"]]
        assert b["damage_ems98_grade"] == int(row["building/damage_grade"])
        assert b["surveyed_time_utc"] == dt.datetime.fromisoformat(row["start"]).astimezone(dt.UTC)
        assert (b["y"], b["x"]) == (float(row["_location_latitude"]), float(row["_location_longitude"]))
        assert b["submission_uuid"] == row["_uuid"]
        assert b["photo_refs"] == (";".join(p for p in (row["photo_1"], row["photo_2"]) if p) or None)
        assert b["raw_sha256"] == report.raw_sha256


def test_odk_central_dash_groups_and_split_geopoint(mlake: Any, q: _Reader) -> None:
    exp = seed_expedition(mlake)
    src = DATA / "buildings_odk_central.csv"
    report = ingest_file(mlake, src, context_for(mlake, exp))
    assert report.rows_landed == 2 and report.errors == 0
    assert report.column_sources["site_latitude_deg"] == "site-location-Latitude"
    assert report.column_sources["damage_local_grade"] == "building-local-grade"
    got = q("SELECT building_id, site_latitude_deg, damage_local_grade, typology_llrs FROM survey_buildings "
                       "WHERE expedition_id = ? ORDER BY building_id", [exp])
    source = sorted(_csv_rows(src), key=lambda r: r["building-building_id"])
    assert [(g["building_id"], g["site_latitude_deg"], g["damage_local_grade"], g["typology_llrs"]) for g in got] == [
        (s["building-building_id"], float(s["site-location-Latitude"]), s["building-local-grade"], s["building-llrs"])
        for s in source]


def _bad_file(tmp: Path) -> Path:
    next_year = dt.date.today().year + 1
    return write_csv(tmp / "buildings_day3.csv", f"""
building_id,latitude,longitude,damage_grade,material,surveyed_time,surveyor
B-001,27.70,85.32,2,MUR,2015-05-02T10:00:00Z,Anita
B-002,91.00,85.32,3,MUR,2015-05-02T10:05:00Z,Anita
B-003,27.71,85.33,7,CR,2015-05-02T10:10:00Z,Anita
B-004,27.72,85.34,1,W,{next_year}-05-02T10:15:00Z,Anita
B-005,27.73,85.35,4,plastic,2015-05-02T10:20:00Z,Anita
B-001,27.70,85.32,2,MUR,2015-05-02T10:25:00Z,Anita
B-006,28.61,77.21,1,CR,2015-05-03T10:00:00Z,Anita
""")


def test_bad_rows_are_quarantined_with_file_row_column_value_expected(mlake: Any, tmp_path: Path, q: _Reader) -> None:
    exp = seed_expedition(mlake)
    report = ingest_file(mlake, _bad_file(tmp_path), context_for(mlake, exp))
    assert (report.rows_read, report.rows_landed, report.rows_quarantined) == (7, 2, 5)
    assert report.warnings == 1  # B-006 is in Delhi: far outside the affected area, but it lands
    quarantine = q("SELECT * FROM survey_quarantine WHERE expedition_id = ? ORDER BY raw_row_number", [exp])
    found = {(q["raw_row_number"], q["issue_column"], q["issue_check"]): q for q in quarantine}
    assert set(found) == {(3, "latitude", "range"), (4, "damage_grade", "range"), (5, "surveyed_time", "time_window"),
                          (6, "material", "vocabulary"), (7, "building_id", "duplicate")}
    assert {q["raw_file_name"] for q in quarantine} == {"buildings_day3.csv"}
    lat = found[(3, "latitude", "range")]
    assert lat["issue_value"] == "91.00" and "between -90 and 90" in lat["issue_expected"]
    assert found[(4, "damage_grade", "range")]["issue_value"] == "7"
    assert "expedition window" in found[(5, "surveyed_time", "time_window")]["issue_expected"]
    assert "MUR" in found[(6, "material", "vocabulary")]["issue_expected"]
    assert found[(7, "building_id", "duplicate")]["issue_reason"] == "same observation as row 2"
    assert json.loads(found[(6, "material", "vocabulary")]["raw_row_json"])["material"] == "plastic"
    landed = q("SELECT building_id FROM survey_buildings WHERE expedition_id = ? ORDER BY 1", [exp])
    assert [r["building_id"] for r in landed] == ["B-001", "B-006"]
    warn = q("SELECT * FROM survey_warnings WHERE expedition_id = ?", [exp])
    assert [(w["raw_row_number"], w["issue_check"]) for w in warn] == [(8, "affected_area")]
    assert warn[0]["issue_value"].endswith(" km") and float(warn[0]["issue_value"][:-3]) > 500


def test_strict_rejects_the_whole_file_and_writes_nothing(mlake: Any, tmp_path: Path, q: _Reader) -> None:
    exp = seed_expedition(mlake)
    with pytest.raises(SurveyRejected, match="rejected") as info:
        ingest_file(mlake, _bad_file(tmp_path), context_for(mlake, exp), strict=True)
    assert any("row 3, column 'latitude'" in p for p in info.value.problems)
    for table in ("survey_buildings", "survey_issues"):
        assert q(f"SELECT count(*) AS n FROM {table} WHERE expedition_id = ?", [exp])[0]["n"] == 0


def test_reingest_is_a_no_op_and_corrected_file_supersedes(mlake: Any, tmp_path: Path, q: _Reader) -> None:
    exp = seed_expedition(mlake)
    ctx = context_for(mlake, exp)
    bad = _bad_file(tmp_path)
    first = ingest_file(mlake, bad, ctx)
    snap = mlake.current_snapshot()
    again = ingest_file(mlake, bad, ctx)
    assert again.already_ingested and again.batch_id == first.batch_id
    assert mlake.current_snapshot() == snap  # nothing was written
    assert q("SELECT count(*) AS n FROM survey_buildings WHERE expedition_id = ?", [exp])[0]["n"] == 2

    fixed_dir = tmp_path / "fixed"
    fixed_dir.mkdir()
    text = bad.read_text().replace("91.00", "27.70").replace(",7,CR", ",3,CR").replace("plastic", "MUR")
    text = text.replace(f"{dt.date.today().year + 1}-05-02", "2015-05-02")
    fixed = write_csv(fixed_dir / "buildings_day3.csv", text)
    report = ingest_file(mlake, fixed, ctx)
    # B-001 and B-006 are unchanged, B-002..B-005 land now, the repeated B-001 is still a duplicate
    assert (report.rows_landed, report.rows_unchanged, report.rows_quarantined) == (4, 2, 1)
    assert report.superseded == 5
    open_errors = q("SELECT raw_sha256, raw_row_number FROM survey_quarantine WHERE expedition_id = ?", [exp])
    assert [(e["raw_sha256"], e["raw_row_number"]) for e in open_errors] == [(report.raw_sha256, 7)]
    old = q("SELECT superseded, superseded_by_raw_sha256 FROM survey_issues "
                       "WHERE expedition_id = ? AND raw_sha256 = ? AND issue_severity = 'error'", [exp, first.raw_sha256])
    assert len(old) == 5 and all(o["superseded"] and o["superseded_by_raw_sha256"] == report.raw_sha256 for o in old)
    # the re-ingest and the corrected file (whose staged files were written again) left no stray file
    listed = {Path(r["data_file"]).resolve() for r in q("SELECT data_file FROM ducklake_list_files('lake', ?)",
                                                        ["survey_buildings_obs"])}
    # this expedition's files only: the session's lake holds other tests' expeditions too
    on_disk = {p.resolve() for p in Path(mlake.data_path).rglob(f"expedition_id={exp}/qe-bulk-*")}
    assert on_disk and on_disk <= listed


def _a_then_b(mlake: Any, tmp_path: Path, a_rows: str, b_rows: str) -> tuple[str, Any]:
    """A new expedition; ``a.csv`` then ``b.csv`` (building_id,damage_grade rows) ingested into it.
    Returns (expedition id, the report of b.csv)."""
    exp = seed_expedition(mlake)
    ctx = context_for(mlake, exp)
    ingest_file(mlake, write_csv(tmp_path / "a.csv", "building_id,damage_grade\n" + a_rows), ctx)
    return exp, ingest_file(mlake, write_csv(tmp_path / "b.csv", "building_id,damage_grade\n" + b_rows), ctx)


def test_same_building_with_other_values_in_another_file_is_a_conflict(mlake: Any, tmp_path: Path, q: _Reader) -> None:
    exp, report = _a_then_b(mlake, tmp_path, "K-1,2\nK-2,3", "K-2,3\nK-1,4\nK-3,1")
    assert (report.rows_landed, report.rows_unchanged, report.rows_quarantined) == (1, 1, 1)
    (row,) = q("SELECT * FROM survey_quarantine WHERE expedition_id = ?", [exp])
    assert (row["raw_file_name"], row["raw_row_number"], row["issue_check"]) == ("b.csv", 3, "duplicate")
    assert row["issue_reason"] == "already landed from a.csv row 2 with other values"


def test_a_repeat_that_also_differs_from_the_lake_is_recorded_once(mlake: Any, tmp_path: Path, q: _Reader) -> None:
    exp, report = _a_then_b(mlake, tmp_path, "K-1,2", "K-1,4\nK-1,4")
    # row 3 repeats row 2 inside the file and differs from what landed: two problems, one issue id
    assert (report.rows_landed, report.rows_quarantined, report.errors) == (0, 2, 3)
    rows = q("SELECT issue_id, raw_row_number, issue_reason FROM survey_issues WHERE expedition_id = ? "
             "AND raw_file_name = 'b.csv' ORDER BY raw_row_number", [exp])
    assert [(r["raw_row_number"], r["issue_reason"]) for r in rows] == [
        (2, "already landed from a.csv row 2 with other values"), (3, "same observation as row 2")]
    assert len({r["issue_id"] for r in rows}) == 2


def test_unknown_expedition_is_a_clear_error(mlake: Any) -> None:
    with pytest.raises(UnknownExpedition, match="unknown expedition ID 'EXP-2015-NPL-999'"):
        context_for(mlake, "EXP-2015-NPL-999")


def test_context_comes_from_the_expedition_record(mlake: Any) -> None:
    from expedition.surveys.context import affected_radius_km

    exp = seed_expedition(mlake, end_date=dt.date(2015, 6, 30))
    ctx = context_for(mlake, exp)
    assert ctx.window_start_utc == GORKHA_TIME
    assert ctx.window_end_utc == dt.datetime(2015, 6, 30, 23, 59, 59, tzinfo=dt.UTC)
    assert ctx.affected_radius_km == pytest.approx(affected_radius_km(7.8))


def test_geojson_points_and_a_linestring(mlake: Any, tmp_path: Path, q: _Reader) -> None:
    exp = seed_expedition(mlake)
    ctx = context_for(mlake, exp)
    report = ingest_file(mlake, DATA / "ground_failure.geojson", ctx)
    assert (report.kind, report.rows_landed, report.errors) == ("ground_failure", 2, 0)
    got = q("SELECT failure_id, failure_type, ST_GeometryType(site_geometry)::VARCHAR AS t, "
                       "ST_NPoints(site_geometry) AS n FROM survey_ground_failure WHERE expedition_id = ? ORDER BY 1", [exp])
    src = json.loads((DATA / "ground_failure.geojson").read_text())["features"]
    assert [(g["failure_id"], g["t"].upper(), g["n"]) for g in got] == [
        (f["properties"]["failure_id"], f["geometry"]["type"].upper(),
         1 if f["geometry"]["type"] == "Point" else len(f["geometry"]["coordinates"])) for f in src]
    poly = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"failure_type": "landslide"},
            "geometry": {"type": "Polygon", "coordinates": [[[85, 27], [85.1, 27], [85.1, 27.1], [85, 27]]]}}]}
    (tmp_path / "poly.geojson").write_text(json.dumps(poly))
    bad = ingest_file(mlake, tmp_path / "poly.geojson", ctx, kind="ground_failure")
    assert bad.rows_quarantined == 1 and bad.problems is not None
    assert bad.problems.column("issue_check").to_pylist() == ["geometry"]


def test_kobo_xlsx_with_formulas_never_evaluates_them(mlake: Any, tmp_path: Path, q: _Reader) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["_uuid", "surveyed_time", "building/building_id", "building/damage_grade", "building/storeys",
               "site/location", "_index"])
    ws.append(["u-1", dt.datetime(2015, 5, 2, 9, 0), "X-1", 3, 2, "27.7 85.3 1300 5", 1])
    ws.append(["u-2", dt.datetime(2015, 5, 2, 9, 30), "X-2", "=D2+1", 1, "27.71 85.31 1300 5", 2])
    wb.save(tmp_path / "kobo_export.xlsx")
    report = ingest_file(mlake, tmp_path / "kobo_export.xlsx", context_for(mlake, seed_expedition(mlake)))
    assert (report.rows_landed, report.rows_quarantined) == (1, 1)
    assert report.problems is not None
    (p,) = report.problems.to_pylist()
    assert (p["raw_row_number"], p["issue_column"], p["issue_check"], p["issue_value"]) == (
        3, "building/damage_grade", "formula", "=D2+1")


@pytest.mark.slow
def test_intensity_lifelines_and_stations(mlake: Any, tmp_path: Path, q: _Reader) -> None:
    exp = seed_expedition(mlake)
    ctx = context_for(mlake, exp)
    for name, kind in (("intensity_field.csv", "intensity"), ("lifelines.csv", "lifelines"), ("stations.csv", "stations")):
        report = ingest_file(mlake, DATA / name, ctx)
        assert (report.kind, report.errors, report.rows_landed) == (kind, 0, len(_csv_rows(DATA / name)))
    got = q("SELECT site_id, intensity_value, intensity_scale_name FROM survey_intensity "
                       "WHERE expedition_id = ? ORDER BY site_id", [exp])
    roman = {"IX": 9.0, "VII-VIII": 7.5, "6": 6.0}
    scale = {"EMS-98": "ems98", "MMI": "mmi"}
    with open(DATA / "intensity_field.csv", newline="") as fh:
        src = sorted(csv.DictReader(fh, delimiter=";"), key=lambda r: r["site_id"])
    assert [(g["site_id"], g["intensity_value"], g["intensity_scale_name"]) for g in got] == [
        (s["site_id"], roman[s["intensity"]], scale[s["scale"]]) for s in src]
    late = write_csv(tmp_path / "st.csv",
                     "network,station,start_time,end_time\nXQ,BAD01,2015-05-05T00:00:00Z,2015-05-01T00:00:00Z")
    report = ingest_file(mlake, late, ctx)
    assert report.problems is not None and report.problems.column("issue_reason").to_pylist() == [
        "deployment ends before it starts"]


def test_a_file_that_cannot_be_read_is_still_archived(mlake: Any, tmp_path: Path) -> None:
    from expedition.surveys.errors import SurveyInputError
    from tests.survey_support import gorkha_context
    from warehouse.archive import sha256_file

    bad = write_csv(tmp_path / "ragged.csv", "building_id,damage_grade\nA,1\nB,2,3\n")
    before = mlake.current_snapshot()
    with pytest.raises(SurveyInputError, match="ragged.csv: not a readable CSV file: row 3 has 3 columns"):
        ingest_file(mlake, bad, gorkha_context(), raw_dir=tmp_path / "raw")
    sha = sha256_file(bad)
    assert (tmp_path / "raw" / sha[:2] / sha / "ragged.csv").read_bytes() == bad.read_bytes()
    assert not list((tmp_path / "raw").glob(".incoming.*")) and mlake.current_snapshot() == before


def _building_rows(n: int, prefix: str) -> str:
    lines = ["building_id,surveyed_time,latitude,longitude,damage_grade,material"]
    lines += [f"{prefix}{i},2015-05-02T09:10:00+05:45,{27.5 + i * 1e-5:.5f},85.3,{i % 6},{['MUR', 'CR', 'W'][i % 3]}"
              for i in range(n)]
    return "\n".join(lines)


def test_a_failure_while_the_transaction_is_open_stores_nothing(mlake: Any, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The lake transaction opens while the rows are checked: a failure then rolls it back (nothing
    stored, the writer lock released) and the raw file stays archived."""
    import expedition.surveys.ingest as ingest_module
    from tests.survey_support import gorkha_context
    from warehouse.archive import sha256_file

    src = write_csv(tmp_path / "b.csv", _building_rows(50, "FAIL-"))
    before = mlake.current_snapshot()

    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("validation broke")

    monkeypatch.setattr(ingest_module, "validate", broken)
    with pytest.raises(RuntimeError, match="validation broke"):
        ingest_file(mlake, src, gorkha_context(), raw_dir=tmp_path / "raw")
    sha = sha256_file(src)
    assert (tmp_path / "raw" / sha[:2] / sha / "b.csv").is_file() and mlake.current_snapshot() == before
    monkeypatch.undo()
    report = ingest_file(mlake, src, gorkha_context(), raw_dir=tmp_path / "raw")
    assert report.rows_landed == 50 and mlake.current_snapshot() != before


def test_several_bulk_files_are_one_batch_and_a_rerun_adds_nothing(mlake: Any, tmp_path: Path, q: _Reader,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.survey_support import gorkha_context
    from warehouse import bulk

    monkeypatch.setattr(bulk, "ROW_GROUP_ROWS", 500)  # 4,000 rows: several files
    src = write_csv(tmp_path / "many.csv", _building_rows(4000, "MANY-"))

    def files() -> set[str]:
        listed = q("SELECT data_file FROM ducklake_list_files('lake', 'survey_buildings_obs')", [])
        q.reset()
        return {f["data_file"] for f in listed}

    before = files()
    first = ingest_file(mlake, src, gorkha_context(), raw_dir=tmp_path / "raw")
    assert first.rows_landed == 4000 and not first.already_ingested, first.problem_lines(3)
    added = files() - before
    assert len(added) >= 2 and all(Path(f).name.startswith("qe-bulk-") for f in added)
    batches = q("SELECT count(DISTINCT ingest_batch_id) AS b, count(*) AS n, count(DISTINCT observation_id) AS ids "
                "FROM lake.survey_buildings_obs WHERE building_id LIKE 'MANY-%'", [])
    assert batches == [{"b": 1, "n": 4000, "ids": 4000}]
    q.reset()
    snapshot = mlake.current_snapshot()
    again = ingest_file(mlake, src, gorkha_context(), raw_dir=tmp_path / "raw")
    assert again.already_ingested and mlake.current_snapshot() == snapshot
    assert q("SELECT count(*) AS n FROM lake.survey_buildings_obs WHERE building_id LIKE 'MANY-%'", []) == [{"n": 4000}]
