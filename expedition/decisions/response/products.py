"""Authoritative products as the response uses them: PAGER alert, ShakeMap grid, finite fault.

:func:`load_authoritative` reads, for each event, the newest USGS PAGER alert, the newest ShakeMap
grid stored in ``shakemap_grids`` (re-read from its archived ``grid.xml`` as an
:class:`~expedition.science.hazard.grid.IntensityGrid`) and the newest finite-fault geometry. A grid that
cannot be read any more is left out with a problem line (the event is then judged by our own
model). :attr:`Authoritative.fingerprint` names the product versions an evaluation used: a new
version gives a new fingerprint, hence a new decision (see :mod:`expedition.decisions.response.evaluate`).

:func:`finite_fault_rupture` turns the finite-fault product into the rupture our own model uses when
no ShakeMap grid is there: a trace along the product's strike, centred on the hypocentre, as long
as the product's ``model-length`` (its segments are stored in ``event_products`` for finer use).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import numpy as np

from catalogs.shakemap_grid import ShakeMapGridError
from expedition.decisions.response.events import rows
from expedition.science.geo.distance import from_local_xy_km
from expedition.science.hazard.grid import IntensityGrid, IntensityGridError
from expedition.science.hazard.rupture import RuptureModel, segment_rupture
from expedition.science.hazard.shakemap import load_shakemap

log = logging.getLogger(__name__)

__all__ = ["Authoritative", "finite_fault_rupture", "load_authoritative"]


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
    fault_length_km: float | None = None
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def fingerprint(self) -> str:
        """A short hash of the product versions used (empty when none)."""
        used = [p for p in (self.pager_product_id, self.grid_product_id, self.fault_product_id) if p]
        return hashlib.sha1("|".join(used).encode()).hexdigest()[:12] if used else ""


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
            fault_strike_deg=r["fault_strike_deg"],
            fault_length_km=r["fault_length_km"],
            problems=tuple(problems),
        )
    return out


def finite_fault_rupture(a: Authoritative, lat: float, lon: float, top_depth_km: float) -> RuptureModel | None:
    """A rupture trace from the finite-fault product (None without strike and length)."""
    if a.fault_strike_deg is None or not a.fault_length_km or a.fault_length_km <= 0:
        return None
    half = a.fault_length_km / 2.0
    s = np.radians(a.fault_strike_deg)
    ends = np.array([[-half * np.sin(s), -half * np.cos(s)], [half * np.sin(s), half * np.cos(s)]])  # x east, y north
    e_lat, e_lon = from_local_xy_km(ends, lat, lon)
    return segment_rupture(
        float(e_lat[0]), float(e_lon[0]), float(e_lat[1]), float(e_lon[1]), top_depth_km,
        source=(f"USGS finite-fault product {a.fault_product_id}: strike {a.fault_strike_deg:.0f} deg, "
                f"{a.fault_length_km:.0f} km, centred on the hypocentre"),
    )
