"""The brief's first page, its languages and its versions, on the 2025 M7.7 Myanmar expedition opened by the
shipped policy (tests/briefs_fixtures.py), plus the message catalogue and the fatality-range probabilities."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import math
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from expedition.outputs.briefs.fatality_probs import combined_zeta, fatality_probabilities, stored_probabilities
from expedition.outputs.briefs.i18n import fields_of, texts
from warehouse.tables.products import FATALITY_RANGE_SUFFIXES

NOW = dt.datetime(2025, 3, 29, 12, 0, tzinfo=dt.UTC)
BRIEFS = Path(__file__).resolve().parents[1] / "expedition" / "outputs" / "briefs"
WEB = Path(__file__).resolve().parents[1] / "expedition" / "delivery" / "api"
# Words allowed in the Chinese brief besides place names (taken from the brief's own data): authors and
# titles of the cited works, model and data-set names, and magnitude types.
ALLOWED_EN = {
    "Allen", "Boore", "Zhao", "Wald", "Worden", "Wells", "Coppersmith", "Jaiswal", "Reasenberg", "Jones", "Page",
    "Gardner", "Knopoff",
    "Natural", "Earth", "GeoNames", "Earthquake", "Spectra", "calcEmpiricalProbFromRange", "et", "al", "zeta", "sha",
    "mww", "Mww", "Mw", "Mi", "mb", "ms", "ml", "qe", "shaking",  # qe-shaking: our shaking model's name
}


def _catalogue(lang: str) -> dict[str, str]:
    raw = (resources.files("expedition.outputs.briefs") / "i18n" / f"{lang}.toml").read_text(encoding="utf-8")
    return {k: str(v) for k, v in tomllib.loads(raw).items()}


def test_both_catalogues_hold_the_same_keys_and_fields() -> None:
    en, zh = _catalogue("en"), _catalogue("zh")
    assert sorted(set(en) ^ set(zh)) == []
    assert [k for k in en if fields_of(en[k]) != fields_of(zh[k])] == []
    assert [k for k, v in zh.items() if not v.strip()] == []


def test_every_message_the_code_uses_has_en_and_zh() -> None:
    from expedition.decisions.records import Status
    from expedition.surveys.kinds import ELEMENT_TYPE, FAILURE_TYPE

    en, zh = _catalogue("en"), _catalogue("zh")
    used: set[str] = set()
    for path in [*BRIEFS.glob("*.py"), *WEB.glob("web*.py")]:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'\bt\[\s*"([a-z0-9_]+)"\s*\]', text))
        used |= set(re.findall(r'\bt\.(?:fmt|get)\(\s*"([a-z0-9_]+)"', text))
    for path in (WEB / "templates" / "web").glob("*.j2"):
        used |= set(re.findall(r"\bt\.([a-z0-9_]+)\b", path.read_text(encoding="utf-8"))) - {"get"}
    coded = {f"status_{s.value}" for s in Status} | {f"alert_{a}" for a in ("green", "yellow", "orange", "red", "none")}
    coded |= {f"failure_{c}" for c in FAILURE_TYPE.codes} | {f"element_{c}" for c in ELEMENT_TYPE.codes}
    coded |= {f"tier_{i}" for i in (1, 2, 3)} | {f"window_{w}" for w in ("day", "week", "month", "year")}
    coded |= {f"survey_{k}" for k in ("buildings", "intensity", "ground_failure", "lifelines", "stations")}
    coded |= {f"change_{k}" for k in ("first_version", "no_change", "new_assessment", "new_product", "new_survey_rows",
                                      "new_advice", "changed_advice", "new_signoff")}
    coded |= {f"decision_{k}" for k in ("opened", "manual_open", "joined", "updated", "flagged_for_review", "not_opened")}
    missing = sorted(k for k in used | coded if k not in en or k not in zh)
    assert missing == []
    assert len(used) > 150  # the scan found the code's messages


def test_fatality_range_probabilities_follow_pager() -> None:
    assert combined_zeta(["MMR"]) == 2.5 and combined_zeta(["CHN"]) == pytest.approx(2.013134)
    assert combined_zeta(["CHN", "NPL"]) == 2.5  # sqrt(2.01^2 + 2.5^2) capped at 2.5
    probs = fatality_probabilities(3851.0, 2.5)
    assert sum(p["probability"] for p in probs) == pytest.approx(1.0, abs=1e-4)
    # P(1,000 < X <= 10,000) = Phi(ln(10000/3851)/2.5) - Phi(ln(1000/3851)/2.5) = 0.6487 - 0.2948
    assert probs[4]["probability"] == pytest.approx(0.3539, abs=5e-4)
    # E < 1: PAGER caps zeta at 1.7613 and keeps E (its `e = 0.1` line is commented out in calcEmpiricalProbFromRange)
    low = fatality_probabilities(0.2, 2.5)

    def phi(x: float) -> float:
        return 0.5 * (1 + math.erf(x / math.sqrt(2)))

    e = 0.2 + 1e-5
    expected = phi(math.log(1.00001 / e) / 1.7613) - phi(math.log(1e-5 / e) / 1.7613)
    assert low[0]["probability"] == pytest.approx(expected, abs=1e-9) and low[0]["probability"] > 0.8
    # the probabilities stored with a decision are shown as they are (none stored: None)
    row = {f"fatality_prob_{s}": p["probability"] for s, p in zip(FATALITY_RANGE_SUFFIXES, probs)}
    shown = stored_probabilities({**row, "fatality_zeta": 2.5})
    assert shown is not None and shown["zeta"] == 2.5 and shown["ranges"] == probs
    assert stored_probabilities({**row, "fatality_prob_0_1": None}) is None


def _text_of(html: str) -> str:
    body = re.sub(r"<style.*?</style>|<img[^>]*>", " ", html, flags=re.S)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", body))


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]{2,}", text)


def english_words(text: str, names: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """English prose words: runs of Latin letters, leaving out identifiers (chunks with digits, _, /, +, =,
    #, @), acronyms and codes in capitals (UTC, USGS, PAGER, agency codes), Roman numerals, the words of
    ``names`` (proper names from the brief's data) and the allowed citation and model words."""
    out = []
    for chunk in text.split():
        if re.search(r"[0-9_/+=#@]", chunk):
            continue
        for w in _words(chunk):
            if w in ALLOWED_EN or w in names or re.fullmatch(r"[A-Z]{2,}", w):
                continue
            out.append(w)
    return out


def proper_names(myanmar: dict[str, Any]) -> set[str]:
    """Words of the place names, time zone and agency names in the brief's context."""
    from expedition.outputs.briefs.context import build_context

    d = build_context(myanmar["lake"], myanmar["settings"], myanmar["exp"]).data
    a = d["assessment"]
    names = [p["name"] for p in d["map_places"]] + [p["name"] for p in (a.get("provenance") or {}).get("top_places") or []]
    names += [str(v.get("place")) for v in (a.get("mmi_by_country") or {}).values()] + [str(a.get("mmi_max_place"))]
    names += [str(d["event"].get("timezone")), *(str(r.get("member_mmi_place")) for r in d["decisions"])]
    return {w for n in names for w in _words(n)}


def _brief(myanmar: dict[str, Any], fmt: str, lang: str, out: Path) -> Any:
    from expedition.outputs.briefs.generate import generate_brief

    return generate_brief(myanmar["lake"], myanmar["settings"], myanmar["exp"], fmt, lang, out=out, now=NOW)


@pytest.mark.slow
def test_zh_brief_has_no_english_prose(myanmar: dict[str, Any], tmp_path: Path) -> None:
    res = _brief(myanmar, "html", "zh", tmp_path / "zh.html")
    text = _text_of(res.path.read_text(encoding="utf-8"))
    assert english_words(text, proper_names(myanmar)) == []
    assert "缅甸" in text and "红色" in text and "余震预测" in text and "考察队安全提示" in text
    assert "曼德勒" in text  # Mandalay, from its GeoNames alternate names
    assert "缅甸（自 2023年11月16日 起为成员国）" in text  # the decision reason, written from stored fields
    en = _text_of(_brief(myanmar, "html", "en", tmp_path / "en.html").path.read_text(encoding="utf-8"))
    assert len(english_words(en)) > 300  # the same check finds the English brief's prose
    assert "Myanmar (member since 2023-11-16)" in en and "Alert RED" in en


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pdf_first_page_stands_alone_without_blank_pages_or_overflow(myanmar: dict[str, Any], tmp_path: Path,
                                                                      lang: str) -> None:
    import numpy as np
    import pypdfium2 as pdfium

    res = _brief(myanmar, "pdf", lang, tmp_path / f"brief_{lang}.pdf")
    pdf = pdfium.PdfDocument(str(res.path))
    try:
        pages = [np.asarray(pdf[i].render(scale=1.0).to_pil().convert("L")) for i in range(len(pdf))]
        first = pdf[0].get_textpage().get_text_range()
        pdf[0].render(scale=1.5).to_pil().save(tmp_path / f"first_page_{lang}.png")
    finally:
        pdf.close()
    print(f"first page of the {lang} brief: {tmp_path / f'first_page_{lang}.png'}")
    assert len(pages) >= 2
    for i, img in enumerate(pages):
        assert (img < 200).mean() > 0.01, f"page {i + 1} is blank"
        margin = max(int(img.shape[1] * 10 / 210), 1)  # 10 mm of 210 mm: inside the 12 mm side margins
        assert (img[:, :margin] < 200).sum() == 0 and (img[:, -margin:] < 200).sum() == 0, f"page {i + 1} overflows"
    t = texts(lang)
    for key in ("section_exposure", "most_affected", "section_forecast", "safety_note", "fatality_expected", "team"):
        assert re.sub(r"\s", "", t[key]) in re.sub(r"\s", "", first), key
    from expedition.outputs.briefs.context import build_context

    expected = build_context(myanmar["lake"], myanmar["settings"], myanmar["exp"]).data["assessment"]["fatality_expected"]
    assert ("RED" if lang == "en" else "红色") in first and f"{expected:,.0f}" in first


@pytest.mark.slow
def test_versions_say_what_changed(myanmar: dict[str, Any], tmp_path: Path) -> None:
    import pyarrow as pa

    from tests.briefs_fixtures import add_ground_advice
    from warehouse.tables import spec

    first = _brief(myanmar, "html", "en", tmp_path / "v_a.html")
    lake = myanmar["lake"]
    add_ground_advice(lake, myanmar["exp"])
    schema = spec("event_solutions").schema
    con = lake.connect(read_only=True)
    row = con.execute("SELECT * FROM event_solutions WHERE provider = 'US'").to_arrow_table().to_pylist()[0]
    con.close()
    with lake.writer() as w:
        w.write("event_solutions", pa.Table.from_pylist(
            [{**row, "solution_id": "gcmt-test", "provider": "GCMT", "provider_event_id": "gcmt-test"}], schema=schema),
            mode="insert_new")
    second = _brief(myanmar, "html", "en", tmp_path / "v_b.html")
    assert second.version == first.version + 1
    text = _text_of(second.path.read_text(encoding="utf-8"))
    assert f"What changed since brief version {first.version}" in text
    assert "2 new advice item(s)" in text and "1 new or updated agency solution(s) or product(s): GCMT" in text
    zh = _text_of(_brief(myanmar, "html", "zh", tmp_path / "v_b_zh.html").path.read_text(encoding="utf-8"))
    assert f"自简报第 {first.version} 版以来的变化" in zh and "新增 2 条建议" in zh
