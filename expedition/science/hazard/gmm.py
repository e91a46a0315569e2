"""Ground-motion models (GMMs): median PGA / PGV and their sigma by tectonic setting, with a Vs30 site term.

Hand-written numpy transcriptions of the models ShakeMap and OpenQuake use, checked in
``tests/test_hazard_gmm.py`` against OpenQuake hazardlib's published verification tables
(``openquake/hazardlib/tests/gsim/data/``). OpenQuake itself is not a dependency: 1.4 GB and a
first import of minutes on this machine (see docs/science.md, "Shaking"), for equations of a few
dozen coefficients.

==================  =========================================================  ==========================
setting             model                                                       IMs / distance
==================  =========================================================  ==========================
``active_crust``    Boore, Stewart, Seyhan & Atkinson (2014), Earthquake        PGA, PGV / Rjb
                    Spectra 30(3), 1057-1085 (BSSA14, global, no basin term)
``stable_crust``    BSSA14 with unspecified mechanism (see the note below)      PGA, PGV / Rjb
``interface``       Zhao et al. (2006), BSSA 96(3), 898-913, interface         PGA / Rrup
``intraslab``       Zhao et al. (2006), intraslab                               PGA / Rrup
``deep_crust``      Zhao et al. (2006), crustal (an Rrup model with a focal     PGA / Rrup
                    depth term, for deep events where no slab is plausible)
==================  =========================================================  ==========================

Stable continental regions: ``stable_crust`` is only used when the caller says so (or with the
measured, not adopted, STREC rule of :mod:`.regions`); it is BSSA14 with the unspecified mechanism,
which under-predicts at large distances (stable crust attenuates less). No calibration event lies in
STREC's stable polygons, so no stable-continental model could be judged (docs/science.md).

Units: ``ln_pga`` in ln(g), ``ln_pgv`` in ln(cm/s); sigmas are total standard deviations in ln units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from expedition.science.hazard import HazardInputError

__all__ = ["SETTINGS", "GroundMotion", "bssa14", "ground_motion", "zhao2006"]

FloatArray = NDArray[np.float64]
SETTINGS = ("active_crust", "stable_crust", "interface", "intraslab", "deep_crust")
G = 9.80665  # standard gravity (m/s^2), as scipy.constants.g used by hazardlib

# fmt: off
# BSSA14 (Boore et al. 2014, Table 2; hazardlib BooreEtAl2014 COEFFS, region "nobasin", Dc3 = 0 global)
_BSSA = {
    "pgv": dict(
        e0=5.037, e1=5.078, e2=4.849, e3=5.033, e4=1.073, e5=-0.1536, e6=0.2252, Mh=6.2, c1=-1.243, c2=0.1489,
        c3=-0.00344, h=5.3, c=-0.84, Vc=1300.0, f4=-0.1, f5=-0.00844, R1=105.0, R2=272.0, DfR=0.082, DfV=0.08,
        f1=0.644, f2=0.552, tau1=0.401, tau2=0.346,
    ),
    "pga": dict(
        e0=0.4473, e1=0.4856, e2=0.2459, e3=0.4539, e4=1.431, e5=0.05053, e6=-0.1662, Mh=5.5, c1=-1.134, c2=0.1917,
        c3=-0.008088, h=4.5, c=-0.6, Vc=1500.0, f4=-0.15, f5=-0.00701, R1=110.0, R2=270.0, DfR=0.1, DfV=0.07,
        f1=0.695, f2=0.495, tau1=0.398, tau2=0.348,
    ),
}
_BSSA_CONST = dict(Mref=4.5, Rref=1.0, Vref=760.0, f1=0.0, f3=0.1, v1=225.0, v2=300.0)

# Zhao et al. (2006) Tables 4-5, PGA row (hazardlib ZhaoEtAl2006Asc/SInter/SSlab COEFFS)
_ZHAO = dict(
    a=1.101, b=-0.00564, c=0.0055, d=1.080, e=0.01412, FR=0.251, CH=0.293, C1=1.111, C2=1.344, C3=1.355, C4=1.420,
    sigma=0.604, tauC=0.303,
)
_ZHAO_INTERFACE = dict(SI=0.0, QI=0.0, WI=0.0, tauI=0.308)
_ZHAO_SLAB = dict(SS=2.607, SSL=-0.528, PS=0.1392, QS=0.1584, WS=-0.0529, tauS=0.321)
# fmt: on


@dataclass(frozen=True)
class GroundMotion:
    """Median ln PGA (g), ln PGV (cm/s, None when the model has none), their total sigmas and the
    between-event (event-term) part tau of each, in ln units (the model's published tau)."""

    ln_pga: FloatArray
    sigma_ln_pga: FloatArray
    ln_pgv: FloatArray | None
    sigma_ln_pgv: FloatArray | None
    model: str
    tau_ln_pga: float | None = None
    tau_ln_pgv: float | None = None


def _sof(rake: float | None) -> str:
    if rake is None or not np.isfinite(rake):
        return "e0"
    r = abs(float(rake))
    if r <= 30.0 or 180.0 - r <= 30.0:
        return "e1"  # strike-slip
    return "e3" if 30.0 < float(rake) < 150.0 else "e2"  # reverse | normal


def _bssa_one(
    imt: str, m: float, rjb: FloatArray, vs30: FloatArray, rake: float | None, pga_rock: FloatArray | None
) -> tuple[FloatArray, FloatArray, float]:
    """(median ln IM, total sigma, between-event tau) of BSSA14 for one IM."""
    c = _BSSA[imt]
    k = _BSSA_CONST
    dm = m - c["Mh"]
    # magnitude term, eq. (2)
    fe = c[_sof(rake)] + (c["e4"] * dm + c["e5"] * dm**2 if m <= c["Mh"] else c["e6"] * dm)
    # path term, eq. (3)-(4)
    r = np.sqrt(rjb**2 + c["h"] ** 2)
    fp = (c["c1"] + c["c2"] * (m - k["Mref"])) * np.log(r / k["Rref"]) + c["c3"] * (r - k["Rref"])
    if pga_rock is None:
        return fe + fp, np.zeros_like(rjb), 0.0
    # linear site term, eq. (6), and nonlinear term, eq. (7)-(8)
    flin = c["c"] * np.log(np.minimum(vs30, c["Vc"]) / k["Vref"])
    vs = np.minimum(vs30, 760.0)
    f2 = c["f4"] * (np.exp(c["f5"] * (vs - 360.0)) - np.exp(c["f5"] * 400.0))
    fnl = k["f1"] + f2 * np.log((pga_rock + k["f3"]) / k["f3"])
    # standard deviations, eq. (13)-(17)
    tau = c["tau1"] if m <= 4.5 else c["tau2"] if m >= 5.5 else c["tau1"] + (c["tau2"] - c["tau1"]) * (m - 4.5)
    phi_m = c["f1"] if m <= 4.5 else c["f2"] if m >= 5.5 else c["f1"] + (c["f2"] - c["f1"]) * (m - 4.5)
    phi = np.full_like(rjb, phi_m)
    far = rjb > c["R2"]
    mid = (rjb > c["R1"]) & ~far
    phi = phi + np.where(far, c["DfR"], 0.0)
    phi = phi + np.where(mid, c["DfR"] * np.log(np.maximum(rjb, c["R1"]) / c["R1"]) / np.log(c["R2"] / c["R1"]), 0.0)
    soft = vs30 <= k["v1"]
    band = (vs30 >= k["v1"]) & (vs30 <= k["v2"])
    phi = phi - np.where(soft, c["DfV"], 0.0)
    phi = phi - np.where(
        band, c["DfV"] * np.log(k["v2"] / np.clip(vs30, k["v1"], k["v2"])) / np.log(k["v2"] / k["v1"]), 0.0
    )
    return fe + fp + flin + fnl, np.sqrt(tau**2 + phi**2), float(tau)


def bssa14(m: float, rjb_km: ArrayLike, vs30: ArrayLike, rake: float | None = None) -> GroundMotion:
    """Boore et al. (2014) PGA and PGV at Joyner-Boore distances (hazardlib ``BooreEtAl2014``, no basin term).

    ``rake`` None means unspecified mechanism (coefficient e0)."""
    rjb = np.asarray(rjb_km, dtype=float)
    v = np.broadcast_to(np.asarray(vs30, dtype=float), rjb.shape).astype(float)
    pga_rock = np.exp(_bssa_one("pga", m, rjb, v, rake, None)[0])  # PGA on the reference rock (Vs30 760)
    ln_pga, s_pga, t_pga = _bssa_one("pga", m, rjb, v, rake, pga_rock)
    ln_pgv, s_pgv, t_pgv = _bssa_one("pgv", m, rjb, v, rake, pga_rock)
    return GroundMotion(ln_pga, s_pga, ln_pgv, s_pgv, "BSSA14", t_pga, t_pgv)


def _zhao_site(vs30: FloatArray) -> FloatArray:
    c = _ZHAO
    # Zhao et al. (2006) site classes by Vs30 (hazardlib mapping): hard rock, SC I..IV
    return np.select(
        [vs30 > 1100.0, vs30 > 600.0, vs30 > 300.0, vs30 > 200.0], [c["CH"], c["C1"], c["C2"], c["C3"]], c["C4"]
    )


def zhao2006(
    m: float, rrup_km: ArrayLike, vs30: ArrayLike, hypo_depth_km: float, kind: str, rake: float | None = None
) -> GroundMotion:
    """Zhao et al. (2006) PGA for ``kind`` "interface", "intraslab" or "crustal" (hazardlib
    ``ZhaoEtAl2006SInter/SSlab/Asc``; ``rake`` only matters for crustal: FR for 45 < rake < 135)."""
    if kind not in ("interface", "intraslab", "crustal"):
        raise HazardInputError(f"zhao2006: kind must be interface, intraslab or crustal, got {kind!r}")
    c = _ZHAO
    rrup = np.asarray(rrup_km, dtype=float)
    v = np.broadcast_to(np.asarray(vs30, dtype=float), rrup.shape).astype(float)
    h = float(np.clip(hypo_depth_km, 0.0, 125.0))
    depth_term = c["e"] * (h - 15.0) if h >= 15.0 else 0.0
    if kind == "interface":
        s = _ZHAO_INTERFACE
        d = rrup
        extra = s["QI"] * (m - 6.3) ** 2 + s["WI"] + s["SI"]
        tau = s["tauI"]
    elif kind == "crustal":
        d = rrup
        # Zhao et al. (2006) p. 900: reverse faulting term FR for 45 < rake < 135
        extra = c["FR"] if rake is not None and 45.0 < rake < 135.0 else 0.0
        tau = c["tauC"]
    else:
        s = _ZHAO_SLAB
        d = np.where(rrup == 0.0, 0.1, rrup)
        extra = s["PS"] * (m - 6.5) + s["QS"] * (m - 6.5) ** 2 + s["WS"] + s["SS"] + s["SSL"] * np.log(d)
        tau = s["tauS"]
    # eq. (1): a M + b x - ln(x + c e^(d M)) + e (h - hc) + site + magnitude-squared and slab terms (cm/s^2)
    ln_cm = c["a"] * m + c["b"] * d - np.log(d + c["c"] * np.exp(c["d"] * m)) + depth_term + _zhao_site(v) + extra
    ln_pga = ln_cm + np.log(1e-2 / G)
    sigma = np.full_like(ln_pga, np.sqrt(c["sigma"] ** 2 + tau**2))
    # Zhao et al. (2006) Table 5: sigma is the within-event, tau the between-event standard deviation
    return GroundMotion(ln_pga, sigma, None, None, f"Zhao06 {kind}", float(tau), None)


def ground_motion(  # noqa: PLR0913 - the GMM inputs, two of them keyword-only options
    setting: str,
    m: float,
    rrup_km: ArrayLike,
    rjb_km: ArrayLike,
    vs30: ArrayLike,
    hypo_depth_km: float,
    rake: float | None = None,
    *,
    rhypo_km: ArrayLike | None = None,
    subduction_set: str = "zhao06",
) -> GroundMotion:
    """The setting's model (see the module table) at the given distances and Vs30.

    ``subduction_set`` "shakemap" replaces Zhao et al. (2006) alone for interface and intraslab
    events by ShakeMap's weighted NSHMP 2014 set (:mod:`.gmm_subduction`; Zhao 2006 stands in for
    Zhao 2016 in it); ``rhypo_km`` (hypocentral distance, default Rrup) is its intraslab BC Hydro
    distance."""
    if not (np.isfinite(m) and 0 < m < 10):
        raise HazardInputError(f"ground_motion: magnitude must be between 0 and 10, got {m}")
    if setting in ("active_crust", "stable_crust"):
        return bssa14(m, rjb_km, vs30, rake if setting == "active_crust" else None)
    if setting in ("interface", "intraslab"):
        z = zhao2006(m, rrup_km, vs30, hypo_depth_km, setting)
        if subduction_set == "zhao06":
            return z
        if subduction_set != "shakemap":
            raise HazardInputError(f"unknown subduction set {subduction_set!r}: expected 'zhao06' or 'shakemap'")
        from expedition.science.hazard.gmm_subduction import weighted_set

        ln, sig, tau = weighted_set(
            setting, m, rrup_km, rrup_km if rhypo_km is None else rhypo_km, vs30, hypo_depth_km,
            (z.ln_pga, float(np.sqrt(_ZHAO["sigma"] ** 2 + (z.tau_ln_pga or 0.0) ** 2)), z.tau_ln_pga or 0.0),
        )
        return GroundMotion(ln, sig, None, None, f"NSHMP14 {setting} set", tau, None)
    if setting == "deep_crust":
        return zhao2006(m, rrup_km, vs30, hypo_depth_km, "crustal", rake)
    raise HazardInputError(f"unknown tectonic setting {setting!r}: expected one of {SETTINGS}")
