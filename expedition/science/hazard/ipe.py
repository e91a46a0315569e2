"""Intensity prediction equations (IPEs): macroseismic intensity (MMI) from magnitude and distance.

Every function is vectorised over distance and returns ``(mmi, sigma)`` as float arrays, unclipped
(clip with :func:`clip_mmi` for reporting). Coefficients were checked against OpenQuake hazardlib
(``openquake/hazardlib/gsim/allen_2012_ipe.py``, classes ``AllenEtAl2012`` and
``AllenEtAl2012Rhypo``) and, for Atkinson et al. (2014), against the hazardlib-style class
``AtkinsonEtAl2014Cal`` (T. Allen) and T. Allen's ``mmi_tools.atkinson_worden_wald14_cal_ipe``.

Models (``predict_mmi(model, m, distances)``):

============== ====================== ===========================================================
name           distance               reference
============== ====================== ===========================================================
allen2012_rrup rupture distance       Allen, Wald & Worden (2012) J. Seismol. 16:409-433, eq. (rrup)
allen2012_rhyp hypocentral distance   Allen, Wald & Worden (2012), hypocentral form
atkinson2014   hypocentral/rupture    Atkinson, Worden & Wald (2014) BSSA 104(6), 10.1785/0120140178
============== ====================== ===========================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from expedition.science.hazard import HazardInputError

__all__ = [
    "IPE_MODELS",
    "IpeModel",
    "allen2012_rhyp",
    "allen2012_rrup",
    "atkinson2014",
    "clip_mmi",
    "predict_mmi",
    "to_roman",
]

FloatArray = NDArray[np.float64]

_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")


@dataclass(frozen=True)
class IpeModel:
    """An IPE: its name, the distance it expects and its citation (for provenance)."""

    name: str
    distance: str  # "rupture" or "hypocentral"
    citation: str


IPE_MODELS: dict[str, IpeModel] = {
    "allen2012_rrup": IpeModel(
        "allen2012_rrup",
        "rupture",
        "Allen, Wald & Worden (2012), Intensity attenuation for active crustal regions, J. Seismol. 16, 409-433 (Rrup form)",
    ),
    "allen2012_rhyp": IpeModel(
        "allen2012_rhyp",
        "hypocentral",
        "Allen, Wald & Worden (2012), Intensity attenuation for active crustal regions, J. Seismol. 16, 409-433 (Rhyp form)",
    ),
    "atkinson2014": IpeModel(
        "atkinson2014",
        "hypocentral",
        "Atkinson, Worden & Wald (2014), Intensity prediction equations for North America, BSSA 104(6), doi:10.1785/0120140178",
    ),
}


def _dist(r_km: ArrayLike, name: str) -> FloatArray:
    r = np.atleast_1d(np.asarray(r_km, dtype=float))
    if np.any(r < 0) or not np.all(np.isfinite(r)):
        raise HazardInputError(f"{name}: distances must be finite and >= 0 km")
    return r


def _mag(m: float, name: str) -> float:
    if not np.isfinite(m) or not 0.0 < m < 10.0:
        raise HazardInputError(f"{name}: magnitude must be between 0 and 10, got {m}")
    return float(m)


def allen2012_rrup(m: float, rrup_km: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """MMI and sigma at rupture distances, Allen, Wald & Worden (2012), J. Seismol. 16.

    MMI = 3.950 + 0.913 M - 1.107 ln sqrt(Rrup^2 + (1 + 0.813 e^(M-5))^2)
    sigma = 0.72 + 0.23 / (1 + (Rrup / 44.7)^2)
    """
    m = _mag(m, "allen2012_rrup")
    r = _dist(rrup_km, "allen2012_rrup")
    # Allen et al. (2012) eq. for Rrup; coefficients as in OpenQuake AllenEtAl2012 (c0..c3, s1..s3)
    mmi = 3.950 + 0.913 * m - 1.107 * np.log(np.sqrt(r**2 + (1.0 + 0.813 * np.exp(m - 5.0)) ** 2))
    sigma = 0.72 + 0.23 / (1.0 + (r / 44.7) ** 2)
    return mmi, sigma


def allen2012_rhyp(m: float, rhyp_km: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """MMI and sigma at hypocentral distances, Allen, Wald & Worden (2012), J. Seismol. 16.

    MMI = 2.085 + 1.428 M - 1.402 ln sqrt(Rhyp^2 + (-0.209 + 2.042 e^(M-5))^2) [+ 0.078 ln(Rhyp/50), Rhyp > 50 km]
    sigma = 0.82 + 0.37 / (1 + (Rhyp / 22.9)^2)
    """
    m = _mag(m, "allen2012_rhyp")
    r = _dist(rhyp_km, "allen2012_rhyp")
    # Allen et al. (2012) hypocentral form; coefficients as in OpenQuake AllenEtAl2012Rhypo (c4, m1, m2)
    rm = -0.209 + 2.042 * np.exp(m - 5.0)
    mmi = 2.085 + 1.428 * m - 1.402 * np.log(np.sqrt(r**2 + rm**2))
    far = r > 50.0
    mmi = np.where(far, mmi + 0.078 * np.log(np.where(far, r, 50.0) / 50.0), mmi)
    sigma = 0.82 + 0.37 / (1.0 + (r / 22.9) ** 2)
    return mmi, sigma


def atkinson2014(m: float, r_km: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """MMI and sigma, Atkinson, Worden & Wald (2014) BSSA 104(6), doi:10.1785/0120140178 (WNA form).

    MMI = 0.309 + 1.864 M - 1.672 log10 R - 0.00219 R + 1.77 B - 0.383 M log10 R,
    R = sqrt(r^2 + 14^2), B = max(0, log10(R / 50)); r is hypocentral distance (or rupture distance
    for a finite rupture). sigma = 0.5 MMI units, the total standard deviation used by the
    hazardlib-style ``AtkinsonEtAl2014Cal`` implementation (the paper's scatter of single DYFI
    observations is of that order).
    """
    m = _mag(m, "atkinson2014")
    r = _dist(r_km, "atkinson2014")
    big_r = np.sqrt(r**2 + 14.0**2)  # Atkinson et al. (2014) effective distance, h = 14 km
    b = np.maximum(0.0, np.log10(big_r / 50.0))
    lr = np.log10(big_r)
    mmi = 0.309 + 1.864 * m - 1.672 * lr - 0.00219 * big_r + 1.77 * b - 0.383 * m * lr
    return mmi, np.full_like(mmi, 0.5)


_FUNCS = {"allen2012_rrup": allen2012_rrup, "allen2012_rhyp": allen2012_rhyp, "atkinson2014": atkinson2014}


def predict_mmi(model: str, m: float, distances: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Dispatch to an IPE by name (see ``IPE_MODELS``); ``distances`` must be the model's distance."""
    try:
        fn = _FUNCS[model]
    except KeyError as exc:
        raise HazardInputError(f"unknown intensity model {model!r}: expected one of {sorted(_FUNCS)}") from exc
    return fn(m, distances)


def clip_mmi(mmi: ArrayLike) -> FloatArray:
    """MMI clipped to [1, 10] for reporting (science.md section 2)."""
    return np.asarray(np.clip(np.asarray(mmi, dtype=float), 1.0, 10.0), dtype=float)


def to_roman(mmi: float) -> str:
    """Roman numeral of an intensity (rounded half up, clipped to I..X) for briefs."""
    if not np.isfinite(mmi):
        raise HazardInputError(f"cannot express intensity {mmi!r} in Roman numerals")
    level = int(np.floor(float(clip_mmi(mmi)) + 0.5))
    return _ROMAN[min(max(level, 1), 10) - 1]
