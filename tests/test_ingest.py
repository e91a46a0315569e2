"""Lake ingest: association, preferred solutions, revisions, idempotence (real lake, real data)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from catalogs.errors import ParseError
from catalogs.ingest import event_detail, import_file, ingest_solutions
from tests.conftest import invoke_cli
from tests.fdsn_fixtures import (
    COMCAT_CSV,
    COMCAT_TEXT,
    lake_state,
    solution,
    table,
)

# The hand-made cases share one lake (module_lake): each uses its own quakes and ids and looks
# only at its own events (catalogs.ingest.event_detail by provider id).


def ingest(lake: Any, settings: Any, *rows: dict, name: str = "test") -> Any:
    return ingest_solutions(lake, table(*rows), "test_rows", name, f"memory:{name}", None, settings)


def detail(lake: Any, provider_event_id: str) -> dict[str, list[dict]]:
    found = event_detail(lake, provider_event_id)
    assert found is not None, provider_event_id
    return {k: v.to_pylist() for k, v in found.items()}


@pytest.mark.slow
def test_comcat_csv_and_its_text_twin_are_one_catalog(lake: Any, settings: Any, shared_data: Path) -> None:
    from catalogs.comcat_csv import parse_comcat_csv

    csv, text = shared_data / COMCAT_CSV, shared_data / COMCAT_TEXT
    distinct = len(set(parse_comcat_csv(csv).column("provider_event_id").to_pylist()))
    first = import_file(lake, settings, csv)
    assert (first.new_events, first.revised_events) == (distinct, 0)
    second = import_file(lake, settings, text)
    assert (second.new_events, second.revised_events, second.unchanged) == (0, 0, distinct)
    snapshot, before = lake_state(lake)
    assert before["events"] == distinct == 4118  # not 8,236
    assert before["event_revisions"] == distinct and before["raw_files"] == 2
    for path in (csv, text):  # re-importing either changes nothing: no rows, no revisions, no snapshot
        again = import_file(lake, settings, path)
        assert again.already_ingested and again.new_events == again.revised_events == 0
    assert lake_state(lake) == (snapshot, before)
    # The raw files were archived by content hash, and the event carries the CSV's richer solution.
    d = detail(lake, "us6000jllz")  # 2023-02-06 Pazarcik M7.8, looked up by its ComCat id
    [ev] = d["event"]
    assert ev["review_status"] == "reviewed" and ev["magnitude_value"] == pytest.approx(7.8)
    assert len(d["solutions"]) == 2 and len(d["aliases"]) == 1
    archived = sorted(x.name for x in settings.raw_dir.rglob("*") if x.is_file())
    assert archived == sorted([csv.name, text.name])


@pytest.mark.slow
def test_revisions_append_and_keep_the_event_id(module_lake: Any, module_settings: Any) -> None:
    lake, settings = module_lake, module_settings
    v1 = solution("USGS", "us7000k1", "2023-09-08T22:11:01", 31.06, -8.39, 6.8, updated="2023-09-08T23:00:00")
    v2 = dict(v1, magnitude_value=6.9, updated_time_utc=v1["updated_time_utc"].replace(hour=23, minute=30))
    v3 = dict(v2, origin_latitude_deg=31.07, origin_depth_km=19.0, updated_time_utc=v1["updated_time_utc"].replace(day=9))
    v4 = dict(v3, provider_event_id="us7000k1b", alias_ids=["us7000k1"], updated_time_utc=v1["updated_time_utc"].replace(day=10))
    reports = [ingest(lake, settings, v, name=f"v{i}") for i, v in enumerate((v1, v2, v3, v4), start=1)]
    assert [r.new_events for r in reports] == [1, 0, 0, 0]
    assert [r.revised_events for r in reports] == [0, 1, 1, 1]
    # An older answer arriving late does not win over the provider's latest one.
    late = ingest(lake, settings, dict(v1, region_name="Morocco (late copy)"), name="late-copy")
    assert (late.revised_events, late.unchanged, late.solutions_added) == (0, 1, 1)
    d = detail(lake, "us7000k1")
    [ev] = d["event"]
    assert ev == detail(lake, "us7000k1b")["event"][0]  # both ids lead to the one event
    assert ev["event_revision"] == 4 and ev["preferred_provider_event_id"] == "us7000k1b"
    assert (ev["magnitude_value"], ev["origin_latitude_deg"], ev["origin_depth_km"]) == (6.9, 31.07, 19.0)
    revs = d["revisions"]
    assert [r["revision_reason"] for r in revs] == ["new", "magnitude", "relocation", "new_id"]
    assert [r["event_revision"] for r in revs] == [1, 2, 3, 4]
    assert [r["magnitude_value"] for r in revs] == [6.8, 6.9, 6.9, 6.9]  # history is never overwritten
    assert len(d["solutions"]) == 5 and {a["provider_event_id"] for a in d["aliases"]} == {"us7000k1", "us7000k1b"}


def test_multi_agency_one_event_preferred_by_priority(module_lake: Any, module_settings: Any) -> None:
    lake, settings = module_lake, module_settings
    isc = solution("ISC", "625971234", "2023-02-06T01:17:36", 37.17, 37.08, 7.7, status="final", mag_type="MW")
    usgs = solution("USGS", "us6000jllz", "2023-02-06T01:17:34", 37.226, 37.014, 7.8)
    emsc = solution("EMSC", "20230206_0000008", "2023-02-06T01:17:35", 37.2, 37.05, 7.8, status="manual")
    first = ingest(lake, settings, isc, name="isc")
    assert first.new_events == 1
    rep = ingest(lake, settings, usgs, emsc, name="usgs+emsc")
    assert (rep.new_events, rep.revised_events, rep.aliases_added) == (0, 1, 2)
    d = detail(lake, "625971234")
    [ev] = d["event"]
    assert ev["preferred_provider"] == "USGS"  # priority 10 beats EMSC 20 and ISC 40 (default providers)
    assert [r["revision_reason"] for r in d["revisions"]] == ["new", "preferred_source"]
    assert d["revisions"][0]["source_provider"] == "ISC"  # the event id was minted from ISC's solution, and kept
    assert ev["event_id"].endswith(mint_suffix("ISC", "625971234"))
    assert sorted(a["provider"] for a in d["aliases"]) == ["EMSC", "ISC", "USGS"]


def mint_suffix(provider: str, provider_event_id: str) -> str:
    import hashlib

    return "-" + hashlib.sha1(f"{provider}:{provider_event_id}".encode()).hexdigest()[:6]


@pytest.mark.slow
def test_same_provider_close_events_stay_two(module_lake: Any, module_settings: Any) -> None:
    lake, settings = module_lake, module_settings
    a = solution("USGS", "us1", "2023-05-01T10:00:00", 10.0, 120.0, 5.5)
    b = solution("USGS", "us2", "2023-05-01T10:00:05", 10.09, 120.0, 5.4)
    ingest(lake, settings, a, name="a")
    ingest(lake, settings, b, name="b")
    assert detail(lake, "us1")["event"][0]["event_id"] != detail(lake, "us2")["event"][0]["event_id"]
    # Both rows again in one batch: each maps to its own event through its alias; nothing changes.
    rep = ingest(lake, settings, a, b, name="both")
    assert (rep.new_events, rep.revised_events, rep.unchanged) == (0, 0, 2)


def test_same_rows_twice_is_one_batch(module_lake: Any, module_settings: Any) -> None:
    rows = (solution("GFZ", "gfz2023abcd", "2023-01-01T00:00:00", 1.0, 2.0, 5.0),)
    first = ingest(module_lake, module_settings, *rows, name="one")
    again = ingest(module_lake, module_settings, *rows, name="one-again")  # no raw file: the batch id hashes the solutions
    assert first.new_events == 1 and again.already_ingested and again.batch_id == first.batch_id


def test_rows_must_match_the_row_schema(module_lake: Any, module_settings: Any) -> None:
    bad = table(solution("USGS", "u", "2023-01-01T00:00:00", 0, 0, 5.0)).drop_columns(["origin_depth_km"])
    with pytest.raises(ParseError, match="origin_depth_km"):
        ingest_solutions(module_lake, bad, "test_rows", "bad.csv", "memory:bad", None, module_settings)
    wrong = table(solution("USGS", "u", "2023-01-01T00:00:00", 0, 0, 5.0))
    wrong = wrong.set_column(5, "origin_depth_km", pa.array(["deep"]))
    with pytest.raises(ParseError, match="row schema"):
        ingest_solutions(module_lake, wrong, "test_rows", "bad.csv", "memory:bad", None, module_settings)


def test_cli_import_of_several_files_goes_on_past_a_bad_one(lake: Any) -> None:  # lake: QE_HOME is initialised
    """`catalog import a.csv bad.xml c.xml` stopped at bad.xml: c.xml was never tried and no line said so."""
    data = Path(__file__).parent / "data" / "catalogs"
    good, bad, last = data / "comcat_bom.csv", data / "truncated.xml", data / "quakeml_two_origins.xml"
    r = invoke_cli(["catalog", "import", str(good), str(bad), str(last)])
    assert r.returncode == 2
    assert [line.split(":")[0] for line in r.stdout.splitlines()] == [good.name, last.name]
    errors = r.stderr.strip().splitlines()
    assert errors[0].startswith(f"error: {bad.name}: malformed XML at line") and len(errors) == 2
    assert errors[1] == f"error: 1 of 3 files not imported: {bad.name}"
    from catalogs.detect import read_catalog_file

    expected = read_catalog_file(good).num_rows + read_catalog_file(last).num_rows  # and nothing of bad.xml
    assert lake.read_table("event_solutions").num_rows == expected
    again = invoke_cli(["catalog", "import", str(good), str(last)])
    assert again.returncode == 0 and again.stdout.count("already imported") == 2
    alone = invoke_cli(["catalog", "import", str(bad)])
    assert alone.returncode == 2 and alone.stderr.count("error:") == 1 and "1 of 1" not in alone.stderr


def test_cli_import_and_show(lake: Any, shared_data: Path) -> None:  # lake: QE_HOME is initialised
    qml = shared_data / "catalogs/quakeml/usgs_comcat_2008-01_m6plus.qml"
    r = invoke_cli(["catalog", "import", str(qml), str(qml)])
    assert r.returncode == 0, r.stderr
    from catalogs.quakeml import parse_quakeml

    rows = parse_quakeml(qml)
    first_line, second_line = r.stdout.splitlines()
    assert f"{rows.num_rows} new" in first_line and "already imported" in second_line
    first_id = rows.column("provider_event_id")[0].as_py()
    shown = invoke_cli(["catalog", "show", first_id, "--json"])
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert doc["event"]["preferred_provider_event_id"] == first_id
    assert doc["event"]["magnitude_value"] == pytest.approx(pc.max(rows.slice(0, 1).column("magnitude_value")).as_py())
    assert [a["provider_event_id"] for a in doc["aliases"]] == [first_id]
    assert [r["revision_reason"] for r in doc["revisions"]] == ["new"]
    missing = invoke_cli(["catalog", "show", "no-such-event"])
    assert missing.returncode == 2 and "Traceback" not in missing.stderr and "no event" in missing.stderr
