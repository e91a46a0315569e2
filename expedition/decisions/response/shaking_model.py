"""Our ShakeMap-style model of one event (:func:`shaking_model_for`): its tectonic setting (the depth and
sea-distance proxy, or USGS STREC's regions as a measured option), its rupture hypotheses, best
information first (finite fault, the event's mechanism, optionally its GCMT moment tensor, the
aftershock zone, an unknown strike), and the site condition. docs/science.md, "The impact chain",
gives each choice with its citation and measured accuracy."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from expedition.decisions.response.context import Context
from expedition.decisions.response.events import EventRow
from expedition.decisions.response.products import Authoritative
from expedition.science.geo.countries import CountryIndex
from expedition.science.geo.distance import from_local_xy_km
from expedition.science.hazard import HazardInputError
from expedition.science.hazard.gcmt import GcmtSolution, load_gcmt
from expedition.science.hazard.planes import FINITE_FROM_M, Plane, choose_ruptures, top_edge
from expedition.science.hazard.regions import load_regions, setting_from_region
from expedition.science.hazard.rupture import RuptureModel, segment_rupture
from expedition.science.hazard.shaking import SLAB_SEA_KM, ShakingModel, build_model, tectonic_setting

__all__ = ["TECTONIC_RULES", "fault_trace", "sea_distance_km", "shaking_model_for"]

log = logging.getLogger(__name__)

#: the STREC-based tectonic rules (``Context.tectonic_rule``): subduction rule and the depth (km) from
#: which active crust is ``deep_crust``. ``strec``: ShakeMap's own (no-slab probabilities, 30 km);
#: ``strec_layers``: STREC's fixed layers 15 / 70 km; ``strec_deep45``: no-slab with the proxy's 45 km
TECTONIC_RULES: dict[str, tuple[str, float]] = {
    "strec": ("noslab", 30.0),
    "strec_layers": ("layers", 30.0),
    "strec_deep45": ("noslab", 45.0),
}


def fault_trace(planes: Sequence[Plane] | None, products: Authoritative | None) -> RuptureModel | None:
    """The top edge of the first finite-fault plane as the descriptive rupture trace (None without planes)."""
    if not planes:
        return None
    (lat0, lon0), (lat1, lon1) = top_edge(planes[0])
    what = f"USGS finite-fault product {products.fault_product_id}" if products and products.fault_product_id else (
        "finite-fault model"
    )
    p = planes[0]
    return segment_rupture(
        lat0, lon0, lat1, lon1, p.top_depth_km,
        source=f"{what}: strike {p.strike_deg:.0f} deg, dip {p.dip_deg:.0f} deg, {p.length_km:.0f} x {p.width_km:.0f} km",
    )


def shaking_model_for(
    ctx: Context,
    ev: EventRow,
    rupture: RuptureModel | None = None,
    *,
    nodal_planes: Sequence[tuple[float, float]] | None = None,
    rake: float | None = None,
    finite_fault: Sequence[Plane] | None = None,
    at_sea: bool | None = None,
) -> ShakingModel:
    """Our ShakeMap-style model of ``ev``: setting, rupture hypotheses (best information first) and Vs30."""
    assert ev.magnitude is not None
    depth = max(ev.depth_km or 0.0, 0.0)
    if at_sea is None:
        at_sea = not bool(ctx.countries.country_of([ev.latitude_deg], [ev.longitude_deg])[0])
    mechanism = ("focal_mechanism", "focal mechanism")
    if ctx.gcmt_mechanisms and not nodal_planes and not finite_fault and ev.magnitude >= FINITE_FROM_M:
        solution = _gcmt_solution(ev, depth)
        if solution is not None:
            nodal_planes = solution.nodal_planes
            rake = solution.rake_deg if rake is None else rake
            mechanism = ("gcmt_moment_tensor", solution.label)
    dip = nodal_planes[0][1] if nodal_planes else None
    setting: tuple[str, str] | None = None
    if ctx.tectonic_rule != "proxy":
        if ctx.tectonic_rule not in TECTONIC_RULES:
            raise HazardInputError(f"unknown tectonic rule {ctx.tectonic_rule!r}: proxy or one of {sorted(TECTONIC_RULES)}")
        regions = load_regions()
        if regions is not None:
            info = regions.lookup(ev.latitude_deg, ev.longitude_deg)
            rule, acr_deep = TECTONIC_RULES[ctx.tectonic_rule]
            setting = setting_from_region(info, depth, ev.magnitude, rule, acr_deep)
    if setting is None:
        sea_km = None if at_sea or depth < 45.0 else sea_distance_km(ctx.countries, ev.latitude_deg, ev.longitude_deg)
        setting = tectonic_setting(depth, at_sea, rake=rake, dip=dip, sea_km=sea_km)
    trace = None
    if rupture is not None and rupture.kind in ("aftershock_zone", "segment"):
        trace = (rupture.vertices[0], rupture.vertices[-1])
    ruptures = choose_ruptures(
        ev.magnitude,
        ev.latitude_deg,
        ev.longitude_deg,
        depth,
        setting[0],
        finite_fault=finite_fault,
        nodal_planes=nodal_planes,
        aftershock_trace=trace,
        mechanism_orientation=mechanism[0],
        mechanism_source=mechanism[1],
    )
    return build_model(
        ev.magnitude,
        ev.latitude_deg,
        ev.longitude_deg,
        depth,
        setting,
        ruptures,
        vs30=ctx.vs30,
        vs30_label=ctx.vs30_label,
        rake=rake,
        subduction_set=ctx.subduction_set,
    )


def _gcmt_solution(ev: EventRow, depth_km: float) -> GcmtSolution | None:
    """The event's GCMT solution from STREC's catalogue, None without the package or a match."""
    catalogue = load_gcmt()
    if catalogue is None:
        return None
    try:
        return catalogue.lookup(ev.origin_time_utc, ev.latitude_deg, ev.longitude_deg, depth_km)
    except HazardInputError as exc:
        log.warning("event %s: GCMT moment tensor not used: %s", ev.event_id, exc)
        return None


def sea_distance_km(countries: CountryIndex, lat: float, lon: float, max_km: float = SLAB_SEA_KM) -> float:
    """Distance (km, 20 km steps) from a point on land to the nearest point outside every country (the
    sea), by rings of 72 points every 20 km; ``inf`` when none lies within ``max_km``."""
    radii = np.arange(20.0, max_km + 1.0, 20.0)
    az = np.radians(np.arange(0.0, 360.0, 5.0))
    xy = np.stack([np.outer(radii, np.sin(az)).ravel(), np.outer(radii, np.cos(az)).ravel()], axis=1)
    la, lo = from_local_xy_km(xy, lat, lon)
    at_sea = (countries.country_of(la, (lo + 180.0) % 360.0 - 180.0) == "").reshape(radii.size, az.size)
    hit = np.flatnonzero(at_sea.any(axis=1))
    return float(radii[hit[0]]) if hit.size else float("inf")
