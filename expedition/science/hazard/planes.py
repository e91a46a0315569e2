"""Finite rupture planes: orientation, size, and the distances ground-motion models need (Rrup, Rjb).

A rupture is one or more rectangular planes, each given by its strike, dip, length along strike,
down-dip width and the position of its top edge. Distances are computed in a local tangent-plane
frame around the first plane's reference point (``expedition.science.geo.distance.local_xy_km``, 0.1 %
accurate within 300 km; farther away the relative error stays far below the models' scatter).

* ``rrup``: shortest distance from a site at the surface to the plane (3-D).
* ``rjb``: Joyner-Boore distance, the shortest horizontal distance to the plane's surface projection.

Orientation, in order of preference (``orientation`` names the one used):

``finite_fault``      planes of a finite-fault model (USGS ``finite-fault`` product: strike, dip, length, segments).
``focal_mechanism``   a nodal plane of the moment tensor / focal mechanism, sized by magnitude scaling;
                      with both nodal planes and no preferred one, the two are averaged.
``gcmt_moment_tensor`` the same with the two nodal planes of the event's Global CMT solution found in the
                      catalogue USGS STREC ships (:mod:`expedition.science.hazard.gcmt`), averaged.
``aftershock_zone``   the principal axis of the early aftershocks (Kagan 2002), dip by tectonic setting.
``unknown_strike``    strike unknown: ground motion is averaged over ``N_STRIKES`` equally spaced strikes
                      and ``N_POSITIONS`` hypocentre positions along strike (the idea behind Thompson &
                      Worden 2018, BSSA 108(1), "Estimating rupture distances without a rupture",
                      evaluated directly: their ps2ff integrates over strike and over a hypocentre
                      uniformly distributed on the rupture, config ``ntheta``, ``nxny``).
``point``             small events (below ``FINITE_FROM_M``): Rrup = hypocentral, Rjb = epicentral distance.

Sizes: Wells & Coppersmith (1994), BSSA 84(4), Table 2A, all slip types (RLD, RW) for crustal ruptures;
Strasser, Arango & Bommer (2010), SRL 81(6), Table 2, for subduction interface and intraslab ruptures.
Crustal widths are capped by a 20 km seismogenic thickness (W <= 20 / sin(dip)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray

from expedition.science.geo.distance import from_local_xy_km, local_xy_km
from expedition.science.hazard import HazardInputError

__all__ = [
    "FINITE_FROM_M",
    "N_POSITIONS",
    "N_STRIKES",
    "ORIENTATIONS",
    "Plane",
    "PlaneRupture",
    "default_dip",
    "finite_fault_plane",
    "focal_mechanism_rupture",
    "plane_at_hypocentre",
    "rupture_size_km",
    "site_distances",
    "site_distances_xy",
    "choose_ruptures",
    "point_source",
    "top_edge",
    "trace_ruptures",
    "unknown_strike_ruptures",
]

FloatArray = NDArray[np.float64]
ORIENTATIONS = (
    "finite_fault", "focal_mechanism", "gcmt_moment_tensor", "aftershock_zone", "unknown_strike", "point"
)
FINITE_FROM_M = 6.0
N_STRIKES = 8
#: hypocentre positions along strike for an unknown strike: the midpoints of equal thirds of the
#: rupture, a midpoint rule for a uniform position (ps2ff, Thompson & Worden 2018). Three and five
#: positions give the same calibration bands (docs/science.md): it is quadrature, not a fit.
N_POSITIONS = 3
SEISMOGENIC_KM = 20.0


@dataclass(frozen=True)
class Plane:
    """A rectangular rupture plane. ``top_lat``/``top_lon`` is the middle of the top edge."""

    top_lat: float
    top_lon: float
    top_depth_km: float
    strike_deg: float
    dip_deg: float
    length_km: float
    width_km: float

    def __post_init__(self) -> None:
        vals = (
            self.top_lat,
            self.top_lon,
            self.top_depth_km,
            self.strike_deg,
            self.dip_deg,
            self.length_km,
            self.width_km,
        )
        if not np.isfinite(vals).all():
            raise HazardInputError(f"rupture plane values must be finite, got {vals}")
        if not (0.0 < self.dip_deg <= 90.0 and self.length_km >= 0 and self.width_km >= 0 and self.top_depth_km >= 0):
            raise HazardInputError(
                f"rupture plane needs 0 < dip <= 90, length, width and top depth >= 0, got dip {self.dip_deg}, "
                f"length {self.length_km}, width {self.width_km}, top {self.top_depth_km}"
            )

    @property
    def bottom_depth_km(self) -> float:
        return self.top_depth_km + self.width_km * float(np.sin(np.radians(self.dip_deg)))


@dataclass(frozen=True)
class PlaneRupture:
    """One rupture hypothesis: its planes, how it was oriented (one of ``ORIENTATIONS``) and why."""

    planes: tuple[Plane, ...]
    orientation: str
    source: str
    hypocentre: tuple[float, float, float]  # lat, lon, depth_km

    def __post_init__(self) -> None:
        if self.orientation not in ORIENTATIONS:
            raise HazardInputError(f"unknown rupture orientation {self.orientation!r}: expected one of {ORIENTATIONS}")
        if self.orientation != "point" and not self.planes:
            raise HazardInputError(f"a {self.orientation} rupture needs at least one plane")

    @property
    def length_km(self) -> float:
        return float(sum(p.length_km for p in self.planes))

    @property
    def top_depth_km(self) -> float:
        return min((p.top_depth_km for p in self.planes), default=self.hypocentre[2])

    def extent_km(self) -> float:
        """Largest horizontal distance from the hypocentre to any corner of the rupture."""
        return self._extent

    @cached_property
    def _extent(self) -> float:
        lat0, lon0, _ = self.hypocentre
        best = 0.0
        for p in self.planes:
            corners = _corners_xy(p, lat0, lon0)
            best = max(best, float(np.hypot(corners[:, 0], corners[:, 1]).max()))
        return best


# --- sizes -------------------------------------------------------------------------------------------
def rupture_size_km(magnitude: float, setting: str) -> tuple[float, float]:
    """(length, width) in km of a rupture of ``magnitude`` in a tectonic ``setting``.

    Crustal (``active_crust``, ``stable_crust``): Wells & Coppersmith (1994) Table 2A, all slip types:
    log10 RLD = -2.44 + 0.59 M, log10 RW = -1.01 + 0.32 M. ``interface``: Strasser et al. (2010)
    Table 2: log10 L = -2.477 + 0.585 M, log10 W = -0.882 + 0.351 M. ``intraslab``: Strasser et al.
    (2010): log10 L = -2.350 + 0.562 M, log10 W = -1.058 + 0.356 M.
    """
    if not (np.isfinite(magnitude) and 0 < magnitude < 10):
        raise HazardInputError(f"rupture_size_km: magnitude must be between 0 and 10, got {magnitude}")
    if setting == "interface":
        return 10 ** (-2.477 + 0.585 * magnitude), 10 ** (-0.882 + 0.351 * magnitude)
    if setting == "intraslab":
        return 10 ** (-2.350 + 0.562 * magnitude), 10 ** (-1.058 + 0.356 * magnitude)
    return 10 ** (-2.44 + 0.59 * magnitude), 10 ** (-1.01 + 0.32 * magnitude)


def default_dip(setting: str) -> float:
    """Dip (degrees) assumed when no mechanism is known: interface 20, intraslab 45, crust 60.

    Shallow subduction thrusts dip 10-30 degrees (Hayes et al. 2018, Slab2); 60 degrees is between
    strike-slip (90) and reverse (about 45) crustal faults."""
    return {"interface": 20.0, "intraslab": 45.0}.get(setting, 60.0)


def plane_at_hypocentre(
    lat: float, lon: float, depth_km: float, strike_deg: float, dip_deg: float, length_km: float, width_km: float
) -> Plane:
    """A plane centred on the hypocentre, moved down (along dip) if its top would rise above the surface."""
    dip = float(dip_deg)
    sin_d = float(np.sin(np.radians(dip)))
    top = max(float(depth_km) - width_km / 2.0 * sin_d, 0.0)
    # horizontal distance from the hypocentre back up-dip to the top edge (the hypocentre stays on the plane)
    updip_h = (float(depth_km) - top) / np.tan(np.radians(dip)) if dip < 90.0 else 0.0
    az = np.radians(strike_deg + 90.0)  # dip direction
    la, lo = from_local_xy_km(np.array([[-updip_h * np.sin(az), -updip_h * np.cos(az)]]), lat, lon)
    return Plane(float(la[0]), float(lo[0]), top, float(strike_deg) % 360.0, dip, float(length_km), float(width_km))


def finite_fault_plane(  # noqa: PLR0913
    lat: float,
    lon: float,
    depth_km: float,
    strike_deg: float,
    dip_deg: float,
    length_km: float,
    width_km: float,
    top_depth_km: float | None = None,
    *,
    hypocentre_along_strike_km: float | None = None,
    hypocentre_down_dip_km: float | None = None,
) -> Plane:
    """The plane of a finite-fault model placed around its hypocentre (``lat``, ``lon``, ``depth_km``).

    Finite-fault products give the hypocentre's position on the plane as in the SRCMOD FSP format
    (Mai & Thingbaijam 2014, SRL 85(6)): ``HypX`` along strike from the plane's start and ``HypZ``
    down dip from its top edge (USGS ``hypocenter-x`` / ``hypocenter-z``). Without ``HypX`` the
    plane is centred on the hypocentre along strike; without ``HypZ`` the top edge is found from
    ``top_depth_km`` (the product's ``model-top``) and the hypocentre's depth; without either, the plane
    is centred down dip as well (:func:`plane_at_hypocentre`)."""
    dip = float(dip_deg)
    sin_d, cos_d = float(np.sin(np.radians(dip))), float(np.cos(np.radians(dip)))
    if hypocentre_down_dip_km is not None:
        updip_h = max(float(hypocentre_down_dip_km), 0.0) * cos_d
        top = max(float(depth_km) - max(float(hypocentre_down_dip_km), 0.0) * sin_d, 0.0)
        if top_depth_km is not None:
            top = max(float(top_depth_km), 0.0)
    elif top_depth_km is not None:
        top = max(float(top_depth_km), 0.0)
        updip_h = max(float(depth_km) - top, 0.0) / float(np.tan(np.radians(dip))) if dip < 90.0 else 0.0
    else:
        return _shifted(plane_at_hypocentre(lat, lon, depth_km, strike_deg, dip, length_km, width_km),
                        length_km, hypocentre_along_strike_km, lat, lon)
    az = np.radians(strike_deg + 90.0)  # dip direction
    la, lo = from_local_xy_km(np.array([[-updip_h * np.sin(az), -updip_h * np.cos(az)]]), lat, lon)
    plane = Plane(float(la[0]), float(lo[0]), top, float(strike_deg) % 360.0, dip, float(length_km), float(width_km))
    return _shifted(plane, length_km, hypocentre_along_strike_km, lat, lon)


def _shifted(plane: Plane, length_km: float, along_km: float | None, lat: float, lon: float) -> Plane:
    """Move ``plane`` along strike so the hypocentre sits ``along_km`` from its start (None: centred)."""
    if along_km is None or not 0.0 <= along_km <= length_km:
        return plane
    shift = length_km / 2.0 - float(along_km)  # from the hypocentre to the middle of the top edge
    s = np.radians(plane.strike_deg)
    xy = local_xy_km([plane.top_lat], [plane.top_lon], lat, lon)[0] + shift * np.array([np.sin(s), np.cos(s)])
    la, lo = from_local_xy_km(xy[None, :], lat, lon)
    return Plane(float(la[0]), float(lo[0]), plane.top_depth_km, plane.strike_deg, plane.dip_deg,
                 plane.length_km, plane.width_km)


def top_edge(plane: Plane) -> tuple[tuple[float, float], tuple[float, float]]:
    """(lat, lon) of the start and the end of a plane's top edge (start: against the strike)."""
    half = plane.length_km / 2.0
    s = np.radians(plane.strike_deg)
    ends = np.array([[-half * np.sin(s), -half * np.cos(s)], [half * np.sin(s), half * np.cos(s)]])
    la, lo = from_local_xy_km(ends, plane.top_lat, plane.top_lon)
    return (float(la[0]), float(lo[0])), (float(la[1]), float(lo[1]))


def _sized(
    magnitude: float, setting: str, dip: float, length: float | None, width: float | None
) -> tuple[float, float]:
    l_km, w_km = rupture_size_km(magnitude, setting)
    if setting in ("active_crust", "stable_crust"):
        w_km = min(w_km, SEISMOGENIC_KM / float(np.sin(np.radians(dip))))
    return (float(length) if length else l_km), (float(width) if width else w_km)


def focal_mechanism_rupture(  # noqa: PLR0913
    magnitude: float,
    lat: float,
    lon: float,
    depth_km: float,
    setting: str,
    nodal_planes: Sequence[tuple[float, float]],
    *,
    length_km: float | None = None,
    width_km: float | None = None,
    source: str = "focal mechanism",
    orientation: str = "focal_mechanism",
) -> list[PlaneRupture]:
    """One rupture per nodal plane ``(strike, dip)``, centred on the hypocentre (average them with equal
    weight); ``orientation`` names where the planes came from (``focal_mechanism``, ``gcmt_moment_tensor``)."""
    if not nodal_planes:
        raise HazardInputError("focal_mechanism_rupture: need at least one (strike, dip) nodal plane")
    out = []
    for strike, dip in nodal_planes:
        length, width = _sized(magnitude, setting, dip, length_km, width_km)
        plane = plane_at_hypocentre(lat, lon, depth_km, strike, dip, length, width)
        out.append(
            PlaneRupture(
                (plane,),
                orientation,
                f"{source}: strike {strike:.0f} dip {dip:.0f}, {length:.0f} x {width:.0f} km",
                (lat, lon, depth_km),
            )
        )
    return out


def unknown_strike_ruptures(
    magnitude: float,
    lat: float,
    lon: float,
    depth_km: float,
    setting: str,
    n: int = N_STRIKES,
    positions: int = N_POSITIONS,
) -> list[PlaneRupture]:
    """``n`` x ``positions`` ruptures: ``n`` equally spaced strikes (0..360) with the setting's dip, each
    with the hypocentre at the midpoints of ``positions`` equal parts of the rupture along strike
    (centred down dip); equally weighted, they average over an unknown strike and a hypocentre
    uniformly placed along it (ps2ff, Thompson & Worden 2018)."""
    dip = default_dip(setting)
    length, width = _sized(magnitude, setting, dip, None, None)
    fractions = (np.arange(positions) + 0.5) / positions
    what = f"strike unknown: {n} strikes x {positions} hypocentres, dip {dip:.0f}, "
    out = []
    for s in np.arange(n) * 360.0 / n:
        centred = plane_at_hypocentre(lat, lon, depth_km, s, dip, length, width)
        for f in fractions:
            plane = _shifted(centred, length, float(f) * length, lat, lon)
            out.append(
                PlaneRupture((plane,), "unknown_strike", f"{what}{length:.0f} x {width:.0f} km", (lat, lon, depth_km))
            )
    return out


# --- distances --------------------------------------------------------------------------------------
def _axes(p: Plane) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Unit vectors (east, north, down): along strike, horizontal dip direction, down-dip in the plane."""
    s = np.radians(p.strike_deg)
    d = np.radians(p.dip_deg)
    along = np.array([np.sin(s), np.cos(s), 0.0])
    hdip = np.array([np.cos(s), -np.sin(s), 0.0])  # strike + 90 degrees
    downdip = np.array([np.cos(d) * hdip[0], np.cos(d) * hdip[1], np.sin(d)])
    return along, hdip, downdip


def _corners_xy(p: Plane, lat0: float, lon0: float) -> FloatArray:
    origin = local_xy_km([p.top_lat], [p.top_lon], lat0, lon0)[0]
    along, hdip, _ = _axes(p)
    wh = p.width_km * np.cos(np.radians(p.dip_deg))
    pts = [origin + a * along[:2] * p.length_km / 2 + b * hdip[:2] * wh for a in (-1, 1) for b in (0, 1)]
    return np.array(pts)


def site_distances(rupture: PlaneRupture, lat: ArrayLike, lon: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """(Rrup, Rjb) in km from surface sites to the rupture (the minimum over its planes)."""
    la = np.asarray(lat, dtype=float)
    lo = np.asarray(lon, dtype=float)
    lat0, lon0, _ = rupture.hypocentre
    xy = local_xy_km(la.ravel(), lo.ravel(), lat0, lon0)
    rrup, rjb = site_distances_xy(rupture, xy)
    return rrup.reshape(la.shape), rjb.reshape(la.shape)


def site_distances_xy(rupture: PlaneRupture, xy: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(Rrup, Rjb) for sites given in the local frame of the rupture's hypocentre (``local_xy_km``)."""
    lat0, lon0, depth = rupture.hypocentre
    if rupture.orientation == "point" or not rupture.planes:
        repi = np.hypot(xy[:, 0], xy[:, 1])
        return np.sqrt(repi**2 + depth**2), repi
    rrup = np.full(xy.shape[0], np.inf)
    rjb = np.full(xy.shape[0], np.inf)
    for p in rupture.planes:
        origin = local_xy_km([p.top_lat], [p.top_lon], lat0, lon0)[0]
        along, hdip, downdip = _axes(p)
        normal = np.cross(along, downdip)
        x, y, z = xy[:, 0] - origin[0], xy[:, 1] - origin[1], -p.top_depth_km
        # 3-D: the closest point of a rectangle is the clipped projection on its orthonormal axes
        # (along, downdip, normal); the distance is then sqrt((a - ca)^2 + (b - cb)^2 + c^2)
        a = x * along[0] + y * along[1]  # along[2] is 0
        b = x * downdip[0] + y * downdip[1] + z * downdip[2]
        c = x * normal[0] + y * normal[1] + z * normal[2]
        da3 = a - np.clip(a, -p.length_km / 2, p.length_km / 2)
        db3 = b - np.clip(b, 0.0, p.width_km)
        rrup = np.minimum(rrup, np.sqrt(da3 * da3 + db3 * db3 + c * c))
        # Joyner-Boore: the same in the horizontal projection (a rectangle L x W cos(dip))
        hb = x * hdip[0] + y * hdip[1]
        wh = p.width_km * np.cos(np.radians(p.dip_deg))
        da = np.maximum(np.abs(a) - p.length_km / 2, 0.0)
        db = np.maximum(np.maximum(-hb, hb - wh), 0.0)
        rjb = np.minimum(rjb, np.hypot(da, db))
    return rrup, rjb


def trace_ruptures(
    magnitude: float,
    lat: float,
    lon: float,
    depth_km: float,
    setting: str,
    ends: tuple[tuple[float, float], tuple[float, float]],
    *,
    orientation: str = "aftershock_zone",
    source: str = "aftershock zone",
) -> list[PlaneRupture]:
    """Two ruptures whose surface projections are centred on a trace (e.g. the aftershock axis), one per
    dip direction (the dip direction of an aftershock zone is unknown), with the setting's dip and width."""
    (lat0, lon0), (lat1, lon1) = ends
    xy = local_xy_km([lat0, lat1], [lon0, lon1], lat, lon)
    d = xy[1] - xy[0]
    length = float(np.hypot(*d))
    if length <= 0:
        raise HazardInputError("trace_ruptures: the trace has zero length")
    strike = float(np.degrees(np.arctan2(d[0], d[1])))
    dip = default_dip(setting)
    _, width = _sized(magnitude, setting, dip, None, None)
    mid = (xy[0] + xy[1]) / 2.0
    top = max(float(depth_km) - width / 2.0 * float(np.sin(np.radians(dip))), 0.0)
    half_h = width * float(np.cos(np.radians(dip))) / 2.0
    out = []
    for s in (strike, strike + 180.0):
        az = np.radians(s + 90.0)
        top_xy = mid - half_h * np.array([np.sin(az), np.cos(az)])
        la, lo = from_local_xy_km(top_xy[None, :], lat, lon)
        plane = Plane(float(la[0]), float(lo[0]), top, s % 360.0, dip, length, width)
        out.append(
            PlaneRupture(
                (plane,),
                orientation,
                f"{source}: {length:.0f} km, strike {s % 360.0:.0f}, dip {dip:.0f}",
                (lat, lon, depth_km),
            )
        )
    return out


def point_source(lat: float, lon: float, depth_km: float) -> PlaneRupture:
    """The hypocentre as a point (Rrup = hypocentral, Rjb = epicentral distance)."""
    return PlaneRupture((), "point", f"point source (M < {FINITE_FROM_M:g})", (lat, lon, max(depth_km, 0.0)))


def choose_ruptures(  # noqa: PLR0913
    magnitude: float,
    lat: float,
    lon: float,
    depth_km: float,
    setting: str,
    *,
    finite_fault: Sequence[Plane] | None = None,
    nodal_planes: Sequence[tuple[float, float]] | None = None,
    aftershock_trace: tuple[tuple[float, float], tuple[float, float]] | None = None,
    finite_from_m: float = FINITE_FROM_M,
    mechanism_orientation: str = "focal_mechanism",
    mechanism_source: str = "focal mechanism",
) -> list[PlaneRupture]:
    """The rupture hypotheses of an event, best information first (see the module notes):
    finite-fault planes, then nodal planes (the event's own focal mechanism, or its GCMT moment tensor:
    ``mechanism_orientation`` and ``mechanism_source`` say which), then the aftershock trace, then an
    unknown strike; a point source below ``finite_from_m`` unless planes are given."""
    if finite_fault:
        desc = ", ".join(
            f"{p.strike_deg:.0f}/{p.dip_deg:.0f} {p.length_km:.0f}x{p.width_km:.0f} km" for p in finite_fault
        )
        return [PlaneRupture(tuple(finite_fault), "finite_fault", f"finite-fault model: {desc}", (lat, lon, depth_km))]
    if magnitude < finite_from_m:
        return [point_source(lat, lon, depth_km)]
    if nodal_planes:
        return focal_mechanism_rupture(
            magnitude, lat, lon, depth_km, setting, nodal_planes,
            source=mechanism_source, orientation=mechanism_orientation,
        )
    if aftershock_trace is not None:
        return trace_ruptures(magnitude, lat, lon, depth_km, setting, aftershock_trace)
    return unknown_strike_ruptures(magnitude, lat, lon, depth_km, setting)
