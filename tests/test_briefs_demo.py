"""PDF briefs in English and Chinese on a fresh clone: the bundled demo data (flows/demo_data/),
the real 2023-12-02 M7.6 off Mindanao (USGS us7000lff4) and the SYNTHETIC survey of 24 buildings made
for it. (tests/test_briefs_nepal.py does the same with the real Nepal surveys of ../shared.)"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
SURVEY_ROWS = 24


@pytest.fixture(scope="module")
def mindanao(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from catalogs.ingest import import_file
    from expedition.decisions.response.evaluate import open_expedition
    from expedition.outputs.advice.store import generate_advice
    from expedition.settings import load_settings
    from expedition.surveys.context import context_for
    from expedition.surveys.ingest import ingest_file
    from flows.demo import SAMPLE_CATALOG, SAMPLE_SURVEY, SURVEY_EVENT_ID, demo_file
    from warehouse.lake import Lake

    home = tmp_path_factory.mktemp("mindanao")
    settings = load_settings(home)
    lake = Lake.from_settings(settings)
    lake.init()
    import_file(lake, settings, demo_file(SAMPLE_CATALOG), provider="USGS")
    (event_id,) = lake.read_table("events", "WHERE preferred_provider_event_id = ?", [SURVEY_EVENT_ID]) \
        .column("event_id").to_pylist()
    exp = open_expedition(lake, event_id, reason="test: 2023 Mindanao", by="tester", settings=settings)
    report = ingest_file(lake, demo_file(SAMPLE_SURVEY), context_for(lake, exp.expedition_id, settings),
                         kind="buildings")
    assert report.rows_landed == SURVEY_ROWS
    generate_advice(lake, exp.expedition_id)
    return {"lake": lake, "settings": settings, "exp": exp.expedition_id}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pdf_renders_non_blank_pages_and_chinese_glyphs(mindanao: dict[str, Any], lang: str) -> None:
    import numpy as np
    import pypdfium2 as pdfium

    from expedition.outputs.briefs.generate import generate_brief

    res = generate_brief(mindanao["lake"], mindanao["settings"], mindanao["exp"], "pdf", lang, now=NOW)
    pdf = pdfium.PdfDocument(str(res.path))
    try:
        assert len(pdf) >= 2
        first = np.asarray(pdf[0].render(scale=0.6).to_pil().convert("L"))
        assert (first < 128).mean() > 0.01  # ink on the page
        text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()
    assert f"{mindanao['exp']} · " in text
    if lang == "zh":
        assert "菲律宾 7.6 级地震" in text and "余震预测" in text and "恢复重建建议" in text
        assert f"已调查建筑：{SURVEY_ROWS} 栋（" in text
    else:
        assert "Magnitude 7.6 mww" in text and "Aftershock forecast" in text and "Reconstruction advice" in text
        assert f"Buildings surveyed: {SURVEY_ROWS} (" in text
    # the damage table, recomputed from the survey file with pandas (typology = the GEM material)
    for row in _damage_by_material().itertuples():
        assert f"{row.Index} {row.n} {row.share45:.1%} {row.share5:.1%} {row.mean:.2f} (" in text, row


def _damage_by_material() -> pd.DataFrame:
    from flows.demo import SAMPLE_SURVEY, demo_file

    df = pd.read_csv(demo_file(SAMPLE_SURVEY))
    assert len(df) == SURVEY_ROWS and df["notes"].str.startswith("SYNTHETIC").all()
    g = df.groupby("material")["damage_grade"]
    return pd.DataFrame({"n": g.size(), "share45": g.apply(lambda s: (s >= 4).mean()),
                         "share5": g.apply(lambda s: (s == 5).mean()), "mean": g.mean()})



@pytest.mark.parametrize(("lang", "words"), [("en", "lake snapshot"), ("zh", "数据湖快照")])
def test_captions_name_the_lake_snapshot_once(mindanao: dict[str, Any], lang: str, words: str) -> None:
    """The agencies table and the advice table once read 'lake snapshot lake snapshot 9'."""
    from expedition.outputs.briefs.generate import generate_brief

    res = generate_brief(mindanao["lake"], mindanao["settings"], mindanao["exp"], "md", lang, now=NOW)
    text = res.path.read_text(encoding="utf-8")
    assert f"{words} {res.snapshot_id}" in text
    assert f"{words} {words}" not in text and f"{words}{words}" not in text
    if lang == "en":
        assert f"Agencies that reported this event: 1 (event_solutions, lake snapshot {res.snapshot_id})." in text
