"""Authoritative products as the response uses them: PAGER alert, ShakeMap grid, finite fault, mechanism.

:func:`load_authoritative` reads, for each event, the newest USGS PAGER alert, the newest ShakeMap
grid stored in ``shakemap_grids`` (re-read from its archived ``grid.xml`` as an
:class:`~expedition.science.hazard.grid.IntensityGrid`), the newest finite-fault geometry and the
preferred moment tensor or QuakeML focal mechanism. A grid that cannot be read any more is left out
with a problem line (the event is then judged by our own model). :attr:`Authoritative.fingerprint`
names the product versions an evaluation used: a new version gives a new fingerprint, hence a new
decision (see :mod:`expedition.decisions.response.evaluate`).

Our own model (:func:`expedition.decisions.response.assess.assess`) takes the finite fault as
rupture planes (:meth:`Authoritative.fault_planes`, placed by
:func:`~expedition.science.hazard.planes.finite_fault_plane`) and the mechanism as nodal planes
(:attr:`Authoritative.nodal_planes`, :attr:`Authoritative.rake`). The product's segments (strike,
dip, subfault length and width) are kept in ``event_products``; their positions are only in the
product's ``FFM.geojson``, which is not pulled, so the model uses the product's overall plane
(``model-strike/dip/length/width/top``, hypocentre at ``hypocenter-x/z``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from catalogs.shakemap_grid import ShakeMapGridError
from expedition.decisions.response.events import rows
from expedition.science.hazard.grid import IntensityGrid, IntensityGridError
from expedition.science.hazard.planes import Plane, finite_fault_plane
from expedition.science.hazard.rupture import rupture_width_km
from expedition.science.hazard.shakemap import load_shakemap

log = logging.getLogger(__name__)

__all__ = ["Authoritative", "load_authoritative"]


@dataclass(frozen=True)
class Authoritative:
    """The authoritative inputs known for one event."""

    event_id: str
    pager_alert: str | None = None
    pager_product_id: str | None = None
    pager_label: str | None = None  # "USGS PAGER (us, 2025-04-09 06:20 UTC)"
    grid: IntensityGrid | None = None
    grid_product_id: str | None = None
    fault_product_id: str | None = None
    fault_strike_deg: float | None = None
    fault_dip_deg: float | None = None
    fault_rake_deg: float | None = None
    fault_length_km: float | None = None
    fault_width_km: float | None = None
    fault_top_depth_km: float | None = None
    fault_hypocentre_x_km: float | None = None  # along strike from the plane's start (product hypocenter-x)
    fault_hypocentre_z_km: float | None = None  # down dip from the top edge (product hypocenter-z)
    fault_latitude_deg: float | None = None  # the hypocentre the model was computed for
    fault_longitude_deg: float | None = None
    mechanism_product_id: str | None = None
    mechanism_label: str | None = None  # "moment-tensor us" / "focal-mechanism gcmt"
    #: (strike, dip, rake) of the nodal planes; the agency's preferred plane alone when it names one
    mechanism_planes: tuple[tuple[float, float, float | None], ...] = ()
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def fingerprint(self) -> str:
        """A short hash of the product versions used (empty when none)."""
        ids = (self.pager_product_id, self.grid_product_id, self.fault_product_id, self.mechanism_product_id)
        used = [p for p in ids if p]
        return hashlib.sha1("|".join(used).encode()).hexdigest()[:12] if used else ""

    @property
    def nodal_planes(self) -> list[tuple[float, float]]:
        """(strike, dip) of the mechanism's nodal planes, for the model's ``nodal_planes``."""
        return [(s, d) for s, d, _ in self.mechanism_planes]

    @property
    def rake(self) -> float | None:
        """Rake of the finite fault, else of the first nodal plane (for the tectonic setting)."""
        if self.fault_rake_deg is not None:
            return self.fault_rake_deg
        return self.mechanism_planes[0][2] if self.mechanism_planes else None

    def fault_planes(self, magnitude: float, lat: float, lon: float, depth_km: float) -> list[Plane] | None:
        """The finite-fault model as rupture planes (None without strike, dip and length).

        The width defaults to Wells & Coppersmith (1994) when the product has none; the hypocentre is
        the product's own when given, else the event's."""
        if self.fault_strike_deg is None or self.fault_dip_deg is None or not self.fault_length_km:
            return None
        if not 0.0 < self.fault_dip_deg <= 90.0 or self.fault_length_km <= 0:
            return None
        width = self.fault_width_km if self.fault_width_km and self.fault_width_km > 0 else rupture_width_km(magnitude)
        h_lat = self.fault_latitude_deg if self.fault_latitude_deg is not None else lat
        h_lon = self.fault_longitude_deg if self.fault_longitude_deg is not None else lon
        return [
            finite_fault_plane(
                h_lat, h_lon, depth_km, self.fault_strike_deg, self.fault_dip_deg, self.fault_length_km, width,
                self.fault_top_depth_km, hypocentre_along_strike_km=self.fault_hypocentre_x_km,
                hypocentre_down_dip_km=self.fault_hypocentre_z_km,
            )
        ]


def _label(source: str | None, when: datetime | None) -> str:
    stamp = f", {when:%Y-%m-%d %H:%M} UTC" if when else ""
    return f"USGS PAGER ({source or '?'}{stamp})"


def load_authoritative(con: duckdb.DuckDBPyConnection, event_ids: Sequence[str]) -> dict[str, Authoritative]:
    """The authoritative inputs of ``event_ids`` (events without any are absent)."""
    if not event_ids:
        return {}
    out: dict[str, Authoritative] = {}
    for r in rows(con, "products_authoritative", event_ids=list(dict.fromkeys(event_ids))):
        problems: list[str] = []
        grid: IntensityGrid | None = None
        if r["grid_archive_path"]:
            try:
                grid = load_shakemap(r["grid_archive_path"])
            except (ShakeMapGridError, IntensityGridError) as exc:
                problems.append(f"ShakeMap grid not used: {exc}")
                log.warning("event %s: ShakeMap grid not used: %s", r["event_id"], exc)
        out[r["event_id"]] = Authoritative(
            event_id=r["event_id"],
            pager_alert=r["pager_alert_level"],
            pager_product_id=r["pager_product_id"],
            pager_label=_label(r["pager_source"], r["pager_update_time_utc"]) if r["pager_product_id"] else None,
            grid=grid,
            grid_product_id=r["grid_product_id"] if grid is not None else None,
            fault_product_id=r["fault_product_id"],
            **{name: r[name] for name in _FAULT_COLUMNS},
            mechanism_product_id=r["mechanism_product_id"],
            mechanism_label=f"{r['mechanism_type']} {r['mechanism_source'] or '?'}" if r["mechanism_product_id"] else None,
            mechanism_planes=_mechanism_planes(r),
            problems=tuple(problems),
        )
    return out


_FAULT_COLUMNS = (
    "fault_strike_deg", "fault_dip_deg", "fault_rake_deg", "fault_length_km", "fault_width_km", "fault_top_depth_km",
    "fault_hypocentre_x_km", "fault_hypocentre_z_km", "fault_latitude_deg", "fault_longitude_deg",
)


def _mechanism_planes(r: dict[str, Any]) -> tuple[tuple[float, float, float | None], ...]:
    planes = []
    for n in (1, 2):
        strike, dip = r[f"nodal_plane{n}_strike_deg"], r[f"nodal_plane{n}_dip_deg"]
        if strike is not None and dip is not None and 0.0 < dip <= 90.0:
            planes.append((float(strike), float(dip), r[f"nodal_plane{n}_rake_deg"]))
    preferred = r["mechanism_preferred_plane"]
    if preferred in (1, 2) and len(planes) == 2:
        return (planes[preferred - 1],)
    return tuple(planes)

