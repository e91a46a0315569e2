"""The advice rule engine: the shipped rule set, conditions, placeholders, and bad rule files."""

from __future__ import annotations

from pathlib import Path

import pytest

from expedition.errors import PolicyError
from expedition.outputs.advice.rules import evaluate, format_text, load_rule_set


def _row(typology: str, n: int, heavy: int, collapse: int, mid: int, material: str = "MUR") -> dict[str, object]:
    return {"damage_scale": "EMS-98", "typology": typology, "typology_material": material, "damage_scale_grades": 5,
            "building_count": n, "count_grade_4_5": heavy, "count_grade_5": collapse, "count_grade_2_3": mid,
            "share_grade_4_5": heavy / n, "share_grade_5": collapse / n, "share_grade_2_3": mid / n,
            "top_grade_share": collapse / n}


def test_shipped_rule_set_loads_with_both_languages() -> None:
    rs = load_rule_set()
    assert rs.version == "1.1.0" and len(rs.sha256) == 64
    assert all(r.text_en and r.text_zh and r.source.startswith("analytics_") for r in rs.rules)
    assert {"analytics_damage_share_by_typology", "analytics_ground_failure"} <= set(rs.sources)


def test_rebuild_rule_fires_on_heavy_share_with_enough_buildings() -> None:
    rs = load_rule_set()
    rows = [_row("MUR+STRUB", 40, 20, 8, 10), _row("MUR+ADO", 10, 9, 9, 1), _row("W", 50, 5, 1, 20)]
    drafts = [d for d in evaluate(rs, {"analytics_damage_share_by_typology": rows}) if d.rule_id == "REBUILD-HEAVY-5G"]
    assert [d.subject for d in drafts] == ["EMS-98 | MUR+STRUB"]  # MUR+ADO has n < 30, W has 10 %
    d = drafts[0]
    assert d.evidence["count_grade_4_5"] == 20 and d.evidence["share_grade_4_5"] == 0.5
    assert "20 of 40" in d.text_en and "(50%)" in d.text_en and "20%" in d.text_en
    assert "40" in d.text_zh and "重建" in d.text_zh
    assert d.rule_set_version == rs.version and len(d.evidence_sha256) == 64


def test_rc_repair_rule_needs_reinforced_concrete() -> None:
    rs = load_rule_set()
    rows = [_row("CR+CIP", 60, 3, 1, 30, material="CR"), _row("MUR+CLBRS", 60, 3, 1, 30)]
    drafts = [d for d in evaluate(rs, {"analytics_damage_share_by_typology": rows}) if d.category == "repair_retrofit"]
    assert [d.subject for d in drafts] == ["EMS-98 | CR+CIP"]


def test_ground_and_zoning_rules() -> None:
    rs = load_rule_set()
    rows = {
        "analytics_ground_failure": [
            {"failure_type": "liquefaction", "site_count": 2, "site_ids": "GF1, GF4", "failure_area_max_m2": 50.0},
            {"failure_type": "surface_rupture", "site_count": 1, "site_ids": "GF9", "failure_area_max_m2": None},
        ],
        "analytics_intensity_residual_summary": [
            {"expedition_id": "EXP-X", "site_count": 3, "observed_intensity_max": 9.0,
             "observed_intensity_max_site": "S7", "residual_bias": 0.8, "residual_scatter": 0.5, "sites_above_one_sigma": 1},
        ],
    }
    drafts = evaluate(rs, rows)
    by_rule = {d.rule_id: d for d in drafts}
    assert set(by_rule) == {"GROUND-LIQUEFACTION", "ZONING-ABOVE-DESIGN"}
    assert "GF1, GF4" in by_rule["GROUND-LIQUEFACTION"].text_en
    assert "9.0 at S7" in by_rule["ZONING-ABOVE-DESIGN"].text_en and "+0.80" in by_rule["ZONING-ABOVE-DESIGN"].text_en


def test_missing_figures_never_trigger_and_print_na() -> None:
    rs = load_rule_set()
    row = _row("MUR", 40, 20, 8, 10)
    row["share_grade_4_5"] = None
    assert not [d for d in evaluate(rs, {"analytics_damage_share_by_typology": [row]}) if d.rule_id == "REBUILD-HEAVY-5G"]
    assert format_text("{x:.0%} and {y}", {"x": None, "y": 3}) == "n/a and 3"


def test_placeholders_cannot_reach_attributes() -> None:
    with pytest.raises(PolicyError, match="plain field name"):
        format_text("{x.__class__}", {"x": 1})


def test_bad_rule_file_names_file_and_rule(tmp_path: Path) -> None:
    bad = tmp_path / "rules.toml"
    bad.write_text('[rule_set]\nversion = "9"\n[[rules]]\nid = "R1"\nversion = 1\ncategory = "x"\n'
                   'source = "analytics_ground_failure"\nsubject = "failure_type"\n'
                   'when = [["site_count", "~", 1]]\nevidence = []\ntext.en = "a"\ntext.zh = "b"\n')
    with pytest.raises(PolicyError, match=r"rules.toml: rule 'R1', when\[0\]: operator '~'"):
        load_rule_set(bad)
    bad.write_text("[rule_set\n")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_rule_set(bad)


def test_codes_print_as_labels_so_the_chinese_text_has_no_english() -> None:
    import re

    from expedition.surveys.kinds import ELEMENT_TYPE, FAILURE_TYPE

    rs = load_rule_set()
    ground = [{"failure_type": c, "site_count": 2, "site_ids": "GF1, GF4", "failure_area_max_m2": 50.0,
               "failure_volume_max_m3": 10.0} for c in FAILURE_TYPE.codes]
    lifelines = [{"element_type": c, "element_count": 4, "non_functional_count": 2, "non_functional_share": 0.5}
                 for c in ELEMENT_TYPE.codes]
    drafts = evaluate(rs, {"analytics_ground_failure": ground, "analytics_lifeline_functionality": lifelines})
    by = {(d.rule_id, d.subject): d for d in drafts}
    liq = by[("GROUND-LIQUEFACTION", "liquefaction")]
    assert liq.text_zh.startswith("在 2 处场地发现砂土液化（GF1, GF4）")
    assert liq.text_en.startswith("Liquefaction at 2 site(s) (GF1, GF4)")
    assert liq.evidence["failure_type"] == "liquefaction"  # the evidence keeps the code
    assert by[("LIFELINE-OUTAGE", "water")].text_zh.startswith("供水设施：调查的 4 个设施中有 2 个（50%）")
    assert len(drafts) == 5 + len(ELEMENT_TYPE.codes)  # 3 ground-failure, 2 landslide codes; every element type
    for d in drafts:  # beyond the site ids (capitals and digits), no Latin letters in Chinese
        assert re.findall(r"[a-z]+", d.text_zh) == [], (d.rule_id, d.text_zh)
    assert {"failure_type", "element_type"} <= set(rs.labels)
    assert set(rs.labels["failure_type"]) == set(FAILURE_TYPE.codes)
    assert set(rs.labels["element_type"]) == set(ELEMENT_TYPE.codes)


def test_a_label_needs_both_languages(tmp_path: Path) -> None:
    bad = tmp_path / "rules.toml"
    bad.write_text('[rule_set]\nversion = "9"\n[labels.failure_type]\nliquefaction = { en = "Liquefaction" }\n',
                   encoding="utf-8")
    with pytest.raises(PolicyError, match=r"\[labels.failure_type\] liquefaction: needs a non-empty en and zh label"):
        load_rule_set(bad)
