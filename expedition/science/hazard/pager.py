"""PAGER empirical fatality model, alert levels and fatality-range probabilities, as USGS PAGER computes them.

Model: Jaiswal & Wald (2010), Earthquake Spectra 26(4). Code reproduced (with its rules, not its
classes) from USGS PAGER, repository usgs/pager, ``losspager/models/emploss.py`` and
``losspager/utils/probs.py`` (on PyPI as ``esi-utils-pager``; public domain, USGS):

* fatality rate at intensity S: nu(S) = Phi(ln(S / theta) / beta), per-country theta and beta in
  ``expedition/data/pager_fatality_params.csv`` (PAGER's ``fatality.xml`` vstr 2.2);
* losses per country = sum over MMI V..IX of exposed population x nu(MMI), the exposure at MMI X
  counted at IX and MMI I-IV ignored (``EmpiricalLoss.getLosses``); PAGER truncates each country's
  losses to an integer and the alert comes from their total (``getAlertLevel``: green < 1,
  yellow < 100, orange < 1,000, red);
* uncertainty: zeta = sqrt(sum of the squared ``gnormvalue`` of the countries with losses), capped
  at 2.5 (``getCombinedG``); the probability of each fatality range is that of a lognormal with
  median the expected losses and log-sd zeta (``calcEmpiricalProbFromRange``, with PAGER's own
  guards: expected < 0.001 taken as 0.5, zeta capped at 1.7613 when expected < 1).

Countries without parameters get PAGER's own default model (theta 16.0, beta 0.15, gnorm 1.0:
``DEFAULT_THETA/BETA/L2G`` in ``emploss.py``), marked ``pager_default``.

Economic losses are not modelled: the alert uses the fatality track only (said in the caveats).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from expedition.science.hazard import HazardInputError
from expedition.science.hazard.exposure import MMI_BINS, ShakingEstimate

__all__ = [
    "ALERT_LEVELS",
    "FATALITY_RANGES",
    "FatalityParams",
    "PagerResult",
    "alert_level",
    "combined_zeta",
    "country_losses",
    "expected_fatalities",
    "fatality_probabilities",
    "fatality_rate",
    "load_fatality_params",
    "pager_estimate",
    "pager_from_exposure",
]

ALERT_LEVELS = ("green", "yellow", "orange", "red")
FATALITY_THRESHOLDS = (1.0, 100.0, 1000.0)  # yellow, orange, red (PAGER)
LOSS_THRESHOLDS_USD = (1e6, 1e8, 1e9)
PARAMS_FILE = "pager_fatality_params.csv"
CITATION = (
    "Jaiswal & Wald (2010), An empirical model for global earthquake fatality estimation, "
    "Earthquake Spectra 26(4), 1017-1037"
)
#: PAGER's ranges of the onePAGER histogram (``EmpiricalLoss.getProbabilities``); the last is open-ended.
FATALITY_RANGES = (
    ("0", 0.0, 1.0),
    ("1-10", 1.0, 10.0),
    ("10-100", 10.0, 100.0),
    ("100-1,000", 100.0, 1000.0),
    ("1,000-10,000", 1000.0, 10000.0),
    ("10,000-100,000", 10000.0, 100000.0),
    ("100,000+", 100000.0, 1e12),
)
# PAGER's default model for countries without one (emploss.py DEFAULT_THETA, DEFAULT_BETA, DEFAULT_L2G)
DEFAULT_THETA, DEFAULT_BETA, DEFAULT_GNORM = 16.0, 0.15, 1.0
ZETA_CAP = 2.5
# intensity each exposure bin is charged at: V..IX at their value, X at IX (PAGER getLosses), IV ignored
_BIN_MMI = {"V": 5.0, "VI": 6.0, "VII": 7.0, "VIII": 8.0, "IX": 9.0, "X": 9.0}


@dataclass(frozen=True)
class FatalityParams:
    country_iso3: str
    theta: float
    beta: float
    pager_status: str  # InCountry | InGroup | default
    source: str
    gnorm: float = DEFAULT_GNORM


@dataclass(frozen=True)
class PagerResult:
    """Expected fatalities, alert level and the probability of each fatality range, per PAGER."""

    expected_fatalities: float
    level: str
    method: str
    fatalities_by_country: dict[str, float]
    method_by_country: dict[str, str]
    expected_losses_usd: float | None = None
    caveats: list[str] = field(default_factory=list)
    zeta: float = DEFAULT_GNORM
    probabilities: dict[str, float] = field(default_factory=dict)
    #: expected fatalities with every intensity one sigma lower / higher (when the exposure has sigma)
    fatalities_low: float | None = None
    fatalities_high: float | None = None


@cache
def load_fatality_params() -> dict[str, FatalityParams]:
    """Per-country PAGER parameters keyed by ISO3 (memoised; the CSV ships with the package)."""
    path = resources.files("expedition").joinpath(f"data/{PARAMS_FILE}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HazardInputError(f"{path}: cannot read PAGER fatality parameters: {exc}") from exc
    rows = csv.DictReader(
        io.StringIO("".join(line for line in text.splitlines(keepends=True) if not line.startswith("#")))
    )
    out: dict[str, FatalityParams] = {}
    for n, row in enumerate(rows, start=2):
        try:
            p = FatalityParams(
                row["country_iso3"],
                float(row["theta"]),
                float(row["beta"]),
                row["pager_status"],
                row["source"],
                float(row["gnorm"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise HazardInputError(
                f"{PARAMS_FILE}: data row {n}: expected country_iso3, theta, beta, pager_status, source, gnorm ({exc})"
            ) from exc
        if not (p.theta > 0 and p.beta > 0 and p.gnorm > 0):
            raise HazardInputError(f"{PARAMS_FILE}: data row {n} ({p.country_iso3}): theta, beta, gnorm must be > 0")
        out[p.country_iso3] = p
    return out


def params_for(country_iso3: str) -> FatalityParams:
    """The country's PAGER model, or PAGER's default model (theta 16, beta 0.15, gnorm 1)."""
    p = load_fatality_params().get(country_iso3)
    if p is not None:
        return p
    return FatalityParams(country_iso3, DEFAULT_THETA, DEFAULT_BETA, "default", "PAGER default model", DEFAULT_GNORM)


def fatality_rate(mmi: ArrayLike, theta: float, beta: float) -> NDArray[np.float64]:
    """nu(S) = Phi(ln(S / theta) / beta) (Jaiswal & Wald 2010, eq. 1; PAGER LognormalModel.getLossRates)."""
    s = np.asarray(mmi, dtype=float)
    if np.any(s <= 0):
        raise HazardInputError("fatality_rate: intensities must be > 0")
    return np.asarray(ndtr(np.log(s / theta) / beta), dtype=float)


def expected_fatalities(exposure_by_mmi: Mapping[str, float], theta: float, beta: float) -> float:
    """Sum over MMI V..IX of exposed population x nu(MMI), X counted as IX, IV ignored (PAGER getLosses)."""
    total = 0.0
    for b, pop in exposure_by_mmi.items():
        if b not in MMI_BINS:
            raise HazardInputError(f"unknown intensity bin {b!r}: expected one of {MMI_BINS}")
        if b in _BIN_MMI:
            total += float(pop) * float(fatality_rate(_BIN_MMI[b], theta, beta))
    return total


def country_losses(exposure_by_country: Mapping[str, Mapping[str, float]]) -> tuple[dict[str, float], dict[str, str]]:
    """Expected fatalities and the model used, per country."""
    deaths: dict[str, float] = {}
    methods: dict[str, str] = {}
    for code, exposure in exposure_by_country.items():
        p = params_for(code)
        deaths[code] = expected_fatalities(exposure, p.theta, p.beta)
        kind = "pager_default" if p.pager_status == "default" else "jaiswal_wald_2010"
        methods[code] = f"{kind} {code} theta={p.theta:.2f} beta={p.beta:.3f} ({p.pager_status})"
    return deaths, methods


def combined_zeta(losses_by_country: Mapping[str, float]) -> float:
    """sqrt(sum gnorm^2) over countries with (integer) losses > 0, or over all when none; capped at 2.5 (getCombinedG)."""
    ints = {c: int(v) for c, v in losses_by_country.items()}
    has_loss = sum(ints.values()) > 0
    g = [params_for(c).gnorm for c, v in ints.items() if (v > 0 or not has_loss)]
    if not g:  # nobody exposed: PAGER's default L2G norm
        return DEFAULT_GNORM
    return float(min(math.sqrt(sum(x * x for x in g)), ZETA_CAP))


def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def fatality_probabilities(expected: float, zeta: float) -> dict[str, float]:
    """Probability of each of ``FATALITY_RANGES`` (PAGER calcEmpiricalProbFromRange, with its guards)."""
    if not (np.isfinite(expected) and expected >= 0 and zeta > 0):
        raise HazardInputError(f"fatality_probabilities: need expected >= 0 and zeta > 0, got {expected}, {zeta}")
    e = expected + 0.00001
    g = 1.7613 if (e < 1 and zeta > 1.7) else zeta
    if e < 0.001:
        e = 0.5
    out = {}
    for name, lo, hi in FATALITY_RANGES:
        p1 = _phi((math.log(hi + 0.00001) - math.log(e)) / g)
        p2 = _phi((math.log(lo + 0.00001) - math.log(e)) / g)
        out[name] = p1 - p2
    return out


def _level(value: float, thresholds: tuple[float, float, float]) -> int:
    return int(np.searchsorted(np.asarray(thresholds), value, side="right"))


def alert_level(expected_fatalities: float, expected_losses_usd: float | None = None) -> str:
    """PAGER alert: green / yellow / orange / red from fatalities (1/100/1,000) and losses (1M/100M/1B USD)."""
    if not np.isfinite(expected_fatalities) or expected_fatalities < 0:
        raise HazardInputError(f"expected fatalities must be a finite number >= 0, got {expected_fatalities}")
    level = _level(expected_fatalities, FATALITY_THRESHOLDS)
    if expected_losses_usd is not None:
        if not np.isfinite(expected_losses_usd) or expected_losses_usd < 0:
            raise HazardInputError(f"expected losses must be a finite number >= 0, got {expected_losses_usd}")
        level = max(level, _level(expected_losses_usd, LOSS_THRESHOLDS_USD))
    return ALERT_LEVELS[level]


def pager_from_exposure(
    exposure_by_country: Mapping[str, Mapping[str, float]],
    *,
    exposure_low: Mapping[str, Mapping[str, float]] | None = None,
    exposure_high: Mapping[str, Mapping[str, float]] | None = None,
    expected_losses_usd: float | None = None,
    population_source: str = "",
) -> PagerResult:
    """PAGER's fatality estimate, alert and range probabilities from exposure per country and MMI bin."""
    deaths, methods = country_losses(exposure_by_country)
    total = float(sum(deaths.values()))
    pager_total = float(sum(int(v) for v in deaths.values()))  # PAGER truncates each country's losses
    zeta = combined_zeta(deaths)
    kinds = {m.split(" ")[0] for m in methods.values()}
    method = " + ".join(sorted(kinds)) if kinds else "jaiswal_wald_2010"
    caveats = [
        f"Fatality model: {CITATION} (USGS PAGER rules: MMI V-IX, X counted as IX); "
        f"population: {population_source or 'not stated'}.",
        f"Expected fatalities are a median; PAGER's uncertainty zeta = {zeta:.2f} (natural-log units) "
        "spans about an order of magnitude.",
    ]
    if expected_losses_usd is None:
        caveats.append("Economic losses are not modelled: the alert uses the fatality track only.")
    missing = sorted(c for c, m in methods.items() if m.startswith("pager_default"))
    if missing:
        caveats.append(f"No PAGER parameters for {', '.join(missing)}: PAGER's default model used.")
    low = float(sum(country_losses(exposure_low)[0].values())) if exposure_low is not None else None
    high = float(sum(country_losses(exposure_high)[0].values())) if exposure_high is not None else None
    return PagerResult(
        expected_fatalities=total,
        level=alert_level(pager_total, expected_losses_usd),
        method=method,
        fatalities_by_country=deaths,
        method_by_country=methods,
        expected_losses_usd=expected_losses_usd,
        caveats=caveats,
        zeta=zeta,
        probabilities=fatality_probabilities(total, zeta),
        fatalities_low=low,
        fatalities_high=high,
    )


def pager_estimate(estimate: ShakingEstimate, expected_losses_usd: float | None = None) -> PagerResult:
    """Expected fatalities, alert and probabilities of a shaking estimate, country by country."""
    return pager_from_exposure(
        estimate.exposure_by_country,
        exposure_low=estimate.exposure_low_by_country,
        exposure_high=estimate.exposure_high_by_country,
        expected_losses_usd=expected_losses_usd,
        population_source=estimate.provenance.get("population_source", estimate.places.source),
    )
