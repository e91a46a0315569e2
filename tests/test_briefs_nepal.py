"""End to end with real data: the 2015 Gorkha earthquake, a manually opened expedition and the real Nepal
2015 building surveys (../shared/data), advice, sign-off and briefs in HTML, Markdown and PDF, en and zh."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

pytestmark = pytest.mark.slow

NEPAL = "field_survey/nepal_2015"
NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
# The typology of a building is the first superstructure flag set, in the order of the shipped mapping.
FLAG_ORDER = [
    ("has_superstructure_rc_engineered", "CR+CIP"), ("has_superstructure_rc_non_engineered", "CR+CIP"),
    ("has_superstructure_cement_mortar_brick", "MUR+CLBRS+MOC/LWAL"),
    ("has_superstructure_cement_mortar_stone", "MUR+ST99+MOC/LWAL"),
    ("has_superstructure_mud_mortar_brick", "MUR+CLBRS+MOM/LWAL"),
    ("has_superstructure_mud_mortar_stone", "MUR+STRUB+MOM/LWAL"), ("has_superstructure_stone_flag", "MUR+ST99/LWAL"),
    ("has_superstructure_adobe_mud", "MUR+ADO+MOM/LWAL"), ("has_superstructure_timber", "W"),
    ("has_superstructure_bamboo", "W+WBB"), ("has_superstructure_other", "MATO"),
]


@pytest.fixture(scope="module")
def gorkha(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from expedition.decisions.response.evaluate import open_expedition
    from expedition.outputs.advice.store import advice_of, approve_advice, generate_advice
    from expedition.settings import load_settings
    from expedition.surveys.context import context_for
    from expedition.surveys.ingest import ingest_file
    from warehouse.lake import Lake
    from warehouse.tables import spec

    home = tmp_path_factory.mktemp("gorkha")
    settings = load_settings(home)
    lake = Lake.from_settings(settings)
    lake.init()
    event = {"event_id": "us20002926", "origin_time_utc": dt.datetime(2015, 4, 25, 6, 11, 25, tzinfo=dt.UTC),
             "origin_latitude_deg": 28.231, "origin_longitude_deg": 84.731, "origin_depth_km": 8.2,
             "magnitude_value": 7.8, "magnitude_type": "mww", "magnitude_author": "us", "origin_agency": "us",
             "review_status": "reviewed", "event_type": "earthquake", "region_name": "36km E of Khudi, Nepal",
             "preferred_provider": "USGS", "preferred_provider_event_id": "us20002926", "event_revision": 1}
    with lake.writer() as w:
        w.write("events", pa.Table.from_pylist([event]).select([c for c in spec("events").columns if c in event]))
    exp = open_expedition(lake, "us20002926", reason="test: 2015 Gorkha", by="tester", settings=settings)
    ctx = context_for(lake, exp.expedition_id, settings)
    d = shared_data / NEPAL
    ingest_file(lake, d / "richter_v1_train_values_10k.csv", ctx, mapping="nepal_2015_richter",
                labels=d / "richter_v1_train_labels_10k.csv")
    ingest_file(lake, d / "DERIVED_npc_building_structure_extract_3865.csv", ctx,
                mapping="nepal_2015_npc_building_structure")
    generate_advice(lake, exp.expedition_id)
    con = lake.connect(read_only=True)
    items = advice_of(con, exp.expedition_id)
    con.close()
    approve_advice(lake, items[0].advice_id, by="Dr. Reviewer")
    return {"lake": lake, "settings": settings, "exp": exp.expedition_id, "items": items, "shared": shared_data}


def _npc_expected(shared: Path) -> pd.DataFrame:
    df = pd.read_csv(shared / NEPAL / "DERIVED_npc_building_structure_extract_3865.csv", dtype=str)
    typ = pd.Series("unknown", index=df.index)
    for col, label in reversed(FLAG_ORDER):  # the first flag in the order wins: assign in reverse
        typ[df[col] == "Yes"] = label
    df["typology"] = typ
    df["grade"] = df["damage_grade"].str.extract(r"(\d)").astype(int)
    g = df.groupby("typology")["grade"]
    return pd.DataFrame({"n": g.size(), "share45": g.apply(lambda s: (s >= 4).mean()),
                         "share5": g.apply(lambda s: (s == 5).mean()), "mean": g.mean()})


@pytest.fixture(scope="module")
def gorkha_briefs(gorkha: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """The brief in HTML, Markdown and PDF, English and Chinese: one context, one version, rendered once for
    the module under ``settings.briefs_dir``."""
    from expedition.outputs.briefs.generate import generate_briefs

    results = generate_briefs(gorkha["lake"], gorkha["settings"], gorkha["exp"], ("html", "md", "pdf"), ("en", "zh"),
                              now=NOW)
    return {(r.fmt, r.lang): r for r in results}


def test_brief_html_shows_damage_statistics_recomputed_with_pandas(gorkha: dict[str, Any],
                                                                   gorkha_briefs: dict[tuple[str, str], Any]) -> None:
    res = gorkha_briefs[("html", "en")]
    html = res.path.read_text(encoding="utf-8")
    expected = _npc_expected(gorkha["shared"])
    for typology, row in expected[expected["n"] >= 30].iterrows():
        cells = f"<td>{typology}</td><td>{int(row['n']):,}</td><td>{row['share45']:.1%}</td><td>{row['share5']:.1%}</td>"
        assert cells in html, typology
    labels = pd.read_csv(gorkha["shared"] / NEPAL / "richter_v1_train_labels_10k.csv")
    assert f"{len(labels) + 3865:,}" in html  # buildings surveyed, both files
    # neither file has a date, a surveyor or (NPC) an area: none is counted as one (was "1 days, 1 surveyors")
    areas = pd.read_csv(gorkha["shared"] / NEPAL / "richter_v1_train_values_10k.csv",
                        usecols=["geo_level_1_id", "geo_level_2_id", "geo_level_3_id"]).drop_duplicates()
    assert f"Buildings surveyed: {len(labels) + 3865:,} ({len(areas)} areas, 0 days, 0 surveyors); " in html
    assert "Asia/Kathmandu" in html and "2015-04-25T11:56:25+05:45" in html  # local time, UTC+5:45
    assert "REBUILD-HEAVY-5G" in html and "approved (signed off by Dr. Reviewer)" in html
    assert "DRAFT" in html  # not every item is signed off
    assert f"lake snapshot {res.snapshot_id}" in html
    # every caption names the snapshot once ("lake snapshot lake snapshot 9" was printed under the agencies)
    assert "lake snapshot lake snapshot" not in html
    assert re.search(rf"Rule set [0-9.]+; lake snapshot {res.snapshot_id}\.", html)
    zh = gorkha_briefs[("html", "zh")].path.read_text(encoding="utf-8")
    assert "数据湖快照 数据湖快照" not in zh and "数据湖快照数据湖快照" not in zh
    assert "No authoritative USGS PAGER alert recorded for this event yet." in html  # no losspager product stored
    # self-contained: every image inline, nothing to fetch
    assert re.search(r'<(img|script|link)[^>]+(src|href)="(?!data:)', html) is None
    assert html.count('src="data:image/png;base64,') >= 2


def test_same_snapshot_gives_the_same_brief(gorkha: dict[str, Any], gorkha_briefs: dict[tuple[str, str], Any]) -> None:
    from expedition.outputs.briefs.context import build_context
    from expedition.outputs.briefs.generate import render_brief

    settings, recorded = gorkha["settings"], gorkha_briefs[("html", "en")]
    again = build_context(gorkha["lake"], settings, gorkha["exp"], snapshot=recorded.snapshot_id)
    assert again.sha256 == recorded.context_sha256
    one, _ = render_brief(again, "html", "en", recorded.version, NOW, settings.home / "cache")
    assert one == recorded.path.read_bytes()  # the same snapshot and time give the same bytes
    later, _ = render_brief(again, "html", "en", recorded.version, NOW + dt.timedelta(hours=1), settings.home / "cache")
    strip = re.compile(rb"[Gg]enerated \d{4}-\d\d-\d\d \d\d:\d\d UTC")
    assert later != one and strip.sub(b"", later) == strip.sub(b"", one)


def test_brief_versions_are_numbered_and_not_duplicated(gorkha: dict[str, Any],
                                                        gorkha_briefs: dict[tuple[str, str], Any]) -> None:
    from expedition.outputs.briefs.generate import generate_brief

    lake, settings = gorkha["lake"], gorkha["settings"]
    first = gorkha_briefs[("md", "en")]
    assert {r.version for r in gorkha_briefs.values()} == {first.version}
    again = generate_brief(lake, settings, gorkha["exp"], "md", "en", now=NOW)
    assert again.version == first.version and again.path == first.path
    con = lake.connect(read_only=True)
    n = con.execute("SELECT count(*) FROM briefs WHERE brief_format = 'md' AND brief_lang = 'en'").fetchone()
    con.close()
    assert n is not None and n[0] == 1
    text = first.path.read_text(encoding="utf-8")
    assert "## Reconstruction advice" in text and (first.path.parent / f"{first.path.stem}_1.png").is_file()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pdf_renders_non_blank_pages_and_chinese_glyphs(gorkha_briefs: dict[tuple[str, str], Any], lang: str) -> None:
    import numpy as np
    import pypdfium2 as pdfium

    res = gorkha_briefs[("pdf", lang)]
    pdf = pdfium.PdfDocument(str(res.path))
    try:
        assert len(pdf) >= 3
        first = np.asarray(pdf[0].render(scale=0.6).to_pil().convert("L"))
        assert (first < 128).mean() > 0.01  # ink on the page
        text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()
    if lang == "zh":
        assert "震" in text and "恢复重建建议" in text and "考察简报" in text
    else:
        assert "Reconstruction advice" in text and "Aftershock forecast" in text


def test_a_stored_pager_version_is_a_new_brief_version_that_says_so(
        gorkha: dict[str, Any], gorkha_briefs: dict[tuple[str, str], Any]) -> None:
    import json

    from catalogs.products import parse_event_detail
    from catalogs.products_pull import product_rows
    from expedition.outputs.briefs.generate import generate_brief
    from tests.products_fixtures import synthetic_detail

    lake, first = gorkha["lake"], gorkha_briefs[("html", "en")]
    pager_time = dt.datetime(2015, 4, 25, 7, 0, tzinfo=dt.UTC)
    detail = parse_event_detail(json.dumps(synthetic_detail("us20002926", alert="red", pager_update=pager_time,
                                                            finite_fault=False)).encode(), "detail.geojson")
    rows = product_rows(detail, "us20002926", "USGS", dt.datetime(2015, 4, 25, 8, 0, tzinfo=dt.UTC))
    with lake.writer() as w:
        w.write("event_products", rows)
    res = generate_brief(lake, gorkha["settings"], gorkha["exp"], "html", "en", now=NOW)
    html = res.path.read_text(encoding="utf-8")
    assert res.version == first.version + 1
    assert "Authoritative USGS PAGER alert: RED" in html and "2015-04-25 07:00 UTC" in html
    assert "It is the alert the decision acted on." not in html  # a manual opening: no decision used it
    # the PAGER and ShakeMap versions are new since the previous brief (moment tensors are not read)
    assert "2 new or updated agency solution(s) or product(s): USGS PAGER, USGS SHAKEMAP" in html


def test_advice_list_command(gorkha: dict[str, Any]) -> None:
    from tests.conftest import invoke_cli

    r = invoke_cli(["advice", "list", "--expedition", gorkha["exp"], "--home", str(gorkha["settings"].home)])
    assert r.returncode == 0, r.stderr
    assert gorkha["items"][0].advice_id in r.stdout and "approved by Dr. Reviewer" in r.stdout
    bad = invoke_cli(["advice", "approve", "zzzzzzzz", "--by", "x", "--home", str(gorkha["settings"].home)])
    assert bad.returncode == 2 and bad.stderr.startswith("error: no advice item") and "Traceback" not in bad.stderr
