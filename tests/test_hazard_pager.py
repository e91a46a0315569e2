"""PAGER fatality model (Jaiswal & Wald 2010) and alert levels."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm

from expedition.science.geo.countries import load_countries
from expedition.science.geo.places import load_places
from expedition.science.hazard import HazardInputError
from expedition.science.hazard.exposure import estimate_shaking
from expedition.science.hazard.pager import (
    alert_level,
    expected_fatalities,
    fatality_rate,
    load_fatality_params,
    pager_estimate,
    reference_fatality_rates,
)
from expedition.science.hazard.rupture import segment_rupture


def test_published_parameters_shipped() -> None:
    params = load_fatality_params()
    # science.md section 3 (Jaiswal & Wald 2010): China 10.33/0.100, Nepal 14.57/0.205, Turkiye 11.07/0.106
    assert (round(params["CHN"].theta, 2), round(params["CHN"].beta, 3)) == (10.33, 0.100)
    assert (round(params["NPL"].theta, 2), round(params["NPL"].beta, 3)) == (14.57, 0.205)
    assert (round(params["TUR"].theta, 2), round(params["TUR"].beta, 3)) == (11.07, 0.106)
    assert params["TUR"].pager_status == "InCountry" and params["NPL"].pager_status == "InGroup"
    assert len(params) > 240
    assert all(p.source for p in params.values())


def test_fatality_rate_is_the_normal_cdf_of_the_log_ratio() -> None:
    # nu(S) = Phi(ln(S/theta)/beta); at S = theta the rate is exactly one half
    assert float(fatality_rate(10.33, 10.33, 0.1)) == pytest.approx(0.5)
    # China at MMI IX: ln(9/10.33) / 0.1 = -1.37814 -> Phi = 0.08409
    assert float(fatality_rate(9.0, 10.33, 0.1)) == pytest.approx(norm.cdf(math.log(9 / 10.33) / 0.1), rel=1e-12)
    with pytest.raises(HazardInputError):
        fatality_rate(0.0, 10.0, 0.1)


def test_expected_fatalities_hand_sum() -> None:
    exposure = {"VII": 1_000_000, "VIII": 100_000, "IX": 10_000}
    theta, beta = 11.07, 0.106
    hand = sum(pop * norm.cdf(math.log(s / theta) / beta) for s, pop in ((7, 1_000_000), (8, 100_000), (9, 10_000)))
    assert expected_fatalities(exposure, theta, beta) == pytest.approx(hand, rel=1e-12)
    with pytest.raises(HazardInputError, match="bin"):
        expected_fatalities({"XI": 5}, theta, beta)


def test_alert_levels() -> None:
    assert [alert_level(x) for x in (0, 0.99, 1, 99, 100, 999, 1000, 1e6)] == [
        "green",
        "green",
        "yellow",
        "yellow",
        "orange",
        "orange",
        "red",
        "red",
    ]
    assert alert_level(0.5, expected_losses_usd=2e8) == "orange"  # the higher track wins
    assert alert_level(2000, expected_losses_usd=10) == "red"
    with pytest.raises(HazardInputError):
        alert_level(-1)


def test_reference_rates_increase_with_intensity() -> None:
    ref = reference_fatality_rates()
    values = [ref[b] for b in ("IV", "V", "VI", "VII", "VIII", "IX", "X")]
    assert values == sorted(values) and 0 < values[-1] < 1


def test_pager_estimate_myanmar_2025_is_red() -> None:
    est = estimate_shaking(
        7.7, 22.01, 95.92, 10.0, segment_rupture(23.5, 96.0, 19.5, 96.0), load_places(), load_countries()
    )
    res = pager_estimate(est)
    # the real toll was in the thousands (PAGER red); the GeoNames proxy should land in the same band
    assert res.level == "red"
    assert 1000 <= res.expected_fatalities <= 50_000
    assert res.method_by_country["MMR"].startswith("jaiswal_wald_2010 MMR theta=14.57")
    assert res.expected_fatalities == pytest.approx(sum(res.fatalities_by_country.values()))
    assert any("Economic losses are not modelled" in c for c in res.caveats)
