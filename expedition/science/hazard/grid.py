"""A shaking field on a regular longitude/latitude grid: the one shape every intensity source fills.

Our own ground-motion chain and an authoritative ShakeMap (USGS or BMKG ``grid.xml``) both produce an
:class:`IntensityGrid`; exposure, PAGER and the brief's intensity map read only this type, so they
never need to know where the shaking came from. ``source`` names the producer for provenance
("ShakeMap 4.1 v12 us" or "qe-shaking 2.0 BSSA14+WGRW12"), and ``version`` the product or model
version.

Grids are cell-centred: ``mmi[i, j]`` is the intensity at ``(lats[i], lons[j])``. Latitudes may run
north to south (ShakeMap order) or south to north; longitudes increase west to east and may pass
180 degrees (values above 180 are allowed so a grid over the date line stays monotonic).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = ["IntensityGrid", "IntensityGridError"]

FloatArray = NDArray[np.float64]


class IntensityGridError(ValueError):
    """An intensity grid whose shape or values cannot describe a shaking field."""


@dataclass(frozen=True)
class IntensityGrid:
    """Median intensity (MMI) and, when known, its standard deviation on a regular grid."""

    lons: FloatArray
    lats: FloatArray
    mmi: FloatArray
    source: str
    version: str
    mmi_sigma: FloatArray | None = None
    event_id: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    #: the median intensity of each equally weighted rupture hypothesis (k x lats x lons), when the
    #: model averaged several (unknown strike, two nodal planes): exposure is then averaged over them
    mmi_hypotheses: FloatArray | None = None
    #: the between-event (event-term) part of the sigma in MMI, for a prediction-only model grid
    #: (GMM tau through the GMICE slope); None for a ShakeMap, whose observations fix the event term
    mmi_sigma_event: FloatArray | None = None

    def __post_init__(self) -> None:
        if self.lons.ndim != 1 or self.lats.ndim != 1 or self.lons.size < 2 or self.lats.size < 2:
            raise IntensityGridError("an intensity grid needs at least 2 longitudes and 2 latitudes")
        shape = (self.lats.size, self.lons.size)
        if self.mmi.shape != shape:
            raise IntensityGridError(f"mmi has shape {self.mmi.shape}, expected {shape} (lats x lons)")
        if self.mmi_sigma is not None and self.mmi_sigma.shape != shape:
            raise IntensityGridError(f"mmi_sigma has shape {self.mmi_sigma.shape}, expected {shape}")
        if self.mmi_sigma_event is not None and self.mmi_sigma_event.shape != shape:
            raise IntensityGridError(f"mmi_sigma_event has shape {self.mmi_sigma_event.shape}, expected {shape}")
        if self.mmi_hypotheses is not None and (
            self.mmi_hypotheses.ndim != 3 or self.mmi_hypotheses.shape[1:] != shape or self.mmi_hypotheses.shape[0] < 1
        ):
            raise IntensityGridError(
                f"mmi_hypotheses has shape {self.mmi_hypotheses.shape}, expected (k, {shape[0]}, {shape[1]})"
            )
        if not np.all(np.diff(self.lons) > 0):
            raise IntensityGridError("longitudes must increase west to east")
        dlat = np.diff(self.lats)
        if not (np.all(dlat > 0) or np.all(dlat < 0)):
            raise IntensityGridError("latitudes must be strictly monotonic")
        finite = self.mmi[np.isfinite(self.mmi)]
        if finite.size == 0:
            raise IntensityGridError("the grid holds no finite intensity")
        if finite.min() < 0.0 or finite.max() > 12.0:
            raise IntensityGridError(f"intensities {finite.min():.2f}..{finite.max():.2f} are outside 0..12")

    @property
    def max_mmi(self) -> float:
        """The strongest finite intensity on the grid."""
        return float(np.nanmax(self.mmi))

    @property
    def cell_deg(self) -> tuple[float, float]:
        """Mean cell size in degrees, (longitude step, latitude step)."""
        return (
            float(abs(self.lons[-1] - self.lons[0]) / (self.lons.size - 1)),
            float(abs(self.lats[-1] - self.lats[0]) / (self.lats.size - 1)),
        )

    def sample(self, lat: NDArray[np.float64], lon: NDArray[np.float64]) -> FloatArray:
        """Bilinear intensity at points; NaN outside the grid."""
        lats = self.lats
        mmi = self.mmi
        if lats[0] > lats[-1]:
            lats = lats[::-1]
            mmi = mmi[::-1, :]
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        lon = np.where(lon < self.lons[0], lon + 360.0, lon)
        fx = np.interp(lon, self.lons, np.arange(self.lons.size), left=np.nan, right=np.nan)
        fy = np.interp(lat, lats, np.arange(lats.size), left=np.nan, right=np.nan)
        ok = np.isfinite(fx) & np.isfinite(fy)
        out = np.full(lon.shape, np.nan)
        x0 = np.clip(np.floor(fx[ok]).astype(np.intp), 0, self.lons.size - 2)
        y0 = np.clip(np.floor(fy[ok]).astype(np.intp), 0, lats.size - 2)
        tx = fx[ok] - x0
        ty = fy[ok] - y0
        out[ok] = (
            mmi[y0, x0] * (1 - tx) * (1 - ty)
            + mmi[y0, x0 + 1] * tx * (1 - ty)
            + mmi[y0 + 1, x0] * (1 - tx) * ty
            + mmi[y0 + 1, x0 + 1] * tx * ty
        )
        return out
