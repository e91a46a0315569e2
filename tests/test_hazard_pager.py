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
    FATALITY_RANGES,
    alert_level,
    combined_zeta,
    expected_fatalities,
    fatality_probabilities,
    fatality_rate,
    load_fatality_params,
    pager_estimate,
    pager_from_exposure,
    params_for,
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


# --- USGS PAGER's own test vectors: usgs/pager test/models/fatality_test.py -------------------------
def test_pager_rates_test_vector() -> None:
    # LognormalModel('IR', 10.986839, 0.128601).getLossRates(arange(5, 10))
    rates = fatality_rate([5, 6, 7, 8, 9], 10.986839, 0.128601)
    published = [4.62833172e-10, 1.27558914e-06, 2.28027416e-04, 6.81282956e-03, 6.04383822e-02]
    assert rates.tolist() == pytest.approx(published, rel=1e-6)


def test_pager_northridge_vector_gives_22() -> None:
    # exposure at MMI 1..10 for the 1994 Northridge earthquake, PAGER model 'XF' (California):
    # PAGER getLosses -> 22 (MMI V-IX, X counted as IX). XF is not an ISO country, so its
    # parameters (fatality.xml vstr 2.2: theta 37.729406, beta 0.360337)
    # are used directly here.
    expo = [0, 0, 1506.0, 1946880.0, 6509154.0, 6690236.0, 3405381.0, 1892446.0, 5182.0, 0]
    bins = dict(zip(("IV", "V", "VI", "VII", "VIII", "IX", "X"), expo[3:]))
    assert int(expected_fatalities(bins, 37.729406, 0.360337)) == 22


def test_pager_x_is_counted_as_ix_and_iv_ignored() -> None:
    p = params_for("CHN")
    at_ix = expected_fatalities({"IX": 1000}, p.theta, p.beta)
    assert expected_fatalities({"X": 1000}, p.theta, p.beta) == pytest.approx(at_ix)
    assert expected_fatalities({"IV": 10_000_000}, p.theta, p.beta) == 0.0


def test_pager_combined_g_vector() -> None:
    # fatality_test.py: getCombinedG({'CO': 0.238, 'EC': 801.3}) == 2.5 (only EC has >= 1 death)
    assert combined_zeta({"COL": 2.38005147e-01, "ECU": 8.01285916e02}) == pytest.approx(
        min(params_for("ECU").gnorm, 2.5)
    )
    # several countries with losses: sqrt of the sum of squares, capped at 2.5
    assert combined_zeta({"CHN": 50, "NPL": 50}) == 2.5


def test_pager_probability_vector() -> None:
    # fatality_test.py: getProbabilities({'TotalFatalities': 70511}, G=2.5)
    probs = fatality_probabilities(70511, 2.5)
    published = [
        3.99586017993e-06,
        0.00019277654968408576,
        0.0041568251597835061,
        0.039995273501147441,
        0.17297196910604343,
        0.3382545813262674,
        0.44442457847445394,
    ]
    assert [probs[name] for name, _, _ in FATALITY_RANGES] == pytest.approx(published, rel=1e-9)
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-6)


def test_pager_from_exposure_alert_from_truncated_country_losses() -> None:
    res = pager_from_exposure({"CHN": {"VIII": 20_000}}, population_source="test")
    p = params_for("CHN")
    assert res.expected_fatalities == pytest.approx(20_000 * float(fatality_rate(8.0, p.theta, p.beta)))
    assert res.level == alert_level(float(int(res.expected_fatalities)))
    assert res.zeta == pytest.approx(params_for("CHN").gnorm)
    # the most likely range is the one holding the median (106.7 here)
    assert max(res.probabilities, key=lambda k: res.probabilities[k]) == "100-1,000"
    # a country without a PAGER model gets PAGER's default model (theta 16, beta 0.15)
    d = pager_from_exposure({"ZZZ": {"IX": 1_000_000}})
    assert d.fatalities_by_country["ZZZ"] == pytest.approx(1e6 * float(fatality_rate(9.0, 16.0, 0.15)))
    assert d.method_by_country["ZZZ"].startswith("pager_default")


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


def test_every_pager_range_has_its_event_assessments_column() -> None:
    from expedition.decisions.response.decisions import fatality_prob_column
    from warehouse.tables import spec

    names = [fatality_prob_column(lo, hi) for _, lo, hi in FATALITY_RANGES]
    assert names[0] == "fatality_prob_0_1" and names[3] == "fatality_prob_100_1000"
    assert names[-1] == "fatality_prob_100000_plus"
    columns = [n for n in spec("event_assessments").schema.names if n.startswith("fatality_prob_")]
    assert names == columns
    with pytest.raises(ValueError, match="no event_assessments column"):
        fatality_prob_column(5.0, 50.0)
