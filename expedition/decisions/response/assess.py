"""What the response establishes about one event before the policy judges it.

* :func:`locate`: the country of the epicentre (and how far inside it), the nearest country, and
  the nearest country that was an alliance member at the event's origin time (with distance).
* :func:`assess`: shaking at populated places with a finite-fault approximation (a Wells &
  Coppersmith 1994 line first; the early aftershock zone once it is in the lake, Kagan 2002),
  exposure per intensity, the PAGER alert (Jaiswal & Wald 2010) and the aftershock forecast
  (Reasenberg & Jones 1989 with Page et al. 2016 parameters).

The science lives in :mod:`expedition.science.geo` and :mod:`expedition.science.hazard`; this module only wires it
to events and to membership. Reference data is loaded once per process (:func:`load_context`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import shapely

from expedition.decisions.membership import Membership, load_membership
from expedition.decisions.policy import TriggerPolicy, load_policy
from expedition.decisions.response.events import EventRow
from expedition.decisions.response.products import Authoritative, finite_fault_rupture
from expedition.science.geo.countries import CountryIndex, load_countries
from expedition.science.geo.distance import haversine_km
from expedition.science.geo.places import Places, load_places
from expedition.science.hazard import HazardInputError
from expedition.science.hazard.aftershocks import Forecast, classify_regime, forecast
from expedition.science.hazard.exposure import MMI_BINS, ShakingEstimate, estimate_shaking, reach_km
from expedition.science.hazard.grid_exposure import points_from_places, shaking_on_grid
from expedition.science.hazard.pager import PagerResult, pager_estimate
from expedition.science.hazard.rupture import RuptureModel, default_rupture, rupture_width_km, wells_coppersmith_rld_km

if TYPE_CHECKING:
    from expedition.settings import Settings

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
]

SEVERE_BINS = ("VII", "VIII", "IX", "X")
_LOCK = threading.Lock()


@dataclass
class Context:
    """Policy, membership and reference data shared by every evaluation in a process."""

    policy: TriggerPolicy
    membership: Membership
    countries: CountryIndex
    places: Places
    shaking_model: str = "allen2012"
    _boundaries: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    def country_name(self, iso3: str) -> str:
        return self.countries.names_en.get(iso3) or self.membership.name(iso3)

    def boundary_km(self, iso3: str, lat: float, lon: float) -> float:
        """Great-circle distance (km) from a point to the border or coast of ``iso3``.

        Boundaries are densified to 0.05 degree segments, so the value is at most ~2.8 km too large.
        """
        with _LOCK:
            pts = self._boundaries.get(iso3)
            if pts is None:
                geoms = self.countries.geometries[self.countries.feature_iso3 == iso3]
                coords = shapely.get_coordinates(shapely.segmentize(shapely.boundary(geoms), 0.05))
                pts = (coords[:, 1].copy(), coords[:, 0].copy())
                self._boundaries[iso3] = pts
        if pts[0].size == 0:
            return float("nan")
        return float(np.min(haversine_km(lat, lon, pts[0], pts[1])))


def load_context(settings: Settings) -> Context:
    """Policy, membership (both from settings), country boundaries and populated places.

    ``[response]`` in ``qe.toml`` may set ``shaking_model`` (default ``allen2012``) and ``cache_dir``
    (parsed reference data, default ``<home>/cache``)."""
    section = settings.extra.get("response") if settings.extra else None
    section = section if isinstance(section, dict) else {}
    model = str(section.get("shaking_model", "allen2012"))
    cache_dir = Path(str(section["cache_dir"])).expanduser() if section.get("cache_dir") else settings.home / "cache"
    return Context(
        policy=load_policy(settings),
        membership=load_membership(settings),
        countries=load_countries(cache_dir),
        places=load_places(min_population=1000, cache_dir=cache_dir),
        shaking_model=model,
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
    authoritative: Authoritative | None = None

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
        return self.shaking.model == "shakemap"

    @property
    def strongest_member(self) -> tuple[str, float, str] | None:
        if not self.member_mmi:
            return None
        iso3, (mmi, place) = max(self.member_mmi.items(), key=lambda kv: kv[1][0])
        return iso3, mmi, place


def assess(
    ctx: Context, ev: EventRow, rupture: RuptureModel | None = None, products: Authoritative | None = None
) -> Assessment:
    """Shaking, exposure, PAGER alert and aftershock forecast of ``ev`` (finite fault when M >= 6).

    With ``products``: exposure comes from the ShakeMap grid when there is one, the rupture from the
    finite-fault product when there is no aftershock-zone rupture, and the alert we act on is USGS
    PAGER's (ours is kept beside it)."""
    if ev.magnitude is None:
        raise HazardInputError(f"event {ev.event_id} has no magnitude: cannot estimate shaking")
    depth = max(ev.depth_km or 0.0, 0.0)
    rup = rupture
    if rup is None and products is not None:
        rup = finite_fault_rupture(products, ev.latitude_deg, ev.longitude_deg, _top_depth(ev.magnitude, depth))
    rup = rup or default_rupture(ev.magnitude, ev.latitude_deg, ev.longitude_deg, depth)
    if products is not None and products.grid is not None:
        grid = products.grid
        shaking = shaking_on_grid(
            grid, ev.magnitude, ev.latitude_deg, ev.longitude_deg, depth, rup, points_from_places(ctx.places, grid),
            ctx.countries,
        )
    else:
        shaking = estimate_shaking(
            ev.magnitude, ev.latitude_deg, ev.longitude_deg, depth, rup, ctx.places, ctx.countries, model=ctx.shaking_model
        )
    caveats = list(shaking.caveats)
    if products is not None:
        caveats.extend(products.problems)
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
    return Assessment(rup, shaking, pager, outlook, regime, member_mmi, severe, tuple(caveats), products)


def _top_depth(magnitude: float, depth_km: float) -> float:
    """Top of a rupture centred on the hypocentre with the Wells & Coppersmith (1994) width."""
    return max(depth_km - rupture_width_km(magnitude) / 2.0, 0.0)


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

