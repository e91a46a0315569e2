"""ShakeMap's subduction models against OpenQuake hazardlib's published verification tables.

Rows from ``openquake/hazardlib/tests/gsim/data/`` (repository gem/oq-engine):
``BCHYDRO/BCHYDRO_SINTER_CENTRAL_MEAN.csv`` and ``BCHYDRO_SSLAB_CENTRAL_MEAN.csv`` (Abrahamson et al.
2016, ``AbrahamsonEtAl2015SInter/SSlab``; forearc rows, ``site_backarc`` 0) and ``AB03/AB03SInter_MEAN.csv``,
``AB03SSlab_MEAN.csv``, ``AB03SSlabCascadiaNSHMP_MEAN.csv`` (Atkinson & Boore 2003). PGA in g.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from expedition.science.hazard import HazardInputError
from expedition.science.hazard.gmm import ground_motion
from expedition.science.hazard.gmm_subduction import SUBDUCTION_SETS, ab2003, bchydro2016, weighted_set

# rup_mag, dist_rrup, site_vs30, pga -- BCHYDRO_SINTER_CENTRAL_MEAN.csv (backarc 0)
BCH_INTERFACE = [
    (8.0, 5.0, 1200.0, 8.90054939e-01),
    (8.0, 20.0, 1200.0, 4.87896991e-01),
    (8.0, 300.0, 1200.0, 2.33841928e-02),
    (9.0, 1.0, 180.0, 5.83048200e-01),
    (9.0, 50.0, 360.0, 3.62613424e-01),
    (9.0, 10.0, 570.0, 7.58829477e-01),
    (9.0, 300.0, 1200.0, 4.16378773e-02),
]
# rup_mag, rup_hypo_depth, dist_rhypo, site_vs30, pga -- BCHYDRO_SSLAB_CENTRAL_MEAN.csv (backarc 0)
BCH_SLAB = [
    (5.0, 45.0, 1.0, 180.0, 6.13167470e-01),
    (5.0, 45.0, 20.0, 360.0, 1.19299160e-01),
    (5.0, 45.0, 300.0, 850.0, 4.58130457e-04),
    (5.0, 45.0, 100.0, 1200.0, 4.63930477e-03),
    (5.0, 90.0, 1.0, 570.0, 1.76752207e00),
]
# rup_mag, rup_hypo_depth, dist_rrup, site_vs30, pga -- AB03SInter_MEAN.csv / AB03SSlab_MEAN.csv
AB03_INTERFACE = [
    (8.0, 250.0, 50.0, 180.0, 0.5070854395527985),
    (8.0, 250.0, 120.0, 900.0, 0.3132034659932594),
    (8.0, 250.0, 200.0, 600.0, 0.254396862360886),
    (8.3, 0.0, 0.0, 900.0, 0.10006609699044737),
    (8.3, 0.0, 50.0, 600.0, 0.14146491422063687),
]
AB03_SLAB = [
    (5.0, 0.0, 0.0, 180.0, 0.5096162670346318),
    (5.0, 0.0, 10.0, 250.0, 0.06751165812899322),
    (5.0, 0.0, 200.0, 600.0, 1.2598049213285209e-4),
    (5.0, 10.0, 50.0, 600.0, 0.0038762907175993043),
    (5.0, 10.0, 90.0, 900.0, 7.300244060025158e-4),
]
# rup_mag, rup_hypo_depth, dist_rrup, pga at Vs30 761 m/s -- AB03SSlabCascadiaNSHMP_MEAN.csv; the NSHMP
# variant adds half the class-C term (0.5 c5 = 0.095 in log10) above 760 m/s, nonlinear factor 1 at
# these rock PGAs (< 100 cm/s^2)
AB03_CASCADIA = [(5.0, 50.0, 50.2493782, 0.0054783), (6.0, 50.0, 98.6154175, 0.0077408), (6.0, 50.0, 201.308228, 0.0013923)]


@pytest.mark.parametrize(("m", "r", "vs30", "pga"), BCH_INTERFACE)
def test_bchydro_interface_rows(m: float, r: float, vs30: float, pga: float) -> None:
    ln, sigma, tau = bchydro2016(m, np.array([r]), np.array([vs30]), 20.0, "interface")
    assert math.exp(ln[0]) == pytest.approx(pga, rel=1e-6)
    assert (sigma, tau) == pytest.approx((math.hypot(0.6, 0.43), 0.43))  # Table 3: phi 0.6, tau 0.43


@pytest.mark.parametrize(("m", "h", "r", "vs30", "pga"), BCH_SLAB)
def test_bchydro_intraslab_rows(m: float, h: float, r: float, vs30: float, pga: float) -> None:
    ln, _, _ = bchydro2016(m, np.array([r]), np.array([vs30]), h, "intraslab")
    assert math.exp(ln[0]) == pytest.approx(pga, rel=1e-6)


# hazardlib generated the AB03 tables with g = 9.81 (0.034 % from scipy's 9.80665); its own tolerance is 0.1 %
@pytest.mark.parametrize(("m", "h", "r", "vs30", "pga"), AB03_INTERFACE)
def test_ab03_interface_rows(m: float, h: float, r: float, vs30: float, pga: float) -> None:
    ln, _, _ = ab2003(m, np.array([r]), np.array([vs30]), h, "interface")
    assert math.exp(ln[0]) == pytest.approx(pga, rel=1e-3)


@pytest.mark.parametrize(("m", "h", "r", "vs30", "pga"), AB03_SLAB)
def test_ab03_intraslab_rows(m: float, h: float, r: float, vs30: float, pga: float) -> None:
    ln, _, _ = ab2003(m, np.array([r]), np.array([vs30]), h, "intraslab")
    assert math.exp(ln[0]) == pytest.approx(pga, rel=1e-3)


@pytest.mark.parametrize(("m", "h", "r", "pga"), AB03_CASCADIA)
def test_ab03_cascadia_rows(m: float, h: float, r: float, pga: float) -> None:
    ln, _, _ = ab2003(m, np.array([r]), np.array([761.0]), h, "intraslab", cascadia=True)
    assert math.exp(ln[0]) * 10 ** (0.5 * 0.19) == pytest.approx(pga, rel=1e-3)


def test_ab03_rock_and_bad_kinds() -> None:
    with pytest.raises(HazardInputError):
        ab2003(7.0, np.array([10.0]), np.array([400.0]), 20.0, "interface", cascadia=True)
    with pytest.raises(HazardInputError):
        ab2003(7.0, np.array([10.0]), np.array([400.0]), 20.0, "crustal")
    with pytest.raises(HazardInputError):
        bchydro2016(7.0, np.array([10.0]), np.array([400.0]), 20.0, "crustal")


def test_weighted_set_is_shakemaps_mixture() -> None:
    """ShakeMap's weights (gmpe_sets.conf) sum to one; the set's median lies between its members'
    and equals their weighted ln mean; its sigma covers the members' spread."""
    for kind, members in SUBDUCTION_SETS.items():
        assert sum(w for _, w in members) == pytest.approx(1.0)
        assert {n for n, _ in members} >= {"zhao", "bchydro", "ab03"}, kind
    r = np.array([30.0, 80.0, 200.0])
    vs = np.full(3, 300.0)
    z = ground_motion("intraslab", 7.5, r, r, vs, 61.0)
    rh = np.sqrt(r**2 + 61.0**2)
    ln, sig, tau = weighted_set(
        "intraslab", 7.5, r, rh, vs, 61.0, (z.ln_pga, float(z.sigma_ln_pga[0]), z.tau_ln_pga or 0.0)
    )
    members = [
        z.ln_pga,
        bchydro2016(7.5, rh, vs, 61.0, "intraslab")[0],
        ab2003(7.5, r, vs, 61.0, "intraslab")[0],
        ab2003(7.5, r, vs, 61.0, "intraslab", cascadia=True)[0],
    ]
    expected = members[0] / 3 + members[1] / 3 + members[2] / 6 + members[3] / 6
    np.testing.assert_allclose(ln, expected, rtol=1e-12)
    assert np.all(ln >= np.min(members, axis=0)) and np.all(ln <= np.max(members, axis=0))
    assert np.all(sig >= min(float(z.sigma_ln_pga[0]), 0.27 * math.log(10.0)))
    assert 0.3 < tau < 0.45
    gm = ground_motion("intraslab", 7.5, r, r, vs, 61.0, rhypo_km=rh, subduction_set="shakemap")
    np.testing.assert_allclose(gm.ln_pga, ln)
    assert gm.model == "NSHMP14 intraslab set"
    # crustal settings are untouched by the subduction set
    assert ground_motion("active_crust", 7.5, r, r, vs, 10.0, subduction_set="shakemap").model == "BSSA14"
    with pytest.raises(HazardInputError):
        ground_motion("interface", 7.5, r, r, vs, 20.0, subduction_set="zhao16")
