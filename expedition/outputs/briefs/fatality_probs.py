"""Probability of each PAGER fatality range as the brief shows it (the onePAGER histogram).

The numbers are those of our PAGER step (:mod:`expedition.science.hazard.pager`: Jaiswal & Wald 2010,
PAGER's ``getCombinedG`` and ``calcEmpiricalProbFromRange``, checked against PAGER's test vectors).
The brief shows the probabilities stored with the decision that produced the assessment
(``event_assessments.fatality_prob_*`` and ``fatality_zeta``); an older assessment without them gets
them from the same functions about its expected fatalities, with zeta combined over the countries
it shook (:func:`combined_zeta`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from expedition.science.hazard import pager

__all__ = ["CITATION", "RANGES", "combined_zeta", "fatality_probabilities", "stored_probabilities"]

#: (low, high) of PAGER's ranges, the last open-ended (math.inf)
RANGES: tuple[tuple[float, float], ...] = tuple(
    (lo, hi if hi < 1e12 else math.inf) for _, lo, hi in pager.FATALITY_RANGES
)
CITATION = "Jaiswal & Wald (2010), Earthquake Spectra 26(4); PAGER calcEmpiricalProbFromRange"


def combined_zeta(countries: Iterable[str]) -> float:
    """sqrt(sum G^2) over ``countries``, capped at 2.5 (PAGER ``getCombinedG`` when no country has losses)."""
    return pager.combined_zeta({c: 0.0 for c in countries})


def _ranges(probs: Mapping[str, float | None]) -> list[dict[str, Any]]:
    return [
        {"low": lo, "high": None if math.isinf(hi) else hi, "probability": probs.get(name)}
        for (name, _, _), (lo, hi) in zip(pager.FATALITY_RANGES, RANGES, strict=True)
    ]


def fatality_probabilities(expected: float, zeta: float) -> list[dict[str, Any]]:
    """Probability of each range of :data:`RANGES` for expected fatalities ``expected`` and spread ``zeta``."""
    return _ranges(pager.fatality_probabilities(float(expected), float(zeta)))


def stored_probabilities(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """The probabilities of an ``event_assessments`` row (None when the row has none)."""
    from expedition.decisions.response.decisions import fatality_prob_column

    probs = {name: row.get(fatality_prob_column(lo, hi)) for name, lo, hi in pager.FATALITY_RANGES}
    if any(v is None for v in probs.values()):
        return None
    return {"ranges": _ranges(probs), "zeta": row.get("fatality_zeta"), "method": CITATION,
            "source": "event_assessments"}
