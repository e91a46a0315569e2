"""The real 2015 Nepal building surveys through their shipped mappings (skipped without ../shared/data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from expedition.surveys.ingest import ingest_file
from tests.survey_support import (
    gorkha_context,
)

NEPAL = "field_survey/nepal_2015"


@pytest.fixture
def nepal_lake(survey_lake: Any) -> Any:
    return survey_lake


def _counts(lake: Any, sql: str, params: list[Any]) -> dict[Any, int]:
    con = lake.connect(read_only=True)
    try:
        return {k: int(v) for k, v in con.execute(sql, params).fetchall()}
    finally:
        con.close()


def test_richter_values_and_labels_through_the_shipped_mapping(nepal_lake: Any, shared_data: Path) -> None:
    import pandas as pd

    values = shared_data / NEPAL / "richter_v1_train_values_10k.csv"
    labels = shared_data / NEPAL / "richter_v1_train_labels_10k.csv"
    ctx = gorkha_context("EXP-2015-NPL-901")
    report = ingest_file(nepal_lake, values, ctx, mapping="nepal_2015_richter", labels=labels)
    expected = pd.read_csv(labels, dtype=str)["damage_grade"].value_counts().to_dict()
    assert (report.rows_read, report.rows_landed, report.errors, report.warnings) == (10_000, 10_000, 0, 0)
    got = _counts(nepal_lake, "SELECT damage_local_grade, count(*) FROM survey_buildings WHERE expedition_id = ? "
                              "GROUP BY 1", [ctx.expedition_id])
    assert got == expected
    con = nepal_lake.connect(read_only=True)
    try:
        with_ems, with_site = con.execute("SELECT count(damage_ems98_grade), count(site_geometry) FROM survey_buildings "
                                          "WHERE expedition_id = ?", [ctx.expedition_id]).fetchone()
    finally:
        con.close()
    assert (with_ems, with_site) == (0, 0)  # no EMS-98 mapping and no coordinates: null, and nothing rejected
    src = pd.read_csv(values, dtype=str)
    storeys = _counts(nepal_lake, "SELECT typology_storeys_count, count(*) FROM survey_buildings "
                                  "WHERE expedition_id = ? GROUP BY 1", [ctx.expedition_id])
    assert storeys == {int(k): v for k, v in src["count_floors_pre_eq"].value_counts().to_dict().items()}
    again = ingest_file(nepal_lake, values, ctx, mapping="nepal_2015_richter", labels=labels)
    assert again.already_ingested


def test_npc_building_structure_converts_feet_and_keeps_five_grades(nepal_lake: Any, shared_data: Path) -> None:
    import pandas as pd

    path = shared_data / NEPAL / "DERIVED_npc_building_structure_extract_3865.csv"
    ctx = gorkha_context("EXP-2015-NPL-902")
    report = ingest_file(nepal_lake, path, ctx, mapping="nepal_2015_npc_building_structure")
    src = pd.read_csv(path, dtype=str)
    assert (report.rows_landed, report.errors) == (len(src), 0)
    got = _counts(nepal_lake, "SELECT damage_local_grade, count(*) FROM survey_buildings WHERE expedition_id = ? "
                              "GROUP BY 1", [ctx.expedition_id])
    assert got == src["damage_grade"].value_counts().to_dict()
    con = nepal_lake.connect(read_only=True)
    try:
        area, height = con.execute(
            "SELECT sum(typology_plinth_area_m2), sum(typology_height_m) FROM survey_buildings WHERE expedition_id = ?",
            [ctx.expedition_id]).fetchone()
    finally:
        con.close()
    assert area == pytest.approx(src["plinth_area_sq_ft"].astype(float).sum() * 0.09290304)
    assert height == pytest.approx(src["height_ft_pre_eq"].astype(float).sum() * 0.3048)
