"""Gardner-Knopoff and Uhrhammer windows, in_sequence on synthetic and real (ComCat) events."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from expedition.science.geo.distance import EARTH_RADIUS_KM
from expedition.science.hazard import HazardInputError
from expedition.science.hazard.sequences import (
    as_datetime64,
    days_between,
    gardner_knopoff_window,
    in_sequence,
    uhrhammer_window,
)

KM_PER_DEG = EARTH_RADIUS_KM * math.pi / 180.0


def test_gardner_knopoff_hand_values() -> None:
    # M6: L = 10^(0.1238*6 + 0.983) = 10^1.7258 = 53.19 km; T = 10^(0.5409*6 - 0.547) = 10^2.6984 = 499.3 d
    d, t = gardner_knopoff_window(6.0)
    assert d == pytest.approx(10**1.7258, rel=1e-9)
    assert t == pytest.approx(10**2.6984, rel=1e-9)
    # M7 uses the large-event branch: T = 10^(0.032*7 + 2.7389) = 10^2.9629 = 918.2 d
    _, t7 = gardner_knopoff_window(7.0)
    assert t7 == pytest.approx(10**2.9629, rel=1e-9)
    # the branch switches at 6.5
    assert gardner_knopoff_window(6.5)[1] == pytest.approx(10 ** (0.032 * 6.5 + 2.7389))


def test_uhrhammer_hand_values() -> None:
    # M6: L = e^(-1.024 + 4.824) = e^3.8 = 44.70 km; T = e^(-2.87 + 7.41) = e^4.54 = 93.69 d
    d, t = uhrhammer_window(6.0)
    assert d == pytest.approx(math.exp(3.8), rel=1e-12)
    assert t == pytest.approx(math.exp(4.54), rel=1e-12)


def test_in_sequence_synthetic() -> None:
    t0 = np.datetime64("2024-01-01T00:00:00")
    lat = np.array([0.0, 0.3, 0.6, 0.1, 0.1])  # 0, 33, 67, 11, 11 km north
    lon = np.zeros(5)
    times = t0 + np.array([0, 1, 1, 600, -1], dtype="timedelta64[D]")
    got = in_sequence(0.0, 0.0, t0, 6.0, lat, lon, times)  # L = 53 km, T = 499 d
    assert got.tolist() == [True, True, False, False, False]
    with_fore = in_sequence(0.0, 0.0, t0, 6.0, lat, lon, times, include_foreshocks=True)
    assert with_fore.tolist() == [True, True, False, False, True]
    assert in_sequence(0.0, 0.0, t0, 6.0, lat, lon, times, window="uhrhammer").tolist() == [
        True,
        True,
        False,
        False,
        False,
    ]
    with pytest.raises(HazardInputError, match="window"):
        in_sequence(0.0, 0.0, t0, 6.0, lat, lon, times, window="reasenberg")
    with pytest.raises(HazardInputError, match="one shape"):
        in_sequence(0.0, 0.0, t0, 6.0, lat[:2], lon, times)


def test_time_inputs() -> None:
    aware = dt.datetime(2023, 2, 6, 4, 17, 34, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    assert as_datetime64(aware)[0] == np.datetime64("2023-02-06T01:17:34")
    assert as_datetime64("2023-02-06T01:17:34Z")[0] == np.datetime64("2023-02-06T01:17:34")
    assert days_between("2023-02-06T00:00:00", ["2023-02-07T12:00:00"])[0] == pytest.approx(1.5)
    with pytest.raises(HazardInputError, match="UTC time"):
        as_datetime64("yesterday")


def test_turkiye_2023_sequence_in_comcat(shared_data: Path) -> None:
    df = pd.read_csv(shared_data / "catalogs/usgs_csv/comcat_export_2022-2024_m5plus.csv", encoding="utf-8-sig")
    times = pd.to_datetime(df["time"], utc=True).dt.tz_localize(None).to_numpy(dtype="datetime64[ms]")
    main = df[(df["mag"] == 7.8) & df["place"].str.contains("Pazarcik")].iloc[0]
    t0 = np.datetime64(pd.Timestamp(main["time"]).tz_localize(None), "ms")
    seq = in_sequence(main["latitude"], main["longitude"], t0, 7.8, df["latitude"], df["longitude"], times)
    dist_km, days = gardner_knopoff_window(7.8)
    # every selected event is within the window, and the Elbistan M7.5 (88 km away, 9 h later) is in
    sel = df[seq]
    assert len(sel) >= 10
    hrs = (times[seq] - t0) / np.timedelta64(1, "h")
    assert hrs.min() >= 0 and hrs.max() <= days * 24
    assert ((sel["mag"] == 7.5) & sel["place"].str.contains("Elbistan")).any()
    # a far event of the same days (the 2023-02-06 sequence does not reach 5 degrees away) is out
    far = np.abs(df["latitude"] - main["latitude"]) > 5
    assert not (seq & far).any()
    assert dist_km / KM_PER_DEG < 5
