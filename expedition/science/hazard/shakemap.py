"""An authoritative ShakeMap (USGS or BMKG ``grid.xml``) as an :class:`IntensityGrid`.

The file is read by :mod:`catalogs.shakemap_grid` (fast, strict: a truncated, foreign-namespace,
wrong-event or MMI-less grid raises :class:`~catalogs.shakemap_grid.ShakeMapGridError`). This module
turns its columns into the shared :class:`~expedition.science.hazard.grid.IntensityGrid`:

* ``mmi``: the grid's ``MMI`` field;
* ``mmi_sigma``: the ``STDMMI`` field when the grid has one (ShakeMap 4); otherwise derived from
  ``STDPGA`` (ShakeMap 3.5, BMKG) through the Worden et al. (2012) GMICE for PGA, as ShakeMap itself
  propagates uncertainty: sigma_MMI = sqrt((dMMI/dlnPGA * sigma_lnPGA)^2 + sigma_GMICE^2), with the
  slope of the bilinear WGRW12 segment the median PGA falls on (1.55, or 3.70 above
  log10 PGA = 1.57 cm/s^2, or 2.08 below 0.14 with the low-intensity extension ShakeMap uses),
  times log10(e), and sigma_GMICE = 0.66 MMI (Worden, Gerstenberger, Rhoades & Wald 2012, BSSA
  102(1), 204-221, Table 1). ``STDPGA`` is read in ln units: ShakeMap 3.5 labels it ``ln(pctg)``; BMKG labels the
  same column ``pctg``, but its values (0.5 everywhere) are of the size of an ln-unit GMPE sigma,
  not of a PGA in %g, so they are read as ln units too (an assumption, stated in the attributes);
* no sigma when neither field is present (the grid still serves, ``attributes['sigma']`` says so).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from catalogs.shakemap_grid import ShakeMapGridData, parse_shakemap_grid, read_shakemap_grid
from expedition.science.hazard.grid import IntensityGrid

__all__ = ["SIGMA_GMICE_PGA", "grid_from_shakemap", "load_shakemap", "mmi_sigma_from_stdpga", "parse_shakemap"]

# Worden et al. (2012), BSSA 102(1), Table 1 (PGA row) and the MMI 1-2 extension of ShakeMap's WGRW12
_WGRW12_PGA = {"c2_low": 2.08, "t1_low": 0.14, "c2": 1.55, "t1": 1.57, "c4": 3.70}
SIGMA_GMICE_PGA = 0.66
_G_CM_S2 = 981.0  # ShakeMap's own factor from g to cm/s^2


def mmi_sigma_from_stdpga(pga_pctg: NDArray[np.float64], std_ln_pga: NDArray[np.float64]) -> NDArray[np.float64]:
    """MMI standard deviation from PGA (%g) and its ln-unit sigma, through WGRW12 (see module notes)."""
    pga = np.maximum(np.asarray(pga_pctg, dtype=float), 1e-6)
    lamps = np.log10(pga / 100.0 * _G_CM_S2)
    c = _WGRW12_PGA
    slope10 = np.where(lamps < c["t1_low"], c["c2_low"], np.where(lamps < c["t1"], c["c2"], c["c4"]))
    dmmi_dln = slope10 * np.log10(np.e)
    return np.asarray(np.sqrt((dmmi_dln * np.asarray(std_ln_pga, dtype=float)) ** 2 + SIGMA_GMICE_PGA**2), dtype=float)


def grid_from_shakemap(g: ShakeMapGridData) -> IntensityGrid:
    """The :class:`IntensityGrid` of a parsed ShakeMap grid (sigma as in the module notes)."""
    mmi = g.fields["MMI"]
    if "STDMMI" in g.fields:
        sigma: NDArray[np.float64] | None = g.fields["STDMMI"]
        how = "STDMMI field of the grid"
    elif "STDPGA" in g.fields and "PGA" in g.fields:
        sigma = mmi_sigma_from_stdpga(g.fields["PGA"], g.fields["STDPGA"])
        how = "derived from STDPGA (read as ln units) through the Worden et al. (2012) PGA GMICE, sigma_GMICE 0.66"
    else:
        sigma = None
        how = "none in the grid"
    code = f" {g.code_version}" if g.code_version else ""
    net = f" {g.originator}" if g.originator else ""
    return IntensityGrid(
        lons=g.lons,
        lats=g.lats,
        mmi=mmi,
        source=f"{g.agency} ShakeMap{code} v{g.shakemap_version or '?'}{net}",
        version=g.shakemap_version or "",
        mmi_sigma=sigma,
        event_id=g.event_id or None,
        attributes={
            "agency": g.agency,
            "originator": g.originator,
            "code_version": g.code_version,
            "process_timestamp": g.process_timestamp,
            "map_status": g.map_status,
            "sigma": how,
            "file": g.source,
        },
    )


def load_shakemap(path: Path | str, expected_ids: set[str] | None = None) -> IntensityGrid:
    """Read a ``grid.xml`` file into an :class:`IntensityGrid` (strict; see the module notes)."""
    return grid_from_shakemap(read_shakemap_grid(path, expected_ids))


def parse_shakemap(data: bytes, source: str = "grid.xml", expected_ids: set[str] | None = None) -> IntensityGrid:
    """:func:`load_shakemap` of bytes already in memory."""
    return grid_from_shakemap(parse_shakemap_grid(data, source, expected_ids))
