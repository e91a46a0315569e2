"""The analytics views on a small synthetic expedition with answers worked out by hand and by pandas."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

UTC = dt.UTC
EXP = "EXP-2026-TST-001"
T0 = dt.datetime(2026, 1, 10, 3, 0, tzinfo=UTC)


def _exp_row(mag: float = 5.5) -> dict[str, Any]:
    return {"expedition_id": EXP, "expedition_version": 1, "recorded_utc": T0, "expedition_status": "approved",
            "expedition_tier": 3, "expedition_priority": 1, "primary_country_iso3": "TST",
            "mainshock_event_id": "ev1", "mainshock_origin_time_utc": T0, "mainshock_latitude_deg": 30.0,
            "mainshock_longitude_deg": 100.0, "mainshock_depth_km": 10.0, "mainshock_magnitude_value": mag}


def _obs(i: int, **kw: Any) -> dict[str, Any]:
    return {"expedition_id": EXP, "observation_id": f"o{i}", "raw_sha256": "x" * 64, "raw_row_number": i + 2,
            "ingest_batch_id": "b1", "ingested_time_utc": T0, **kw}


# (typology, material, EMS-98 grade, latitude or None, surveyor, day)
BUILDINGS = [
    ("MUR+STRUB", "MUR", 5, 30.0, "ana", 11), ("MUR+STRUB", "MUR", 4, 30.0, "ana", 11),
    ("MUR+STRUB", "MUR", 4, 30.5, "ana", 12), ("MUR+STRUB", "MUR", 2, 30.5, "bo", 12),
    ("CR+CIP", "CR", 1, 30.0, "bo", 12), ("CR+CIP", "CR", 2, 31.0, "bo", 12),
    ("CR+CIP", "CR", 3, None, "bo", 13), ("CR+CIP", "CR", 0, None, None, 13),
]


@pytest.fixture
def analytics_lake(lake: Any) -> Any:
    from warehouse.tables import spec

    rows = [_obs(i, building_id=f"B{i}", typology_gem_taxonomy=t, typology_material=m, damage_ems98_grade=g,
                 site_latitude_deg=lat, site_longitude_deg=100.0 if lat is not None else None, surveyor_name=s,
                 surveyed_time_utc=dt.datetime(2026, 1, d, 8, tzinfo=UTC))
            for i, (t, m, g, lat, s, d) in enumerate(BUILDINGS)]
    intensity = [_obs(100 + i, site_id=f"S{i}", intensity_scale_name="ems98", intensity_value=v,
                      site_latitude_deg=30.0 + dlat, site_longitude_deg=100.0)
                 for i, (v, dlat) in enumerate([(8.0, 0.0), (6.0, 0.5), (5.5, 1.0)])]
    failures = [_obs(200, failure_id="GF1", failure_type="liquefaction", failure_area_m2=50.0),
                _obs(201, failure_id="GF2", failure_type="landslide", failure_length_m=120.0),
                _obs(202, failure_id="GF3", failure_type="landslide", failure_length_m=80.0)]
    lifelines = [_obs(300 + i, element_id=f"L{i}", element_type="bridge", service_functionality=f)
                 for i, f in enumerate(["functional", "non_functional", "partial", "non_functional"])]
    with lake.writer() as w:
        w.write("expedition_versions", pa.Table.from_pylist([_exp_row()], schema=spec("expedition_versions").schema))
        for name, data in (("survey_buildings_obs", rows), ("survey_intensity_obs", intensity),
                           ("survey_ground_failure_obs", failures), ("survey_lifelines_obs", lifelines)):
            present = {k for row in data for k in row}  # from_pylist alone would keep only the first row's keys
            cols = [c for c in spec(name).columns if c in present]
            w.write(name, pa.Table.from_pylist([{c: row.get(c) for c in cols} for row in data],
                                               schema=pa.schema([spec(name).schema.field(c) for c in cols])))
    return lake


def _q(lake: Any, sql: str) -> pd.DataFrame:
    con = lake.connect(read_only=True)
    try:
        return con.execute(sql).to_arrow_table().to_pandas()
    finally:
        con.close()


def test_damage_share_by_typology_matches_hand_counts(analytics_lake: Any) -> None:
    df = _q(analytics_lake, "SELECT * FROM analytics_damage_share_by_typology ORDER BY typology").set_index("typology")
    assert df.loc["MUR+STRUB", "building_count"] == 4
    assert df.loc["MUR+STRUB", "count_grade_4_5"] == 3
    assert df.loc["MUR+STRUB", "share_grade_4_5"] == pytest.approx(0.75)
    assert df.loc["MUR+STRUB", "share_grade_5"] == pytest.approx(0.25)
    assert df.loc["CR+CIP", "share_grade_2_3"] == pytest.approx(0.5)
    assert (df["damage_scale"] == "EMS-98").all() and (df["damage_scale_grades"] == 5).all()


def test_damage_by_typology_shares_sum_to_one(analytics_lake: Any) -> None:
    df = _q(analytics_lake, "SELECT * FROM analytics_damage_by_typology")
    sums = df.groupby("typology")["grade_share"].sum()
    assert np.allclose(sums.to_numpy(), 1.0)
    src = pd.DataFrame(BUILDINGS, columns=["typology", "m", "grade", "lat", "s", "d"])
    expect = src.groupby(["typology", "grade"]).size()
    got = df.set_index(["typology", "damage_grade"])["building_count"]
    assert got.sort_index().to_dict() == expect.sort_index().to_dict()


def test_mean_grade_confidence_interval_is_normal_approximation(analytics_lake: Any) -> None:
    df = _q(analytics_lake, "SELECT * FROM analytics_damage_grade_mean WHERE typology = '*'")
    grades = np.array([b[2] for b in BUILDINGS], dtype=float)
    half = 1.96 * grades.std(ddof=1) / math.sqrt(len(grades))
    assert df["damage_grade_mean"].iloc[0] == pytest.approx(grades.mean())
    assert df["damage_grade_ci95_low"].iloc[0] == pytest.approx(grades.mean() - half)
    assert df["damage_grade_ci95_high"].iloc[0] == pytest.approx(grades.mean() + half)


def test_distance_bands_and_estimated_intensity(analytics_lake: Any) -> None:
    from expedition.science.hazard.ipe import allen2012_rrup

    b = _q(analytics_lake, "SELECT * FROM analytics_building_grades ORDER BY observation_id")
    located = b.dropna(subset=["site_latitude_deg"])
    assert len(located) == 6 and b["rupture_distance_km"].isna().sum() == 2
    # M5.5 is a point source: Rrup = hypocentral distance; 0.5 degree of latitude is 55.6 km
    at_half = located[located["site_latitude_deg"] == 30.5].iloc[0]
    assert at_half["rupture_distance_km"] == pytest.approx(math.hypot(0.5 * 111.195, 10.0), rel=1e-3)
    mmi, _ = allen2012_rrup(5.5, [at_half["rupture_distance_km"]])
    assert at_half["estimated_mmi"] == pytest.approx(float(mmi[0]))
    d = _q(analytics_lake, "SELECT distance_band_min_km, sum(building_count) AS n "
                           "FROM analytics_damage_by_distance GROUP BY ALL ORDER BY 1")
    assert d.set_index("distance_band_min_km")["n"].to_dict() == {10: 3, 50: 2, 100: 1}
    i = _q(analytics_lake, "SELECT sum(building_count) AS n FROM analytics_damage_by_intensity")
    assert int(i["n"].iloc[0]) == 6


def test_intensity_residuals_against_the_ipe(analytics_lake: Any) -> None:
    from expedition.science.hazard.ipe import allen2012_rrup

    r = _q(analytics_lake, "SELECT * FROM analytics_intensity_residuals ORDER BY site_id")
    mmi, sigma = allen2012_rrup(5.5, r["rupture_distance_km"].to_numpy())
    assert np.allclose(r["intensity_residual"], r["observed_intensity"] - mmi)
    assert np.allclose(r["ipe_sigma"], sigma)
    s = _q(analytics_lake, "SELECT * FROM analytics_intensity_residual_summary")
    assert s["residual_bias"].iloc[0] == pytest.approx(float(np.mean(r["intensity_residual"])))
    assert s["residual_scatter"].iloc[0] == pytest.approx(float(np.std(r["intensity_residual"], ddof=1)))
    assert s["observed_intensity_max"].iloc[0] == 8.0 and s["observed_intensity_max_site"].iloc[0] == "S0"


def test_ground_failure_lifelines_and_coverage(analytics_lake: Any) -> None:
    g = _q(analytics_lake, "SELECT * FROM analytics_ground_failure ORDER BY failure_type").set_index("failure_type")
    assert g.loc["landslide", "site_count"] == 2 and g.loc["landslide", "site_ids"] == "GF2, GF3"
    assert g.loc["landslide", "failure_length_max_m"] == 120.0
    lf = _q(analytics_lake, "SELECT * FROM analytics_lifeline_functionality").iloc[0]
    assert (lf["element_count"], lf["functional_count"], lf["non_functional_count"]) == (4, 1, 2)
    assert lf["non_functional_share"] == pytest.approx(0.5)
    c = _q(analytics_lake, "SELECT * FROM analytics_survey_coverage")
    per = {(r.coverage_dimension, r.coverage_key): r.building_count for r in c.itertuples()}
    assert per[("surveyor", "ana")] == 3 and per[("surveyor", "unnamed")] == 1
    assert per[("day", "2026-01-12")] == 4 and per[("area", "unlocated")] == 2
    known = {(r.coverage_dimension, r.coverage_key): r.coverage_key_known for r in c.itertuples()}
    assert not known[("surveyor", "unnamed")] and not known[("area", "unlocated")] and known[("surveyor", "ana")]
    assert sum(v for (dim, _), v in per.items() if dim == "area") == len(BUILDINGS)
