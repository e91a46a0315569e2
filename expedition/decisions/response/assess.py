"""What the response establishes about one event before the policy judges it.

* :func:`locate`: the country of the epicentre (and how far inside it), the nearest country, and
  the nearest country that was an alliance member at the event's origin time (with distance).
* :func:`assess`: shaking at populated places with a finite-fault approximation (a Wells &
  Coppersmith 1994 line first; the early aftershock zone once it is in the lake, Kagan 2002),
  exposure per intensity, the PAGER alert (Jaiswal & Wald 2010) and the aftershock forecast
  (Reasenberg & Jones 1989 with Page et al. 2016 parameters).

The science lives in :mod:`expedition.science.geo` and :mod:`expedition.science.hazard`; this module only wires it
to events and to membership. Reference data is loaded once per process
(:func:`~expedition.decisions.response.context.load_context`); the event's shaking model (setting,
rupture hypotheses, site) is built by :mod:`expedition.decisions.response.shaking_model`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from expedition.decisions.policy import TriggerPolicy
from expedition.decisions.response.context import Context, load_context
from expedition.decisions.response.events import EventRow
from expedition.decisions.response.products import Authoritative
from expedition.decisions.response.shaking_model import fault_trace, sea_distance_km, shaking_model_for
from expedition.science.hazard import HazardInputError
from expedition.science.hazard.aftershocks import Forecast, classify_regime, forecast
from expedition.science.hazard.exposure import (
    MMI_BINS,
    ShakingEstimate,
    estimate_shaking,
    estimate_shaking_on_grid,
    quiet_estimate,
    reach_km,
)
from expedition.science.hazard.grid import IntensityGrid
from expedition.science.hazard.pager import PagerResult, pager_estimate
from expedition.science.hazard.planes import Plane
from expedition.science.hazard.population import PopulationRasterError, raster_population
from expedition.science.hazard.rupture import RuptureModel, default_rupture, wells_coppersmith_rld_km
from expedition.science.hazard.shaking import reach_km as shaking_reach_km
from expedition.science.hazard.shaking import shaking_grid

log = logging.getLogger(__name__)

__all__ = [
    "MMI_BINS",
    "SEVERE_BINS",
    "Assessment",
    "Context",
    "Location",
    "assess",
    "fmt_people",
    "load_context",
    "locate",
    "locate_many",
    "search_radius_km",
    "sea_distance_km",
    "shaking_model_for",
]

SEVERE_BINS = ("VII", "VIII", "IX", "X")
CHAIN_CITATION = (
    "Boore et al. (2014) Earthquake Spectra 30(3) / Zhao et al. (2006) BSSA 96(3) by tectonic setting; "
    "Worden et al. (2012) BSSA 102(1) GMICE; ShakeMap v4 (Worden et al. 2020)"
)


@dataclass(frozen=True)
class Location:
    epicentre_iso3: str  # '' at sea
    inside_km: float | None  # distance to the border or coast when inside a country
    nearest_iso3: str
    nearest_km: float
    near_member_iso3: str | None  # nearest member (at origin time) within search_km
    near_member_km: float | None
    search_km: float  # 0: members not searched (a gate failed)


def search_radius_km(policy: TriggerPolicy, magnitude: float | None, model: str = "allen2012_rrup") -> float:
    """How far to look for member countries: the larger of the policy's distance and the reach of
    intensity ``trigger.mmi`` (Allen et al. 2012 median) plus a full W&C (1994) rupture length."""
    if magnitude is None or not 0 < magnitude < 10:
        return policy.member_distance_km
    reach = reach_km(model, magnitude, policy.trigger_mmi - 0.5) + wells_coppersmith_rld_km(magnitude)
    return max(policy.member_distance_km, reach)


def locate(ctx: Context, ev: EventRow, search_km: float) -> Location:
    """Countries around the epicentre and the nearest member at the event's origin time."""
    return locate_many(ctx, [ev], [search_km])[0]


def locate_many(ctx: Context, events: Sequence[EventRow], search_km: Sequence[float]) -> list[Location]:
    """:func:`locate` for many events (point-in-country and nearest country vectorised)."""
    if not events:
        return []
    lat = np.array([e.latitude_deg for e in events], dtype=float)
    lon = np.array([e.longitude_deg for e in events], dtype=float)
    nearest, dist = ctx.countries.nearest_country(lat, lon)
    inside = ctx.countries.country_of(lat, lon)
    out = []
    for i, (ev, radius) in enumerate(zip(events, search_km)):
        epi = str(inside[i])
        at = ev.origin_time_utc
        member: str | None = None
        member_km: float | None = None
        if epi and ctx.membership.is_member(epi, at):
            member, member_km = epi, 0.0
        elif radius > 0:
            for code in ctx.countries.countries_within(ev.latitude_deg, ev.longitude_deg, radius):
                if ctx.membership.is_member(code, at):
                    member, member_km = code, ctx.boundary_km(code, ev.latitude_deg, ev.longitude_deg)
                    break
        inside_km = ctx.boundary_km(epi, ev.latitude_deg, ev.longitude_deg) if epi else None
        out.append(Location(epi, inside_km, str(nearest[i]), float(dist[i]), member, member_km, float(radius)))
    return out


@dataclass(frozen=True)
class Assessment:
    """Shaking, exposure, alert and forecast of one event (with the rupture they assume)."""

    rupture: RuptureModel
    shaking: ShakingEstimate
    pager: PagerResult | None
    forecast: Forecast | None
    regime: str | None
    member_mmi: dict[str, tuple[float, str]]  # member countries at origin time: (max MMI, place)
    people_severe: int  # population at MMI >= VII
    caveats: tuple[str, ...]
    #: who produced the intensities: our model (name, version, setting, rupture) or an authoritative ShakeMap
    intensity_source: str = ""
    setting: str | None = None
    rupture_orientation: str | None = None
    authoritative: Authoritative | None = None
    #: ``shakemap`` when intensities were read from an authoritative ShakeMap grid, else ``model``
    intensity_kind: str = "model"

    @property
    def own_alert_level(self) -> str | None:
        """The alert of our own estimate (PAGER model on our exposure)."""
        return self.pager.level if self.pager else None

    @property
    def authoritative_alert_level(self) -> str | None:
        """USGS PAGER's alert, when a ``losspager`` product is known."""
        return self.authoritative.pager_alert if self.authoritative else None

    @property
    def alert_level(self) -> str | None:
        """The alert we act on: USGS PAGER's when present, else ours."""
        return self.authoritative_alert_level or self.own_alert_level

    @property
    def alert_basis(self) -> str:
        """``authoritative`` when USGS PAGER's alert drives the decision, else ``ours``."""
        return "authoritative" if self.authoritative_alert_level else "ours"

    @property
    def intensity_from_shakemap(self) -> bool:
        """Intensities and exposure were read from an authoritative ShakeMap grid."""
        return self.intensity_kind == "shakemap"

    @property
    def strongest_member(self) -> tuple[str, float, str] | None:
        if not self.member_mmi:
            return None
        iso3, (mmi, place) = max(self.member_mmi.items(), key=lambda kv: kv[1][0])
        return iso3, mmi, place


def assess(  # noqa: C901, PLR0913
    ctx: Context,
    ev: EventRow,
    rupture: RuptureModel | None = None,
    *,
    nodal_planes: Sequence[tuple[float, float]] | None = None,
    rake: float | None = None,
    finite_fault: Sequence[Plane] | None = None,
    intensity_grid: IntensityGrid | None = None,
    location: Location | None = None,
    products: Authoritative | None = None,
) -> Assessment:
    """Shaking, exposure, PAGER alert and aftershock forecast of ``ev``.

    ``products`` (authoritative, from :func:`~expedition.decisions.response.products.load_authoritative`)
    fill what is not given explicitly: their ShakeMap grid is the ``intensity_grid``, their finite
    fault the ``finite_fault`` planes, their moment tensor / focal mechanism the ``nodal_planes`` and
    ``rake``; the alert we act on is USGS PAGER's when they carry one (ours is kept beside it).

    With ``intensity_grid`` (an authoritative ShakeMap) exposure is read from it. Otherwise our
    ShakeMap-style model (``ctx.shaking_model == "shakemap"``) builds the grid: rupture from
    ``finite_fault`` planes, else the focal mechanism's ``nodal_planes`` ((strike, dip) pairs, with
    ``rake``), else the aftershock zone in ``rupture``, else an unknown strike. The legacy IPE models
    (``allen2012``...) keep the place-based chain. ``location`` (from :func:`locate_many`) saves
    the epicentre's country look-ups. Screen: an event with no populated place within its
    intensity IV area skips the grid (nobody is exposed)."""
    if ev.magnitude is None:
        raise HazardInputError(f"event {ev.event_id} has no magnitude: cannot estimate shaking")
    depth = max(ev.depth_km or 0.0, 0.0)
    product_notes: list[str] = list(products.problems) if products is not None else []
    if products is not None:
        intensity_grid = intensity_grid if intensity_grid is not None else products.grid
        if finite_fault is None:
            try:
                finite_fault = products.fault_planes(ev.magnitude, ev.latitude_deg, ev.longitude_deg, depth)
            except HazardInputError as exc:
                product_notes.append(f"Finite-fault product {products.fault_product_id} not used: {exc}")
        if nodal_planes is None and products.nodal_planes:
            nodal_planes = products.nodal_planes
            rake = products.rake if rake is None else rake
        elif rake is None:
            rake = products.rake
    authoritative_grid = intensity_grid is not None
    rup = rupture or fault_trace(finite_fault, products) or default_rupture(
        ev.magnitude, ev.latitude_deg, ev.longitude_deg, depth
    )
    setting: str | None = None
    orientation: str | None = "finite_fault" if finite_fault and not authoritative_grid else None
    if intensity_grid is None and ctx.shaking_model not in ("shakemap",):
        shaking = estimate_shaking(
            ev.magnitude,
            ev.latitude_deg,
            ev.longitude_deg,
            depth,
            rup,
            ctx.places,
            ctx.countries,
            model=ctx.shaking_model,
        )
        source = f"{shaking.model} (place-based IPE)"
    else:
        grid = intensity_grid
        extra: list[str] = []
        citation = ""
        if location is not None:
            epi_iso, nearest = location.epicentre_iso3, (location.nearest_iso3, location.nearest_km)
        else:
            epi_iso = str(ctx.countries.country_of([ev.latitude_deg], [ev.longitude_deg])[0])
            near_iso, near_km = ctx.countries.nearest_country([ev.latitude_deg], [ev.longitude_deg])
            nearest = (str(near_iso[0]), float(near_km[0]))
        quiet = None
        if grid is None:
            model = shaking_model_for(
                ctx, ev, rup, nodal_planes=nodal_planes, rake=rake, finite_fault=finite_fault, at_sea=not epi_iso
            )
            setting, orientation = model.setting, model.orientation
            radius = shaking_reach_km(model) + max(r.extent_km() for r in model.ruptures)
            idx, _ = ctx.places.within_indices(ev.latitude_deg, ev.longitude_deg, radius)
            if idx.size == 0 and ctx.population_raster is None:
                quiet = quiet_estimate(
                    magnitude=ev.magnitude,
                    lat=ev.latitude_deg,
                    lon=ev.longitude_deg,
                    depth_km=depth,
                    rupture=rup,
                    places=ctx.places,
                    epicentre_iso3=epi_iso,
                    nearest=nearest,
                    radius_km=radius,
                    model=model.source,
                )
            else:
                grid = shaking_grid(model, event_id=ev.event_id)
                citation = CHAIN_CITATION
                extra.append(
                    f"Intensity: {model.source}; tectonic setting {model.setting} ({model.setting_reason}); "
                    f"rupture {model.ruptures[0].source}."
                )
        if quiet is not None:
            shaking = quiet
            source = quiet.model
        else:
            assert grid is not None
            population = None
            if ctx.population_raster is not None:
                lons = (float(grid.lons[0]), float(grid.lons[-1]))
                lats = (float(min(grid.lats[0], grid.lats[-1])), float(max(grid.lats[0], grid.lats[-1])))
                try:
                    population = raster_population(ctx.population_raster, lons, lats, ctx.countries)
                except PopulationRasterError as exc:
                    log.warning("event %s: %s; the built-in population is used", ev.event_id, exc)
                    extra.append(f"Population raster unusable ({exc}); built-in places+rural population used.")
            if authoritative_grid:
                citation = grid.source
            shaking = estimate_shaking_on_grid(
                grid,
                magnitude=ev.magnitude,
                lat=ev.latitude_deg,
                lon=ev.longitude_deg,
                depth_km=depth,
                rupture=rup,
                places=ctx.places,
                countries=ctx.countries,
                population=population,
                model_citation=citation,
                caveats=extra,
                epicentre_iso3=epi_iso,
                nearest=nearest,
                average_hypotheses=ctx.average_hypotheses,
                event_year=ev.origin_time_utc.year if ctx.population_to_event_year else None,
                event_term=ctx.event_term,
            )
            source = grid.source
    caveats = list(shaking.caveats)
    caveats.extend(product_notes)
    pager: PagerResult | None
    try:
        pager = pager_estimate(shaking)
        caveats.extend(pager.caveats)
    except HazardInputError as exc:
        pager = None
        caveats.append(f"PAGER alert unavailable: {exc}")
    outlook, regime = _forecast(ev, depth, caveats)
    member_mmi = {
        c.country_iso3: (c.max_mmi, c.place_name)
        for c in shaking.country_max
        if ctx.membership.is_member(c.country_iso3, ev.origin_time_utc)
    }
    severe = int(sum(shaking.exposure_by_mmi.get(b, 0) for b in SEVERE_BINS))
    return Assessment(
        rup,
        shaking,
        pager,
        outlook,
        regime,
        member_mmi,
        severe,
        tuple(caveats),
        source,
        setting,
        orientation,
        products,
        "shakemap" if authoritative_grid else "model",
    )


def _forecast(ev: EventRow, depth: float, caveats: list[str]) -> tuple[Forecast | None, str | None]:
    """Reasenberg & Jones (1989) forecast with Page et al. (2016) generic parameters for the regime."""
    assert ev.magnitude is not None
    try:
        regime = classify_regime(ev.latitude_deg, ev.longitude_deg, depth)
        return forecast(ev.magnitude, regime), regime
    except HazardInputError as exc:
        caveats.append(f"Aftershock forecast unavailable: {exc}")
        return None, None


def fmt_people(n: float) -> str:
    """1.1 M, 23 k, 950."""
    if n >= 1e6:
        return f"{n / 1e6:.1f} M"
    if n >= 1e4:
        return f"{n / 1e3:.0f} k"
    return f"{n:,.0f}"
