"""Probability of each PAGER fatality range from the expected fatalities (the onePAGER histogram).

PAGER treats the fatality count as lognormal about the model's expected value E with a log standard
deviation zeta (Jaiswal & Wald 2010, Earthquake Spectra 26(4), 1017-1037; Jaiswal & Wald 2011, USGS
Open-File Report 2011-1116, "Rapid estimation of the economic consequences of global earthquakes",
section on alert uncertainty). zeta is the country model's G norm (``gnormvalue`` of PAGER's
``fatality.xml``, shipped in ``expedition/data/pager_fatality_zeta.csv``); for several countries the
combined value is sqrt(sum of squares) over the countries with fatalities, capped at 2.5, and an E below
one is taken as 0.1 with zeta at most 1.7613 -- exactly as PAGER's ``getCombinedG`` and
``calcEmpiricalProbFromRange`` do. P(a < X <= b) = Phi((ln b - ln E) / zeta) - Phi((ln a - ln E) / zeta).

This is used only while the assessment carries no probabilities of its own (the impact model may
store them; the brief then shows those).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

from scipy.special import ndtr

__all__ = ["RANGES", "ZETA_CAP", "combined_zeta", "fatality_probabilities", "load_zeta"]

RANGES: tuple[tuple[float, float], ...] = (
    (0, 1), (1, 10), (10, 100), (100, 1_000), (1_000, 10_000), (10_000, 100_000), (100_000, math.inf))
ZETA_CAP = 2.5
DEFAULT_ZETA = ZETA_CAP  # a country without a model: the widest spread PAGER uses
CITATION = "Jaiswal & Wald (2010), Earthquake Spectra 26(4); PAGER calcEmpiricalProbFromRange"
_EPS = 1e-5  # PAGER adds 0.00001 to E and to the range ends


@cache
def load_zeta() -> dict[str, float]:
    """zeta (PAGER G norm) by ISO3 country code."""
    raw = (resources.files("expedition") / "data" / "pager_fatality_zeta.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO("".join(line for line in raw.splitlines(True) if not line.startswith("#"))))
    return {r["country_iso3"]: float(r["zeta"]) for r in rows}


def combined_zeta(countries: Iterable[str]) -> float:
    """sqrt(sum zeta^2) over ``countries`` (those with fatalities), capped at 2.5 (PAGER getCombinedG)."""
    table = load_zeta()
    g = [table.get(c, DEFAULT_ZETA) for c in countries]
    if not g:
        return DEFAULT_ZETA
    return min(math.sqrt(sum(x * x for x in g)), ZETA_CAP)


def fatality_probabilities(expected: float, zeta: float) -> list[dict[str, Any]]:
    """Probability of each range of :data:`RANGES` for expected fatalities ``expected`` and spread ``zeta``."""
    e = float(expected) + _EPS
    if e < 1:
        e = 0.1
        zeta = min(zeta, 1.7613) if zeta > 1.7 else zeta
    out = []
    for lo, hi in RANGES:
        p_hi = 1.0 if math.isinf(hi) else float(ndtr((math.log(hi + _EPS) - math.log(e)) / zeta))
        p_lo = float(ndtr((math.log(lo + _EPS) - math.log(e)) / zeta))
        out.append({"low": lo, "high": None if math.isinf(hi) else hi, "probability": max(p_hi - p_lo, 0.0)})
    return out
