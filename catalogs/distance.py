"""The one great-circle distance of Quake Expedition (association, science, surveys and briefs use it).

The Earth is a sphere of radius :data:`EARTH_RADIUS_KM` = 6371.0088 km, the IUGG mean radius
(Moritz 2000, "Geodetic Reference System 1980", J. Geodesy 74(1):128-133, R1 = (2a + b) / 3).
Against the WGS84 ellipsoid the error of a great-circle distance stays below about 0.5 %, far
inside the scatter of catalog locations and of any intensity equation. It lives in ``catalogs``,
the lowest layer that needs it (event association); ``expedition.science.geo.distance`` builds
its spherical helpers on it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["EARTH_RADIUS_KM", "central_angle_rad", "haversine_km"]

#: Mean Earth radius in km (IUGG, R1 of GRS80).
EARTH_RADIUS_KM = 6371.0088


def central_angle_rad(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> NDArray[np.float64]:
    """Great-circle (central) angle in radians between (lat1, lon1) and (lat2, lon2) in degrees, broadcasting.

    The haversine formula (Sinnott 1984, Sky & Telescope 68(2):159), stable for small distances."""
    p1 = np.radians(np.asarray(lat1, dtype=float))
    p2 = np.radians(np.asarray(lat2, dtype=float))
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    a = np.sin(dphi / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2.0) ** 2
    return np.asarray(2.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))), dtype=float)


def haversine_km(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> NDArray[np.float64]:
    """Great-circle distance in km between (lat1, lon1) and (lat2, lon2) in degrees, broadcasting:
    :data:`EARTH_RADIUS_KM` times :func:`central_angle_rad`."""
    return np.asarray(EARTH_RADIUS_KM * central_angle_rad(lat1, lon1, lat2, lon2), dtype=float)
