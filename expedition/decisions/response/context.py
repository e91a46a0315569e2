"""The reference data and choices every evaluation in a process shares (:class:`Context`), loaded
once from the settings (:func:`load_context`): trigger policy, alliance membership, country
boundaries, populated places, and the impact chain's options (Vs30, population raster, the measured
alternatives of docs/science.md)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import shapely

from expedition.decisions.membership import Membership, load_membership
from expedition.decisions.policy import TriggerPolicy, load_policy
from expedition.science.geo.countries import CountryIndex, load_countries
from expedition.science.geo.distance import haversine_km
from expedition.science.geo.places import Places, load_places
from expedition.science.hazard.shaking import DEFAULT_VS30, Vs30Source, site_label, vs30_from_raster

if TYPE_CHECKING:
    from expedition.settings import Settings

__all__ = ["Context", "load_context"]

_LOCK = threading.Lock()


@dataclass
class Context:
    """Policy, membership and reference data shared by every evaluation in a process."""

    policy: TriggerPolicy
    membership: Membership
    countries: CountryIndex
    places: Places
    #: ``shakemap`` (default: GMM by setting + Vs30 + Worden 2012 on a grid) or a legacy IPE name
    shaking_model: str = "shakemap"
    population_raster: Path | None = None
    vs30: float | Vs30Source = DEFAULT_VS30
    vs30_label: str | None = None
    #: exposure (hence expected fatalities) averaged over the rupture hypotheses (unknown strike, two
    #: nodal planes) instead of read from their mean intensity (ShakeMap's one median map, PAGER's
    #: practice). Off by default: measured on the calibration it cut the bias but widened the spread
    #: and lost exact bands (docs/science.md, "Calibration")
    average_hypotheses: bool = False
    #: scale the built-in population to the event's year (PAGER's practice); False only to measure it
    population_to_event_year: bool = True
    #: share exposure among the bins by the event-term sigma of our own model grid (docs/science.md,
    #: "Event term"); False reads the median intensity only, as USGS PAGER does on a ShakeMap
    event_term: bool = True
    #: how the tectonic setting is chosen: ``proxy`` (depth and distance to the sea, docs/science.md)
    #: or one of :data:`TECTONIC_RULES` (USGS STREC's regions with ShakeMap's rules; they need the
    #: ``usgs-strec`` package, else the proxy is used). Measured, not adopted: docs/science.md
    tectonic_rule: str = "proxy"
    #: subduction ground motion: ``zhao06`` (Zhao et al. 2006 alone) or ``shakemap`` (ShakeMap's
    #: weighted NSHMP 2014 sets); measured in docs/science.md
    subduction_set: str = "zhao06"
    #: orient ruptures of events without their own mechanism or finite fault by the nodal planes of
    #: their Global CMT solution from USGS STREC's catalogue (``expedition.science.hazard.gcmt``; needs
    #: the ``usgs-strec`` package, else the chain orients as without it); measured in docs/science.md
    gcmt_mechanisms: bool = False
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
    model = str(section.get("shaking_model", "shakemap"))
    cache_dir = Path(str(section["cache_dir"])).expanduser() if section.get("cache_dir") else settings.home / "cache"
    vs30: float | Vs30Source = float(settings.vs30_default_mps)
    label = site_label(float(settings.vs30_default_mps))
    if settings.vs30_raster is not None:
        vs30 = vs30_from_raster(settings.vs30_raster, float(settings.vs30_default_mps))
        label = site_label(float(settings.vs30_default_mps), settings.vs30_raster.name)
    return Context(
        policy=load_policy(settings),
        membership=load_membership(settings),
        countries=load_countries(cache_dir),
        places=load_places(min_population=1000, cache_dir=cache_dir),
        shaking_model=model,
        population_raster=settings.population_raster,
        vs30=vs30,
        vs30_label=label,
    )
