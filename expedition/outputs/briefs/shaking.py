"""The shaking field the brief's intensity map draws, as an :class:`~expedition.science.hazard.grid.IntensityGrid`.

An intensity grid recorded for the event (a ShakeMap or the impact model's grid) is drawn as it is when
the caller passes one. Otherwise the grid is computed here with the same model and rupture as the
place estimates of the brief (Allen, Wald & Worden 2012 rupture-distance IPE, Wells & Coppersmith 1994
line rupture; :func:`expedition.outputs.briefs.context._map_places`), so map, places and exposure agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from expedition.science.hazard.grid import IntensityGrid

__all__ = ["MODEL", "model_grid", "rupture_of"]

MODEL = "allen2012_rrup"
HALF_LAT_DEG = 3.2
STEP_DEG = 0.05


def rupture_of(exp: dict[str, Any]) -> Any:
    """The rupture the place estimates use (point below M6, a W&C 1994 line above)."""
    from expedition.science.hazard.rupture import default_rupture

    return default_rupture(float(exp["mainshock_magnitude_value"]), float(exp["mainshock_latitude_deg"]),
                           float(exp["mainshock_longitude_deg"]), float(exp.get("mainshock_depth_km") or 10.0))


def model_grid(exp: dict[str, Any], half_lat_deg: float = HALF_LAT_DEG, step_deg: float = STEP_DEG) -> IntensityGrid | None:
    """Median MMI of the brief's shaking model on a grid around the epicentre (None without a magnitude)."""
    from expedition.science.hazard.ipe import clip_mmi, predict_mmi
    from expedition.science.hazard.rupture import rupture_distance_km

    lat0, lon0, mag = exp.get("mainshock_latitude_deg"), exp.get("mainshock_longitude_deg"), exp.get("mainshock_magnitude_value")
    if lat0 is None or lon0 is None or mag is None:
        return None
    half_lon = half_lat_deg * 1.4
    lats = np.arange(lat0 - half_lat_deg, lat0 + half_lat_deg + step_deg / 2, step_deg)
    lons = np.arange(lon0 - half_lon, lon0 + half_lon + step_deg / 2, step_deg)
    glat, glon = np.meshgrid(lats, lons, indexing="ij")
    rrup = rupture_distance_km(rupture_of(exp), glat.ravel(), glon.ravel())
    mmi, sigma = predict_mmi(MODEL, float(mag), rrup)
    shape = glat.shape
    return IntensityGrid(lons=lons, lats=lats, mmi=clip_mmi(mmi).reshape(shape), source=f"{MODEL} (Allen et al. 2012)",
                         version="brief", mmi_sigma=np.asarray(sigma, dtype=float).reshape(shape) if np.ndim(sigma) else None)
