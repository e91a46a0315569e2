"""Science of the response: shaking, rupture size, exposure, impact alerts, aftershocks, sequences.

* :mod:`expedition.science.hazard.ipe` - intensity prediction equations (Allen et al. 2012; Atkinson et al. 2014).
* :mod:`expedition.science.hazard.rupture` - Wells & Coppersmith (1994) sizes, finite-rupture distances,
  aftershock-zone ruptures (Kagan 2002).
* :mod:`expedition.science.hazard.gmm` - ground-motion models by tectonic setting (Boore et al. 2014; Zhao et al. 2006).
* :mod:`expedition.science.hazard.gmm_subduction` - ShakeMap's weighted subduction sets (Abrahamson et al.
  2016; Atkinson & Boore 2003), an option measured in docs/science.md.
* :mod:`expedition.science.hazard.regions` - USGS STREC's tectonic regions (Garcia et al. 2012) from the
  ``usgs-strec`` package's polygons and ShakeMap's selection rules, an option measured in docs/science.md.
* :mod:`expedition.science.hazard.gcmt` - the event's Global CMT moment tensor (Dziewonski et al. 1981;
  Ekström et al. 2012) from the catalogue USGS STREC ships, and its nodal planes; an option measured in
  docs/science.md.
* :mod:`expedition.science.hazard.gmice` - PGA/PGV to intensity (Worden et al. 2012).
* :mod:`expedition.science.hazard.planes` - oriented finite rupture planes (finite fault, nodal planes,
  aftershock zone, unknown strike), Rrup and Rjb.
* :mod:`expedition.science.hazard.shaking` - the ShakeMap-style chain on an IntensityGrid.
* :mod:`expedition.science.hazard.grid` - the intensity grid every source (ours, ShakeMap) fills.
* :mod:`expedition.science.hazard.population` - population rasters and the built-in places+rural fallback.
* :mod:`expedition.science.hazard.exposure` - population per intensity from a grid (or, legacy, at places).
* :mod:`expedition.science.hazard.pager` - PAGER fatality model, alert and range probabilities, as USGS computes them.
* :mod:`expedition.science.hazard.aftershocks` - Reasenberg & Jones (1989) forecasts with Page et al. (2016) parameters.
* :mod:`expedition.science.hazard.sequences` - Gardner & Knopoff (1974) / Uhrhammer (1986) windows.

All functions are pure and numpy-vectorised; every formula cites its paper where it is used.
"""

from __future__ import annotations

from expedition.errors import ExpeditionError

__all__ = ["HazardInputError"]


class HazardInputError(ExpeditionError, ValueError):
    """A hazard computation got an input it cannot use (the message names the value and what was expected)."""
