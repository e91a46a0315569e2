"""The shaking field of the brief's intensity map and place estimates: the one the assessment used.

The brief draws no shaking model of its own. From the stored assessment of the decision
(``event_assessments.intensity_source_kind``) and the event's authoritative products read at the brief's
snapshot (:func:`expedition.decisions.response.products.load_authoritative`):

* ``shakemap``: the archived ShakeMap grid the decision read its exposure from;
* otherwise: our ShakeMap-style model rebuilt from the same inputs the assessment had (finite fault,
  nodal planes and rake of the products, settings' Vs30) by the same function
  (:func:`expedition.decisions.response.assess.shaking_model_for`) and evaluated on its grid by
  :func:`expedition.science.hazard.shaking.shaking_grid`.

Places read their MMI off that grid, as the assessment's exposure does.

So map, places, exposure and alert come from one model; :attr:`BriefShaking.source` names it in the caption.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from expedition.science.hazard import HazardInputError
from expedition.science.hazard.grid import IntensityGrid
from expedition.science.hazard.planes import top_edge
from expedition.science.hazard.shaking import shaking_grid

if TYPE_CHECKING:
    import duckdb

    from expedition.settings import Settings

__all__ = ["BriefShaking", "assessment_shaking"]


@dataclass(frozen=True)
class BriefShaking:
    """The assessment's shaking: its grid, the rupture traces to draw ((lat, lon) pairs of each plane's top
    edge) and provenance."""

    grid: IntensityGrid
    kind: str  # shakemap | model
    rupture_source: str
    traces: tuple[tuple[tuple[float, float], tuple[float, float]], ...]
    rupture_extent_km: float

    @property
    def source(self) -> str:
        """The shaking source as the caption names it (model and version, or the ShakeMap's)."""
        return self.grid.source

    def mmi_at(self, lat: Any, lon: Any) -> np.ndarray:
        """Median MMI at sites read off the grid as the assessment's exposure reads it (NaN outside the grid)."""
        return self.grid.sample(np.asarray(lat, dtype=float), np.asarray(lon, dtype=float))


def assessment_shaking(con: duckdb.DuckDBPyConnection, settings: Settings, exp: dict[str, Any],
                       stored: dict[str, Any]) -> BriefShaking | None:
    """The shaking the assessment of ``stored`` (its ``event_assessments`` row, {} when none) used for the
    expedition's mainshock; None without a located event with a magnitude."""
    from expedition.decisions.response.assess import EventRow, load_context, shaking_model_for
    from expedition.decisions.response.products import load_authoritative

    event_id = exp["mainshock_event_id"]
    # the event as it was assessed (the stored row), else as the expedition shows it
    lat = _first(stored.get("origin_latitude_deg"), exp.get("mainshock_latitude_deg"))
    lon = _first(stored.get("origin_longitude_deg"), exp.get("mainshock_longitude_deg"))
    mag = _first(stored.get("magnitude_value"), exp.get("mainshock_magnitude_value"))
    depth = max(float(_first(stored.get("origin_depth_km"), exp.get("mainshock_depth_km")) or 0.0), 0.0)
    if lat is None or lon is None or mag is None:
        return None
    products = load_authoritative(con, [event_id]).get(event_id)
    if stored.get("intensity_source_kind") == "shakemap" and products is not None and products.grid is not None:
        return BriefShaking(products.grid, "shakemap", products.grid.source, (), 0.0)
    finite_fault = nodal_planes = rake = None
    if products is not None:
        try:
            finite_fault = products.fault_planes(float(mag), float(lat), float(lon), depth)
        except HazardInputError:
            finite_fault = None  # the assessment did not use it either (its caveats say why)
        nodal_planes = products.nodal_planes or None
        rake = products.rake
    ev = EventRow(event_id=event_id, event_revision=int(stored.get("event_revision") or 0),
                  origin_time_utc=exp["mainshock_origin_time_utc"], latitude_deg=float(lat), longitude_deg=float(lon),
                  depth_km=depth, magnitude=float(mag), magnitude_type=None, event_type=None, region_name=None)
    model = shaking_model_for(load_context(settings), ev, nodal_planes=nodal_planes, rake=rake, finite_fault=finite_fault)
    # an unknown strike is drawn as the extent of its hypotheses, not as their star of planes
    traces = () if model.orientation == "unknown_strike" else tuple(top_edge(p) for r in model.ruptures for p in r.planes)
    extent = max(r.extent_km() for r in model.ruptures)
    return BriefShaking(shaking_grid(model, event_id=event_id), "model", model.ruptures[0].source, traces, extent)


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)
