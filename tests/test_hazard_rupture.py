"""Rupture sizes (Wells & Coppersmith 1994), rupture distances, finite-fault effect, aftershock zones."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from expedition.science.geo.distance import EARTH_RADIUS_KM, haversine_km
from expedition.science.hazard import HazardInputError
from expedition.science.hazard.ipe import allen2012_rhyp, allen2012_rrup, to_roman
from expedition.science.hazard.rupture import (
    RuptureModel,
    aftershock_zone,
    default_rupture,
    point_rupture,
    rupture_area_km2,
    rupture_distance_km,
    rupture_width_km,
    segment_rupture,
    srl_km,
    wc1994_rupture,
    wells_coppersmith_rld_km,
)

KM_PER_DEG = EARTH_RADIUS_KM * math.pi / 180.0
MYANMAR_EPI = (22.01, 95.92)  # 2025-03-28 M7.7, depth about 10 km
NAYPYIDAW = (19.76, 96.08)


def test_wells_coppersmith_all_slip_types() -> None:
    # science.md section 9: M7.7 gives an RLD of about 130 km (10^(-2.44 + 0.59*7.7) = 10^2.103 = 126.8)
    assert wells_coppersmith_rld_km(7.7) == pytest.approx(10 ** (-2.44 + 0.59 * 7.7))
    assert 120 < wells_coppersmith_rld_km(7.7) < 135
    assert srl_km(7.0) == pytest.approx(10 ** (-3.22 + 0.69 * 7.0))  # 10^1.61 = 40.7 km
    assert rupture_area_km2(7.0) == pytest.approx(10 ** (-3.49 + 0.91 * 7.0))  # 10^2.88 = 759 km2
    assert rupture_width_km(7.0) == pytest.approx(10 ** (-1.01 + 0.32 * 7.0))  # 10^1.23 = 17.0 km
    with pytest.raises(HazardInputError, match="magnitude"):
        wells_coppersmith_rld_km(12.0)


def test_distances_of_each_kind() -> None:
    pt = point_rupture(0.0, 0.0, 10.0)
    # 1 degree north: hypocentral distance sqrt(111.195^2 + 10^2)
    assert rupture_distance_km(pt, [1.0], [0.0])[0] == pytest.approx(math.hypot(KM_PER_DEG, 10.0))
    line = RuptureModel("wc1994_line", ((0.0, 0.0),), 100.0, 2.0, "test")
    # R = max(Repi - L/2, 0) with depth to top: 111.195 - 50 = 61.195 -> sqrt(61.195^2 + 2^2)
    d = rupture_distance_km(line, [1.0, 0.2], [0.0, 0.0])
    assert d[0] == pytest.approx(math.hypot(KM_PER_DEG - 50.0, 2.0))
    assert d[1] == pytest.approx(2.0)  # inside L/2: only the depth to the top remains
    seg = segment_rupture(0.0, 0.0, 0.0, 2.0, top_depth_km=0.0)
    assert seg.length_km == pytest.approx(2 * KM_PER_DEG)
    assert rupture_distance_km(seg, [0.5, 0.0], [1.0, 3.0]).tolist() == pytest.approx([0.5 * KM_PER_DEG, KM_PER_DEG])
    assert seg.center == pytest.approx((0.0, 1.0))
    assert seg.half_extent_km == pytest.approx(KM_PER_DEG)


def test_default_and_wc_ruptures() -> None:
    assert default_rupture(5.5, 10.0, 20.0, 12.0).kind == "point"
    big = default_rupture(7.7, 10.0, 20.0, 12.0)
    assert big.kind == "wc1994_line" and big.length_km == pytest.approx(wells_coppersmith_rld_km(7.7))
    # top of a centred vertical rupture: depth - W/2, W = 10^(-1.01 + 0.32*7.7) = 28.2 km -> 0
    assert big.top_depth_km == 0.0
    assert wc1994_rupture(6.0, 0, 0, 20.0).top_depth_km == pytest.approx(20.0 - 10 ** (-1.01 + 0.32 * 6.0) / 2)


def test_rupture_model_validation() -> None:
    with pytest.raises(HazardInputError, match="kind"):
        RuptureModel("ellipse", ((0.0, 0.0),), 1.0, 0.0, "x")
    with pytest.raises(HazardInputError, match="vertices"):
        RuptureModel("segment", ((0.0, 0.0),), 1.0, 0.0, "x")
    with pytest.raises(HazardInputError, match="top depth"):
        RuptureModel("point", ((0.0, 0.0),), 0.0, -1.0, "x")


def test_myanmar_2025_finite_fault_raises_naypyidaw_intensity() -> None:
    # Point source: Naypyidaw is about 250 km from the epicentre -> about MMI V (Allen et al. 2012, Rhyp).
    rhyp = rupture_distance_km(point_rupture(*MYANMAR_EPI, 10.0), [NAYPYIDAW[0]], [NAYPYIDAW[1]])
    assert 240 < rhyp[0] < 260
    mmi_point, _ = allen2012_rhyp(7.7, rhyp)
    assert to_roman(mmi_point[0]) in ("V", "VI")
    # The rupture ran about 450 km N-S along the Sagaing fault (~96.0E, 23.5N to 19.5N).
    trace = segment_rupture(23.5, 96.0, 19.5, 96.0, top_depth_km=0.0, source="Sagaing fault trace (approx.)")
    rrup = rupture_distance_km(trace, [NAYPYIDAW[0]], [NAYPYIDAW[1]])
    assert rrup[0] < 15.0
    mmi_fault, _ = allen2012_rrup(7.7, rrup)
    assert mmi_fault[0] >= 7.5  # VIII
    assert mmi_fault[0] - mmi_point[0] >= 2.0
    # the W&C line (strike unknown) sits in between: a floor on the effect, not the real extent
    wc = wc1994_rupture(7.7, *MYANMAR_EPI, 10.0)
    mmi_wc, _ = allen2012_rrup(7.7, rupture_distance_km(wc, [NAYPYIDAW[0]], [NAYPYIDAW[1]]))
    assert mmi_wc[0] < mmi_fault[0]


def test_aftershock_zone_too_few_events() -> None:
    t0 = np.datetime64("2024-01-01T00:00")
    times = t0 + np.array([1, 2, 3], dtype="timedelta64[h]")
    assert aftershock_zone(0, 0, t0, 7.0, [0.1, 0.2, 0.3], [0, 0, 0], times, [5, 5, 5]) is None


def test_aftershock_zone_synthetic_line() -> None:
    # 21 aftershocks spread evenly along the equator from 1W to 1E in the first 20 hours
    t0 = np.datetime64("2024-01-01T00:00")
    lon = np.linspace(-1.0, 1.0, 21)
    times = t0 + np.arange(1, 22).astype("timedelta64[h]")
    zone = aftershock_zone(0.0, 0.0, t0, 7.5, np.zeros(21), lon, times, np.full(21, 5.0), trim_percentiles=(0, 100))
    assert zone is not None and zone.kind == "aftershock_zone"
    assert zone.length_km == pytest.approx(2 * KM_PER_DEG, rel=1e-3)
    assert {round(v[0], 6) for v in zone.vertices} == {0.0}
    late = aftershock_zone(
        0.0, 0.0, t0, 7.5, np.zeros(21), lon, times, np.full(21, 5.0), hours=10, trim_percentiles=(0, 100)
    )
    assert late is not None and late.n_events == 10  # only the first ten hours


def test_turkiye_2023_first_day_aftershock_zone(shared_data: Path) -> None:
    """The 2023-02-06 M7.8: first-day M5+ aftershocks outline a rupture far longer than W&C predicts.

    The real rupture was about 350 km (Antakya to Malatya). This file holds only M >= 5 events and
    the first day's M5+ aftershocks cover the central and north-eastern part (no M5+ on the
    Hatay segment until later), so the zone they outline (~200 km) is a lower bound; it is still
    longer than the W&C regression (145 km) and follows the East Anatolian Fault (strike NE).
    """
    df = pd.read_csv(shared_data / "catalogs/usgs_csv/comcat_export_2022-2024_m5plus.csv", encoding="utf-8-sig")
    times = pd.to_datetime(df["time"], utc=True).dt.tz_localize(None).to_numpy(dtype="datetime64[ms]")
    main = df[(df["mag"] == 7.8) & df["place"].str.contains("Pazarcik")].iloc[0]
    t0 = np.datetime64(pd.Timestamp(main["time"]).tz_localize(None), "ms")
    zone = aftershock_zone(
        main["latitude"],
        main["longitude"],
        t0,
        7.8,
        df["latitude"],
        df["longitude"],
        times,
        df["mag"],
        hours=24,
        depth_km=main["depth"],
    )
    assert zone is not None
    wc = wells_coppersmith_rld_km(7.8)
    assert 170.0 < zone.length_km < 300.0
    assert zone.length_km > 1.3 * wc
    (lat_a, lon_a), (lat_b, lon_b) = zone.vertices
    strike = math.degrees(math.atan2((lon_b - lon_a) * math.cos(math.radians(37.5)), lat_b - lat_a)) % 180
    assert 30.0 < strike < 75.0  # NE-SW, along the East Anatolian Fault
    # the window stopped before the Elbistan M7.5 doublet (9.1 h later)
    assert "9.1 h" in zone.source and zone.n_events >= 5
    # the epicentre lies within a few km of the outlined trace
    assert rupture_distance_km(zone, [main["latitude"]], [main["longitude"]])[0] < 20.0
    assert haversine_km(lat_a, lon_a, lat_b, lon_b)[()] == pytest.approx(zone.length_km)
