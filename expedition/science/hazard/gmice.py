"""Ground-motion to intensity conversion: Worden, Gerstenberger, Rhoades & Wald (2012), BSSA 102(1), 204-221.

MMI = C1 + C2 log10(Y) for log10(Y) < T1, C3 + C4 log10(Y) above (Y: PGA in cm/s^2, PGV in cm/s),
with the MMI I-II segment ShakeMap adds below (``c2`` constants), clipped to [1, 10], exactly as
USGS ShakeMap's ``shakelib/gmice/wgrw12.py`` (``WGRW12.getMIfromGM`` without the distance and
magnitude residual terms). ShakeMap prefers PGV, then PGA, for the intensity map.

The intensity sigma combines the conversion's own scatter (``SMMI``) with the ground-motion
model's sigma through the slope of the conversion: sigma_MMI^2 = SMMI^2 + (dMMI/dlnY sigma_lnY)^2.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from expedition.science.hazard import HazardInputError

__all__ = ["WGRW12", "mmi_from_ground_motion", "mmi_sigma_from_ln"]

FloatArray = NDArray[np.float64]

# ShakeMap shakelib/gmice/wgrw12.py (Worden et al. 2012, Table 1 / eq. 3 and the MMI 1-2 segment)
WGRW12 = {
    "pga": dict(C1=1.78, C2=1.55, C3=-1.60, C4=3.70, T1=1.57, SMMI=0.66, lo_C1=1.71, lo_C2=2.08, lo_T1=0.14),
    "pgv": dict(C1=3.78, C2=1.47, C3=2.89, C4=3.16, T1=0.53, SMMI=0.63, lo_C1=4.62, lo_C2=2.17, lo_T1=-1.21),
}
_LOG10_E = float(np.log10(np.e))


def mmi_from_ground_motion(
    imt: str, ln_amp: ArrayLike, sigma_ln: ArrayLike | None = None
) -> tuple[FloatArray, FloatArray]:
    """(MMI, sigma_MMI) from ln PGA (g) or ln PGV (cm/s); sigma is SMMI alone without ``sigma_ln``."""
    try:
        c = WGRW12[imt]
    except KeyError as exc:
        raise HazardInputError(f"unknown ground-motion type {imt!r}: expected pga or pgv") from exc
    amp = np.asarray(ln_amp, dtype=float)
    # log10 of the amplitude in cm/s^2 (PGA, from ln g) or cm/s (PGV)
    lamps = (np.log10(981.0) if imt == "pga" else 0.0) + amp * _LOG10_E
    low = lamps < c["lo_T1"]
    upper = lamps >= c["T1"]
    mmi = np.where(
        low, c["lo_C1"] + c["lo_C2"] * lamps, np.where(upper, c["C3"] + c["C4"] * lamps, c["C1"] + c["C2"] * lamps)
    )
    slope = np.where(low, c["lo_C2"], np.where(upper, c["C4"], c["C2"])) * _LOG10_E  # dMMI / dln(Y)
    clipped = (mmi < 1.0) | (mmi > 10.0)
    mmi = np.clip(mmi, 1.0, 10.0)
    if sigma_ln is None:
        return mmi, np.full_like(mmi, c["SMMI"])
    s = np.broadcast_to(np.asarray(sigma_ln, dtype=float), mmi.shape)
    sigma = np.sqrt(c["SMMI"] ** 2 + np.where(clipped, 0.0, slope * s) ** 2)
    return mmi, sigma


def mmi_sigma_from_ln(imt: str, ln_amp: ArrayLike, sigma_ln: float) -> FloatArray:
    """A ground-motion standard deviation ``sigma_ln`` (ln units) carried to intensity through the
    slope of the conversion at ``ln_amp`` (dMMI/dlnY x sigma_ln; 0 where the MMI is clipped to I or X),
    without the conversion's own scatter SMMI: e.g. the event term tau in MMI units."""
    try:
        c = WGRW12[imt]
    except KeyError as exc:
        raise HazardInputError(f"unknown ground-motion type {imt!r}: expected pga or pgv") from exc
    lamps = (np.log10(981.0) if imt == "pga" else 0.0) + np.asarray(ln_amp, dtype=float) * _LOG10_E
    low = lamps < c["lo_T1"]
    upper = lamps >= c["T1"]
    mmi = np.where(
        low, c["lo_C1"] + c["lo_C2"] * lamps, np.where(upper, c["C3"] + c["C4"] * lamps, c["C1"] + c["C2"] * lamps)
    )
    slope = np.where(low, c["lo_C2"], np.where(upper, c["C4"], c["C2"])) * _LOG10_E
    clipped = (mmi < 1.0) | (mmi > 10.0)
    return np.asarray(np.where(clipped, 0.0, slope * float(sigma_ln)), dtype=float)
