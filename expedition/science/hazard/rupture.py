"""Rupture size and rupture distance: point sources, Wells & Coppersmith lines, aftershock zones.

Large earthquakes are not points: the M7.7 2025 Myanmar rupture ran about 450 km along the Sagaing
fault, and towns 200 km from the epicentre sat next to the fault. Shaking models need the distance
to the rupture, so this module offers four rupture models:

``point``           the hypocentre; distance = hypocentral distance.
``wc1994_line``     a rupture of Wells & Coppersmith (1994) length L, strike unknown, centred on the
                    epicentre: R = sqrt(max(Repi - L/2, 0)^2 + Ztor^2), the conservative
                    "nearest point of a centred rupture" choice (science.md section 9). ShakeMap's
                    reference answer to the same problem is Thompson & Worden (2018), BSSA 108(1),
                    "Estimating rupture distances without a rupture".
``segment``         a known trace (for example from a finite-fault model): distance to the polyline.
``aftershock_zone`` the principal axis of the first hours of aftershocks (Kagan 2002, BSSA 92(2),
                    "Aftershock zone scaling"): distance to that segment.

The W&C regression is a floor, not a ceiling: supershear and multi-segment ruptures (Myanmar 2025,
Turkiye 2023) are far longer than it predicts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from expedition.science.geo.distance import (
    distance_to_arc_km,
    from_local_xy_km,
    haversine_km,
    local_xy_km,
    unit_vectors,
)
from expedition.science.hazard import HazardInputError
from expedition.science.hazard.sequences import days_between, gardner_knopoff_window

__all__ = [
    "RUPTURE_KINDS",
    "RuptureModel",
    "aftershock_zone",
    "default_rupture",
    "point_rupture",
    "rupture_area_km2",
    "rupture_distance_km",
    "rupture_width_km",
    "segment_rupture",
    "srl_km",
    "wc1994_rupture",
    "wells_coppersmith_rld_km",
]

FloatArray = NDArray[np.float64]
RUPTURE_KINDS = ("point", "wc1994_line", "segment", "aftershock_zone")


# --- Wells & Coppersmith (1994), BSSA 84(4), 974-1002, Table 2A, all slip types -----------------
def wells_coppersmith_rld_km(m: float) -> float:
    """Subsurface rupture length (km): log10(RLD) = -2.44 + 0.59 M (Wells & Coppersmith 1994)."""
    return float(10.0 ** (-2.44 + 0.59 * _check_mag(m)))


def srl_km(m: float) -> float:
    """Surface rupture length (km): log10(SRL) = -3.22 + 0.69 M (Wells & Coppersmith 1994)."""
    return float(10.0 ** (-3.22 + 0.69 * _check_mag(m)))


def rupture_area_km2(m: float) -> float:
    """Rupture area (km^2): log10(RA) = -3.49 + 0.91 M (Wells & Coppersmith 1994)."""
    return float(10.0 ** (-3.49 + 0.91 * _check_mag(m)))


def rupture_width_km(m: float) -> float:
    """Down-dip rupture width (km): log10(RW) = -1.01 + 0.32 M (Wells & Coppersmith 1994)."""
    return float(10.0 ** (-1.01 + 0.32 * _check_mag(m)))


def _check_mag(m: float) -> float:
    if not np.isfinite(m) or not 0.0 < m < 10.0:
        raise HazardInputError(f"magnitude must be between 0 and 10, got {m}")
    return float(m)


@dataclass(frozen=True)
class RuptureModel:
    """A rupture approximation. ``vertices`` are (lat, lon) pairs: one for ``point`` and
    ``wc1994_line`` (the epicentre), two or more for ``segment`` and ``aftershock_zone``."""

    kind: str
    vertices: tuple[tuple[float, float], ...]
    length_km: float
    top_depth_km: float
    source: str
    n_events: int = 0

    def __post_init__(self) -> None:
        if self.kind not in RUPTURE_KINDS:
            raise HazardInputError(f"unknown rupture kind {self.kind!r}: expected one of {RUPTURE_KINDS}")
        need_one = self.kind in ("point", "wc1994_line")
        if (need_one and len(self.vertices) != 1) or (not need_one and len(self.vertices) < 2):
            raise HazardInputError(f"rupture kind {self.kind!r} got {len(self.vertices)} vertices")
        if not (
            np.isfinite(self.length_km)
            and self.length_km >= 0
            and np.isfinite(self.top_depth_km)
            and self.top_depth_km >= 0
        ):
            raise HazardInputError(
                f"rupture length and top depth must be finite and >= 0, got {self.length_km}, {self.top_depth_km}"
            )

    @property
    def center(self) -> tuple[float, float]:
        """(lat, lon) of the middle of the rupture (the epicentre for one-vertex kinds)."""
        if len(self.vertices) == 1:
            return self.vertices[0]
        # great-circle midpoint of the two ends: the normalised sum of their unit vectors
        ends = unit_vectors([self.vertices[0][0], self.vertices[-1][0]], [self.vertices[0][1], self.vertices[-1][1]])
        mid = ends.sum(axis=0)
        mid_lat = np.degrees(np.arcsin(mid[2] / np.linalg.norm(mid)))
        mid_lon = np.degrees(np.arctan2(mid[1], mid[0]))
        return float(mid_lat), float(mid_lon)

    @property
    def half_extent_km(self) -> float:
        """Largest horizontal distance from :attr:`center` to any part of the rupture."""
        if self.kind == "point":
            return 0.0
        if self.kind == "wc1994_line":
            return self.length_km / 2.0
        c = self.center
        return float(max(float(haversine_km(c[0], c[1], v[0], v[1])) for v in self.vertices))


def point_rupture(lat: float, lon: float, depth_km: float) -> RuptureModel:
    """The hypocentre as a point source."""
    return RuptureModel(
        "point", ((float(lat), float(lon)),), 0.0, max(float(depth_km), 0.0), "point source at the hypocentre"
    )


def _top_depth(magnitude: float, depth_km: float) -> float:
    # Rupture centred on the hypocentre with the W&C (1994) width, vertical: the shallowest top
    # a centred rupture can have, i.e. the conservative choice for shaking.
    return max(float(depth_km) - rupture_width_km(magnitude) / 2.0, 0.0)


def wc1994_rupture(magnitude: float, lat: float, lon: float, depth_km: float) -> RuptureModel:
    """A Wells & Coppersmith (1994) RLD-length rupture of unknown strike centred on the epicentre."""
    length = wells_coppersmith_rld_km(magnitude)
    return RuptureModel(
        "wc1994_line",
        ((float(lat), float(lon)),),
        length,
        _top_depth(magnitude, depth_km),
        f"Wells & Coppersmith (1994) RLD {length:.0f} km for M{magnitude:.1f}, strike unknown, centred on the epicentre",
    )


def segment_rupture(
    lat0: float,
    lon0: float,
    lat1: float,
    lon1: float,
    top_depth_km: float = 0.0,
    source: str = "rupture trace given by the operator",
) -> RuptureModel:
    """A rupture along a known trace from (lat0, lon0) to (lat1, lon1)."""
    length = float(haversine_km(lat0, lon0, lat1, lon1))
    return RuptureModel(
        "segment", ((float(lat0), float(lon0)), (float(lat1), float(lon1))), length, float(top_depth_km), source
    )


def default_rupture(
    magnitude: float, lat: float, lon: float, depth_km: float, finite_from_magnitude: float = 6.0
) -> RuptureModel:
    """Point source below ``finite_from_magnitude``, a W&C (1994) line from it upward."""
    if magnitude < finite_from_magnitude:
        return point_rupture(lat, lon, depth_km)
    return wc1994_rupture(magnitude, lat, lon, depth_km)


def rupture_distance_km(model: RuptureModel, lat: ArrayLike, lon: ArrayLike) -> FloatArray:
    """Distance (km) from sites to the rupture, including the depth to its top (vectorised)."""
    lat_a = np.atleast_1d(np.asarray(lat, dtype=float))
    lon_a = np.atleast_1d(np.asarray(lon, dtype=float))
    if lat_a.shape != lon_a.shape:
        raise HazardInputError(f"lat and lon must have one shape, got {lat_a.shape} and {lon_a.shape}")
    z = model.top_depth_km
    if model.kind in ("point", "wc1994_line"):
        e_lat, e_lon = model.vertices[0]
        repi = haversine_km(e_lat, e_lon, lat_a, lon_a)
        half = model.length_km / 2.0 if model.kind == "wc1994_line" else 0.0
        # science.md section 9: R = max(Repi - L/2, 0) combined with the depth to the top of rupture
        horiz = np.maximum(repi - half, 0.0)
    else:
        horiz = np.full(lat_a.shape, np.inf)
        for (a_lat, a_lon), (b_lat, b_lon) in zip(model.vertices[:-1], model.vertices[1:]):
            horiz = np.minimum(horiz, distance_to_arc_km(lat_a, lon_a, a_lat, a_lon, b_lat, b_lon))
    return np.asarray(np.sqrt(horiz**2 + z**2), dtype=float)


def aftershock_zone(  # noqa: PLR0913
    mainshock_lat: float,
    mainshock_lon: float,
    mainshock_time: object,
    magnitude: float,
    events_lat: ArrayLike,
    events_lon: ArrayLike,
    events_time: object,
    events_mag: ArrayLike,
    hours: float = 24.0,
    *,
    depth_km: float = 10.0,
    min_events: int = 5,
    trim_percentiles: tuple[float, float] = (2.5, 97.5),
    doublet_magnitude_gap: float = 0.5,
) -> RuptureModel | None:
    """The rupture outlined by the first ``hours`` of aftershocks, or None with fewer than ``min_events``.

    Kagan (2002), BSSA 92(2): the extent of the early aftershock zone tracks the rupture. Method:
    events 0 < t <= ``hours`` after the mainshock and within the Gardner & Knopoff (1974) distance
    L(M) of the zone (first of a Wells & Coppersmith rupture of unknown strike centred on the
    epicentre, then of the fitted segment, until the selection is stable); the mainshock epicentre counts
    as one point. The principal axis of those epicentres (PCA in a local tangent plane) gives the strike;
    the ``trim_percentiles`` of the positions along it give the ends. A later event within ``doublet_magnitude_gap`` of the
    mainshock magnitude and within 2 L(M) is a separate major rupture (a doublet, like the M7.5
    nine hours after the M7.8 in Turkiye 2023): the window stops before it so that its own
    aftershocks do not bend the axis.
    """
    lat = np.atleast_1d(np.asarray(events_lat, dtype=float))
    lon = np.atleast_1d(np.asarray(events_lon, dtype=float))
    mag = np.atleast_1d(np.asarray(events_mag, dtype=float))
    hrs = days_between(mainshock_time, events_time) * 24.0
    if not (lat.shape == lon.shape == mag.shape == hrs.shape):
        raise HazardInputError(
            "aftershock_zone: events lat/lon/time/mag must have one shape, "
            f"got {lat.shape}, {lon.shape}, {hrs.shape}, {mag.shape}"
        )
    if not hours > 0:
        raise HazardInputError(f"aftershock_zone: hours must be > 0, got {hours}")
    lo_pct, hi_pct = trim_percentiles
    if not 0.0 <= lo_pct < hi_pct <= 100.0:
        raise HazardInputError(
            f"aftershock_zone: trim_percentiles must satisfy 0 <= lo < hi <= 100, got {trim_percentiles}"
        )
    reach_km, _ = gardner_knopoff_window(magnitude)
    ok = np.isfinite(lat) & np.isfinite(lon) & np.isfinite(hrs)
    cand = ok & (hrs > 0) & (hrs <= hours)
    window_end = float(hours)
    doublets = cand & (haversine_km(mainshock_lat, mainshock_lon, lat, lon) <= 2.0 * reach_km)
    doublets &= np.nan_to_num(mag, nan=-9.0) >= magnitude - doublet_magnitude_gap
    if doublets.any():
        window_end = float(hrs[doublets].min())
        cand &= hrs < window_end
    xy = local_xy_km(lat, lon, mainshock_lat, mainshock_lon) if lat.size else np.zeros((0, 2))
    # first pass: the window around an unknown-strike W&C rupture centred on the epicentre
    sel = cand & (np.hypot(xy[:, 0], xy[:, 1]) <= reach_km + wells_coppersmith_rld_km(magnitude) / 2.0)
    fit: tuple[FloatArray, FloatArray] | None = None
    for _ in range(20):
        if int(sel.sum()) < min_events:
            return None
        fit = _principal_segment(np.vstack([np.zeros((1, 2)), xy[sel]]), lo_pct, hi_pct)
        grown = cand & (_segment_distance(xy, fit[0], fit[1]) <= reach_km)
        if (grown == sel).all():
            break
        sel = grown
    assert fit is not None
    ends_lat, ends_lon = from_local_xy_km(np.vstack(fit), mainshock_lat, mainshock_lon)
    length = float(haversine_km(ends_lat[0], ends_lon[0], ends_lat[1], ends_lon[1]))
    n = int(sel.sum())
    return RuptureModel(
        "aftershock_zone",
        ((float(ends_lat[0]), float(ends_lon[0])), (float(ends_lat[1]), float(ends_lon[1]))),
        length,
        _top_depth(magnitude, depth_km),
        f"principal axis of {n} aftershock epicentres in the first {window_end:.1f} h "
        f"(trimmed to the {lo_pct:g}-{hi_pct:g} percentiles; Kagan 2002)",
        n_events=n,
    )


def _principal_segment(xy: FloatArray, lo_pct: float, hi_pct: float) -> tuple[FloatArray, FloatArray]:
    center = xy.mean(axis=0)
    _, _, vt = np.linalg.svd(xy - center, full_matrices=False)
    axis = vt[0]
    if axis[0] < 0 or (axis[0] == 0 and axis[1] < 0):  # deterministic orientation (eastward)
        axis = -axis
    t = (xy - center) @ axis
    t_lo, t_hi = np.percentile(t, [lo_pct, hi_pct])
    return center + t_lo * axis, center + t_hi * axis


def _segment_distance(xy: FloatArray, a: FloatArray, b: FloatArray) -> FloatArray:
    ab = b - a
    denom = float(ab @ ab)
    t = np.zeros(len(xy)) if denom == 0 else np.clip((xy - a) @ ab / denom, 0.0, 1.0)
    foot = a + np.outer(t, ab)
    return np.asarray(np.hypot(*(xy - foot).T), dtype=float)
