"""The brief's first page, its languages and its versions, on the 2025 M7.7 Myanmar expedition opened by the
shipped policy (tests/briefs_fixtures.py), plus the message catalogue and the fatality-range probabilities."""

from __future__ import annotations

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


def proper_names(d: dict[str, Any]) -> set[str]:
    """Words of the place names, time zone and agency names in the brief's context data ``d``."""
    a = d["assessment"]
    names = [p["name"] for p in d["map_places"]] + [p["name"] for p in (a.get("provenance") or {}).get("top_places") or []]
    names += [str(v.get("place")) for v in (a.get("mmi_by_country") or {}).values()] + [str(a.get("mmi_max_place"))]
    names += [str(d["event"].get("timezone")), *(str(r.get("member_mmi_place")) for r in d["decisions"])]
    return {w for n in names for w in _words(n)}


Briefs = dict[tuple[str, str], Any]


@pytest.fixture(scope="module")
def myanmar_context(myanmar: dict[str, Any], myanmar_briefs: Briefs) -> dict[str, Any]:
    """The context data of the Myanmar briefs (read once for the module, at their snapshot)."""
    from expedition.outputs.briefs.context import build_context

    snapshot = myanmar_briefs[("html", "zh")].snapshot_id
    return build_context(myanmar["lake"], myanmar["settings"], myanmar["exp"], snapshot=snapshot).data


@pytest.fixture(scope="module")
def names(myanmar_context: dict[str, Any]) -> set[str]:
    """The proper names of the Myanmar brief."""
    return proper_names(myanmar_context)


def _html_text(briefs: Briefs, lang: str) -> str:
    return _text_of(briefs[("html", lang)].path.read_text(encoding="utf-8"))


@pytest.mark.slow
def test_zh_brief_has_no_english_prose(myanmar_briefs: Briefs, names: set[str]) -> None:
    text = _html_text(myanmar_briefs, "zh")
    assert english_words(text, names) == []
    assert "缅甸" in text and "红色" in text and "余震预测" in text and "考察队安全提示" in text
    assert "曼德勒" in text  # Mandalay, from its GeoNames alternate names
    assert "缅甸（自 2023年11月16日 起为成员国）" in text  # the decision reason, written from stored fields
    en = _html_text(myanmar_briefs, "en")
    assert len(english_words(en)) > 300  # the same check finds the English brief's prose
    assert "Myanmar (member since 2023-11-16)" in en and "Alert RED" in en


@pytest.mark.slow
def test_authoritative_pager_alert_from_the_stored_losspager_product(myanmar: dict[str, Any],
                                                                      myanmar_briefs: Briefs) -> None:
    # the fixture stored the detail's one losspager version (alert red, updated 2025-04-09 06:20:56 UTC) in
    # event_products before the policy judged the event, so that alert drove the decision
    product = "urn:usgs-product:us:losspager:us7000pn9s:1744179656420"
    assert myanmar["pager"] == [product]
    en, zh = _html_text(myanmar_briefs, "en"), _html_text(myanmar_briefs, "zh")
    assert "Authoritative USGS PAGER alert: RED" in en and "It is the alert the decision acted on." in en
    assert "Alert RED: estimated by this pipeline" in en  # ours, beside it
    assert f"USGS PAGER, updated 2025-04-09 06:20 UTC: {product}" in en  # its numbered note
    assert "No authoritative USGS PAGER alert" not in en
    assert "美国地质调查局 PAGER 权威警报：红色" in zh and "决策依据的是该警报。" in zh
    assert f"美国地质调查局 PAGER，更新于 2025年4月9日 06:20 (UTC)：{product}" in zh
    assert "本事件尚未记录" not in zh


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pdf_first_page_stands_alone_without_blank_pages_or_overflow(myanmar_briefs: Briefs,
                                                                      myanmar_context: dict[str, Any],
                                                                      tmp_path: Path, lang: str) -> None:
    import numpy as np
    import pypdfium2 as pdfium

    res = myanmar_briefs[("pdf", lang)]
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
    expected = myanmar_context["assessment"]["fatality_expected"]  # the assessment's own (impact model)
    assert ("RED" if lang == "en" else "红色") in first and f"{expected:,.0f}" in first
    assert re.sub(r"\s", "", t["alert_authoritative"].split("{alert}")[0]) in re.sub(r"\s", "", first)  # USGS PAGER's


@pytest.mark.slow
def test_versions_say_what_changed(myanmar: dict[str, Any], myanmar_briefs: Briefs, names: set[str]) -> None:
    import pyarrow as pa

    from expedition.outputs.briefs.generate import generate_briefs
    from tests.briefs_fixtures import BRIEF_NOW, add_ground_advice
    from warehouse.tables import spec

    first = myanmar_briefs[("html", "en")]
    assert {r.version for r in myanmar_briefs.values()} == {first.version}  # one version in four files
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
    second, second_zh = generate_briefs(lake, myanmar["settings"], myanmar["exp"], ("html",), ("en", "zh"),
                                        now=BRIEF_NOW)
    assert second.version == second_zh.version == first.version + 1
    text = _text_of(second.path.read_text(encoding="utf-8"))
    assert f"What changed since brief version {first.version}" in text
    assert "2 new advice item(s)" in text and "1 new or updated agency solution(s) or product(s): GCMT" in text
    zh = _text_of(second_zh.path.read_text(encoding="utf-8"))
    assert f"自简报第 {first.version} 版以来的变化" in zh and "新增 2 条建议" in zh
    # the advice in Chinese names the ground failure in Chinese, not by its code ("liquefaction")
    assert "在 2 处场地发现砂土液化（GF1, GF4）" in zh and english_words(zh, names) == []


@pytest.mark.slow
def test_map_draws_the_shaking_the_assessment_used(myanmar: dict[str, Any], myanmar_briefs: Briefs) -> None:
    # the map and its place estimates come from the decision's own intensity source, not a model of the brief
    from expedition.outputs.briefs.context import build_context

    snapshot = myanmar_briefs[("html", "en")].snapshot_id
    ctx = build_context(myanmar["lake"], myanmar["settings"], myanmar["exp"], snapshot=snapshot)
    con = myanmar["lake"].connect(read_only=True, snapshot=snapshot)
    try:
        kind, source, mmi_max = con.execute(
            "SELECT intensity_source_kind, intensity_source, mmi_max_populated FROM event_assessments "
            "WHERE event_id = ? ORDER BY assessed_utc DESC LIMIT 1", [ctx.data["expedition"]["mainshock_event_id"]]
        ).fetchone()
    finally:
        con.close()
    assert ctx.shaking is not None
    assert ctx.shaking.kind == kind
    assert ctx.data["map_provenance"]["model"] == source == ctx.shaking.grid.source
    # no place of the map is shaken harder than the strongest populated place of the assessment
    mmis = [p["mmi"] for p in ctx.data["map_places"] if p["mmi"] is not None]
    assert mmis and max(mmis) <= mmi_max + 0.05
