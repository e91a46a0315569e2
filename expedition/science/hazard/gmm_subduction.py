"""Subduction ground-motion models of ShakeMap's weighted sets, and the weighted set itself.

USGS ShakeMap (``shakemap/data/gmpe_sets.conf``) does not use one subduction model but a weighted
set, after the 2014 US National Seismic Hazard Model:

* ``subduction_interface_nshmp2014``: Atkinson & Boore (2003) interface 0.2, Zhao et al. (2016)
  interface 0.4, Abrahamson et al. (2016, "BC Hydro") interface 0.4;
* ``subduction_slab_nshmp2014``: Atkinson & Boore (2003) intraslab, global 1/6 and Cascadia 1/6,
  Zhao et al. (2016) intraslab 1/3, Abrahamson et al. (2016) intraslab 1/3.

This module transcribes the two models the project did not have (PGA only, which is what the chain
converts to intensity for subduction events), checked in ``tests/test_hazard_gmm_subduction.py``
against OpenQuake hazardlib's verification tables (``AbrahamsonEtAl2015SInter/SSlab``,
``AtkinsonBoore2003SInter/SSlab/SSlabCascadia``), and :func:`weighted_set` combines them with the
project's Zhao et al. (2006) standing in for Zhao et al. (2016) (not transcribed: docs/science.md).

* Abrahamson, N., Gregor, N., Addo, K. (2016). BC Hydro ground motion prediction equations for
  subduction earthquakes. Earthquake Spectra 32(1), 23-44 (central magnitude scaling, forearc sites).
* Atkinson, G. M., Boore, D. M. (2003). Empirical ground-motion relations for subduction-zone
  earthquakes and their application to Cascadia and other regions. BSSA 93(4), 1703-1729; erratum
  BSSA 98(5), 2567-2569 (2008).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from expedition.science.hazard import HazardInputError

__all__ = ["SUBDUCTION_SETS", "ab2003", "bchydro2016", "weighted_set"]

FloatArray = NDArray[np.float64]
G = 9.80665  # standard gravity (m/s^2), as hazardlib

# fmt: off
# Abrahamson et al. (2016) Table 2 (period-independent) and Table 3, PGA row; dC1 central: interface
# 0.2 (Table 4), intraslab -0.3 (hazardlib AbrahamsonEtAl2015SInter/SSlab)
_BCH = dict(n=1.18, c=1.88, theta3=0.1, theta4=0.9, theta5=0.0, theta9=0.4, c4=10.0, C1=7.8,
            vlin=865.1, b=-1.186, theta1=4.2203, theta2=-1.35, theta6=-0.0012, theta10=3.12,
            theta11=0.0130, theta12=0.980, theta13=-0.0135, theta14=-0.40, phi=0.6, tau=0.43)
_BCH_DC1 = {"interface": 0.2, "intraslab": -0.3}

# Atkinson & Boore (2003) Table 1, PGA rows (log10 cm/s^2); Cascadia intraslab c1 from Table 3
_AB03 = {
    "interface": dict(c1=2.991, c2=0.03525, c3=0.00759, c4=-0.00206, c5=0.19, c6=0.24, c7=0.29, s2=0.11),
    "intraslab": dict(c1=-0.04713, c2=0.6909, c3=0.01130, c4=-0.00202, c5=0.19, c6=0.24, c7=0.29, s2=0.14),
}
_AB03_CASCADIA_C1 = -0.25
# fmt: on


def bchydro2016(
    m: float, r_km: ArrayLike, vs30: ArrayLike, hypo_depth_km: float, kind: str
) -> tuple[FloatArray, float, float]:
    """Abrahamson et al. (2016) PGA: (median ln g, total sigma, tau) for ``kind`` "interface" (``r_km``
    = Rrup) or "intraslab" (``r_km`` = hypocentral distance), forearc or unknown sites (F_FABA = 0)."""
    if kind not in _BCH_DC1:
        raise HazardInputError(f"bchydro2016: kind must be interface or intraslab, got {kind!r}")
    c = _BCH
    r = np.asarray(r_km, dtype=float)
    v = np.broadcast_to(np.asarray(vs30, dtype=float), r.shape)
    dc1 = _BCH_DC1[kind]
    slab = kind == "intraslab"
    # eq. (2): magnitude scaling with the break at C1 + dC1
    mb = c["C1"] + dc1
    f_mag = (c["theta4"] if m <= mb else c["theta5"]) * (m - mb) + c["theta13"] * (10.0 - m) ** 2
    base = c["theta1"] + c["theta4"] * dc1 + f_mag
    # eq. (1): geometric spreading and anelastic terms; intraslab adds theta14 and theta10 (F_event = 1)
    spread = c["theta2"] + (c["theta14"] if slab else 0.0) + c["theta3"] * (m - 7.8)
    f_dist = spread * np.log(r + c["c4"] * np.exp((m - 6.0) * c["theta9"])) + c["theta6"] * r
    if slab:
        f_dist = f_dist + c["theta10"] + c["theta11"] * (min(hypo_depth_km, 120.0) - 60.0)  # eq. (3)
    rock = base + f_dist
    # PGA on rock (Vs30 1000 m/s) drives the nonlinear site term, eq. (5)
    pga1000 = np.exp(rock + (c["theta12"] + c["b"] * c["n"]) * np.log(1000.0 / c["vlin"]))
    arg = np.minimum(v, 1000.0) / c["vlin"]
    site = c["theta12"] * np.log(arg)
    lin = v >= c["vlin"]
    site = site + np.where(
        lin,
        c["b"] * c["n"] * np.log(arg),
        -c["b"] * np.log(pga1000 + c["c"]) + c["b"] * np.log(pga1000 + c["c"] * arg ** c["n"]),
    )
    return rock + site, float(np.hypot(c["phi"], c["tau"])), float(c["tau"])


def ab2003(
    m: float, rrup_km: ArrayLike, vs30: ArrayLike, hypo_depth_km: float, kind: str, *, cascadia: bool = False
) -> tuple[FloatArray, float, float]:
    """Atkinson & Boore (2003, 2008 erratum) PGA: (median ln g, total sigma, tau) for ``kind``
    "interface" or "intraslab" (global coefficients; ``cascadia`` the intraslab Cascadia c1)."""
    if kind not in _AB03:
        raise HazardInputError(f"ab2003: kind must be interface or intraslab, got {kind!r}")
    c = dict(_AB03[kind])
    if cascadia:
        if kind != "intraslab":
            raise HazardInputError("ab2003: the Cascadia coefficients are for intraslab events")
        c["c1"] = _AB03_CASCADIA_C1
    rrup = np.asarray(rrup_km, dtype=float)
    v = np.broadcast_to(np.asarray(vs30, dtype=float), rrup.shape)
    # magnitude capped at 8.5 (interface) / 8.0 (intraslab), p. 1709; depth capped at 100 km
    mm = min(m, 8.5) if kind == "interface" else min(m, 8.0)
    g = 10.0 ** (1.2 - 0.18 * mm) if kind == "interface" else 10.0 ** (0.301 - 0.01 * mm)
    h = min(hypo_depth_km, 100.0)
    delta = 0.00724 * 10.0 ** (0.507 * mm)
    r = np.sqrt(rrup**2 + delta**2)
    # eq. (1), log10 cm/s^2, rock (site classes B and above)
    rock = c["c1"] + c["c2"] * mm + c["c3"] * h + c["c4"] * r - g * np.log10(r)
    pga_rx = 10.0**rock
    # soil nonlinearity: sl = 1 up to 100 cm/s^2 on rock, 0 from 500, linear between
    sl = np.clip(1.0 - (pga_rx - 100.0) / 400.0, 0.0, 1.0)
    sc = (v > 360.0) & (v <= 760.0)
    sd = (v >= 180.0) & (v <= 360.0)
    se = v < 180.0
    log10y = rock + sl * (c["c5"] * sc + c["c6"] * sd + c["c7"] * se)
    ln_g = np.log(10.0**log10y * 1e-2 / G)
    sigma = {"interface": 0.23, "intraslab": 0.27}[kind] * np.log(10.0)
    return ln_g, float(sigma), float(c["s2"] * np.log(10.0))


#: ShakeMap's NSHMP 2014 subduction sets (gmpe_sets.conf): (model, weight); "zhao" is the project's
#: Zhao et al. (2006) standing in for Zhao et al. (2016)
SUBDUCTION_SETS: dict[str, tuple[tuple[str, float], ...]] = {
    "interface": (("ab03", 0.2), ("zhao", 0.4), ("bchydro", 0.4)),
    "intraslab": (("ab03", 1.0 / 6.0), ("ab03_cascadia", 1.0 / 6.0), ("zhao", 1.0 / 3.0), ("bchydro", 1.0 / 3.0)),
}


def weighted_set(
    kind: str,
    m: float,
    rrup_km: ArrayLike,
    rhypo_km: ArrayLike,
    vs30: ArrayLike,
    hypo_depth_km: float,
    zhao: tuple[FloatArray, float, float],
) -> tuple[FloatArray, FloatArray, float]:
    """ShakeMap's NSHMP 2014 set for ``kind`` (:data:`SUBDUCTION_SETS`): (ln PGA, total sigma, tau).

    As ShakeMap's MultiGMPE, the median is the weighted mean of the members' ln medians; the sigma
    is that of the weighted mixture (members' variances plus their spread about the mean) and tau
    the weighted root mean square of the members' taus. ``zhao`` is the Zhao et al. (2006) member
    already computed by the caller (ln PGA, sigma, tau)."""
    if kind not in SUBDUCTION_SETS:
        raise HazardInputError(f"weighted_set: kind must be interface or intraslab, got {kind!r}")
    rrup = np.asarray(rrup_km, dtype=float)
    members: list[tuple[float, FloatArray, float, float]] = []
    for name, w in SUBDUCTION_SETS[kind]:
        if name == "zhao":
            ln, s, t = zhao
        elif name == "bchydro":
            ln, s, t = bchydro2016(m, rrup if kind == "interface" else rhypo_km, vs30, hypo_depth_km, kind)
        else:
            ln, s, t = ab2003(m, rrup, vs30, hypo_depth_km, kind, cascadia=name == "ab03_cascadia")
        members.append((w, np.broadcast_to(ln, rrup.shape), s, t))
    mean = sum(w * ln for w, ln, _, _ in members)
    var = sum(w * (s**2 + (ln - mean) ** 2) for w, ln, s, _ in members)
    tau = float(np.sqrt(sum(w * t**2 for w, _, _, t in members)))
    return np.asarray(mean, dtype=float), np.sqrt(np.asarray(var, dtype=float)), tau
