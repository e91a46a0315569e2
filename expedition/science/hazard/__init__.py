"""Science of the response: shaking, rupture size, exposure, impact alerts, aftershocks, sequences.

* :mod:`expedition.science.hazard.ipe` - intensity prediction equations (Allen et al. 2012; Atkinson et al. 2014).
* :mod:`expedition.science.hazard.rupture` - Wells & Coppersmith (1994) sizes, finite-rupture distances,
  aftershock-zone ruptures (Kagan 2002).
* :mod:`expedition.science.hazard.exposure` - shaking at populated places, population per intensity.
* :mod:`expedition.science.hazard.pager` - PAGER empirical fatality model and alert levels (Jaiswal & Wald 2010).
* :mod:`expedition.science.hazard.aftershocks` - Reasenberg & Jones (1989) forecasts with Page et al. (2016) parameters.
* :mod:`expedition.science.hazard.sequences` - Gardner & Knopoff (1974) / Uhrhammer (1986) windows.

All functions are pure and numpy-vectorised; every formula cites its paper where it is used.
"""

from __future__ import annotations

from expedition.errors import ExpeditionError

__all__ = ["HazardInputError"]


class HazardInputError(ExpeditionError, ValueError):
    """A hazard computation got an input it cannot use (the message names the value and what was expected)."""
