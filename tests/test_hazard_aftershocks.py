"""Reasenberg & Jones (1989) / Page et al. (2016) aftershock forecasts against hand arithmetic."""

from __future__ import annotations

import math

import pytest

from expedition.science.hazard import HazardInputError
from expedition.science.hazard.aftershocks import (
    REGIMES,
    classify_regime,
    expected_number,
    field_safety_note,
    forecast,
    prob_at_least_one,
)


def test_expected_number_hand_calculation() -> None:
    # Generic California (a=-1.67, b=0.91, p=1.08, c=0.05), Mm=7, M>=5, first day:
    # productivity = 10^(-1.67 + 0.91*2) = 10^0.15 = 1.412538
    # integral = [(1.05)^(-0.08) - (0.05)^(-0.08)] / (-0.08) = (0.996104 - 1.270815) / (-0.08) = 3.433885
    # N = 1.412538 * 3.433885 = 4.850492; P(at least one M5+) = 1 - e^-4.850492 = 0.992175
    n = expected_number(-1.67, 0.91, 1.08, 0.05, 7.0, 5.0, 0.0, 1.0)
    assert n == pytest.approx(4.850492, rel=1e-6)
    assert prob_at_least_one(n) == pytest.approx(0.992175, abs=1e-6)


def test_expected_number_p_equal_one_uses_the_log() -> None:
    # p = 1: N = 10^(a + b(Mm - M)) ln((t2 + c)/(t1 + c)) = 10^(-2 + 1*(6 - 4)) ln(7.018/1.018) = ln(6.893910)
    assert expected_number(-2.0, 1.0, 1.0, 0.018, 6.0, 4.0, 1.0, 7.0) == pytest.approx(math.log(7.018 / 1.018))
    # continuity: p just off 1 gives nearly the same number
    assert expected_number(-2.0, 1.0, 1.0 + 1e-6, 0.018, 6.0, 4.0, 1.0, 7.0) == pytest.approx(
        math.log(7.018 / 1.018), rel=1e-5
    )
    with pytest.raises(HazardInputError):
        expected_number(-2.0, 1.0, 1.0, 0.018, 6.0, 4.0, 7.0, 1.0)


def test_forecast_windows_page_2016() -> None:
    fc = forecast(7.0, "ANSR-SHALCON")
    assert [w.label for w in fc.windows] == ["day", "week", "month", "year"]
    p = REGIMES["ANSR-SHALCON"]
    assert (p.a, p.b, p.p, p.c) == (-2.42, 1.0, 0.98, 0.018)
    week = fc.window("week")
    # M3+ in the first week: 10^(-2.42 + 4) * [(7.018)^0.02 - (0.018)^0.02] / 0.02
    hand = 10**1.58 * (7.018**0.02 - 0.018**0.02) / 0.02
    assert week.expected_m3 == pytest.approx(hand, rel=1e-12)
    assert week.p_m6 == pytest.approx(1 - math.exp(-(10 ** (-2.42 + 1.0)) * (7.018**0.02 - 0.018**0.02) / 0.02))
    # windows grow, and probabilities fall with magnitude
    counts = [w.expected_m3 for w in fc.windows]
    assert counts == sorted(counts)
    assert week.p_m5 > week.p_m6 > week.p_m7
    later = forecast(7.0, "ANSR-SHALCON", t0_days=30.0)
    assert later.window("week").expected_m3 < week.expected_m3
    assert "a=-2.42" in fc.model
    with pytest.raises(HazardInputError, match="regime"):
        forecast(7.0, "MOON")


def test_classify_regime() -> None:
    assert classify_regime(37.2, 37.0, 10.0) == "ANSR-SHALCON"
    assert classify_regime(36.0, 70.0, 55.0) == "ANSR-DEEPCON"
    assert classify_regime(-20.0, -69.0, 110.0) == "SZ-GENERIC"
    assert classify_regime(0.0, 0.0, 10.0, override="SCR-GENERIC") == "SCR-GENERIC"
    with pytest.raises(HazardInputError):
        classify_regime(0.0, 0.0, 10.0, override="X")


def test_field_safety_note() -> None:
    fc = forecast(7.7, "ANSR-SHALCON")
    en = field_safety_note(fc)
    zh = field_safety_note(fc, "zh")
    week = fc.window("week")
    assert f"{week.expected_m3:.0f}" in en and f"{week.expected_m3:.0f}" in zh
    assert "Page et al. (2016)" in en and "余震" in zh
    with pytest.raises(HazardInputError):
        field_safety_note(fc, "fr")
