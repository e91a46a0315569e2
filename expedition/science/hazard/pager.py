"""PAGER empirical fatality model and alert levels (Jaiswal & Wald 2010, Earthquake Spectra 26(4)).

Fatality rate at intensity S: nu(S) = Phi(ln(S / theta) / beta), Phi the standard normal CDF, with
per-country theta and beta shipped in ``expedition/data/pager_fatality_params.csv`` (transcribed
from the USGS PAGER code; see that file's header). Expected deaths = sum over intensity bins of
exposed population x nu(bin intensity), the bins being PAGER's integer intensities (IV..X).

Alert levels (USGS PAGER): fatalities 1 / 100 / 1,000 and economic losses USD 1 M / 100 M / 1 B
for yellow / orange / red; the higher of the two tracks wins.

Countries without parameters (Kosovo, and the few Natural Earth entities without ISO codes) get an
*exposure rule*: the same sum, with a reference vulnerability nu_ref(S) = the median over all
countries in the table of nu(S). Its basis is therefore the Jaiswal & Wald (2010) country models
themselves; it is marked ``exposure_rule`` and carries a caveat.
"""

from __future__ import annotations

import csv
import io
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
    "FatalityParams",
    "PagerResult",
    "alert_level",
    "expected_fatalities",
    "fatality_rate",
    "load_fatality_params",
    "pager_estimate",
    "reference_fatality_rates",
]

ALERT_LEVELS = ("green", "yellow", "orange", "red")
FATALITY_THRESHOLDS = (1.0, 100.0, 1000.0)  # yellow, orange, red (PAGER)
LOSS_THRESHOLDS_USD = (1e6, 1e8, 1e9)
PARAMS_FILE = "pager_fatality_params.csv"
CITATION = (
    "Jaiswal & Wald (2010), An empirical model for global earthquake fatality estimation, "
    "Earthquake Spectra 26(4), 1017-1037"
)
_BIN_MMI = {b: float(i) for b, i in zip(MMI_BINS, range(4, 11))}


@dataclass(frozen=True)
class FatalityParams:
    country_iso3: str
    theta: float
    beta: float
    pager_status: str  # InCountry | InGroup
    source: str


@dataclass(frozen=True)
class PagerResult:
    """Expected fatalities and alert level, with the method used per country and caveats."""

    expected_fatalities: float
    level: str
    method: str
    fatalities_by_country: dict[str, float]
    method_by_country: dict[str, str]
    expected_losses_usd: float | None = None
    caveats: list[str] = field(default_factory=list)


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
                row["country_iso3"], float(row["theta"]), float(row["beta"]), row["pager_status"], row["source"]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise HazardInputError(
                f"{PARAMS_FILE}: data row {n}: expected country_iso3, theta, beta, pager_status, source ({exc})"
            ) from exc
        if not (p.theta > 0 and p.beta > 0):
            raise HazardInputError(f"{PARAMS_FILE}: data row {n} ({p.country_iso3}): theta and beta must be > 0")
        out[p.country_iso3] = p
    return out


def fatality_rate(mmi: ArrayLike, theta: float, beta: float) -> NDArray[np.float64]:
    """nu(S) = Phi(ln(S / theta) / beta) (Jaiswal & Wald 2010, eq. 1)."""
    s = np.asarray(mmi, dtype=float)
    if np.any(s <= 0):
        raise HazardInputError("fatality_rate: intensities must be > 0")
    return np.asarray(ndtr(np.log(s / theta) / beta), dtype=float)


@cache
def reference_fatality_rates() -> dict[str, float]:
    """nu_ref per intensity bin: the median over all country models (basis of the exposure rule)."""
    params = list(load_fatality_params().values())
    return {b: float(np.median([fatality_rate(s, p.theta, p.beta) for p in params])) for b, s in _BIN_MMI.items()}


def expected_fatalities(exposure_by_mmi: Mapping[str, float], theta: float, beta: float) -> float:
    """Sum over bins of exposed population x nu(bin intensity) (Jaiswal & Wald 2010)."""
    total = 0.0
    for b, pop in exposure_by_mmi.items():
        if b not in _BIN_MMI:
            raise HazardInputError(f"unknown intensity bin {b!r}: expected one of {MMI_BINS}")
        total += float(pop) * float(fatality_rate(_BIN_MMI[b], theta, beta))
    return total


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


def pager_estimate(estimate: ShakingEstimate, expected_losses_usd: float | None = None) -> PagerResult:
    """Expected fatalities and alert level of a shaking estimate, country by country."""
    params = load_fatality_params()
    deaths: dict[str, float] = {}
    methods: dict[str, str] = {}
    ref = reference_fatality_rates()
    for code, exposure in estimate.exposure_by_country.items():
        p = params.get(code)
        if p is not None:
            deaths[code] = expected_fatalities(exposure, p.theta, p.beta)
            methods[code] = f"jaiswal_wald_2010 {code} theta={p.theta:.2f} beta={p.beta:.3f} ({p.pager_status})"
        else:
            deaths[code] = float(sum(float(pop) * ref[b] for b, pop in exposure.items()))
            methods[code] = "exposure_rule (median PAGER vulnerability)"
    total = float(sum(deaths.values()))
    kinds = {m.split(" ")[0] for m in methods.values()}
    method = " + ".join(sorted(kinds)) if kinds else "jaiswal_wald_2010"
    caveats = [
        f"Fatality model: {CITATION}; rates applied to GeoNames place populations, not gridded population.",
        "Expected fatalities are a median estimate; PAGER's own uncertainty spans about an order of magnitude.",
    ]
    if expected_losses_usd is None:
        caveats.append("Economic losses are not modelled: the alert uses the fatality track only.")
    if "exposure_rule" in kinds:
        missing = sorted(c for c, m in methods.items() if m.startswith("exposure_rule"))
        caveats.append(
            f"No PAGER parameters for {', '.join(missing)}: median vulnerability of all PAGER countries used."
        )
    return PagerResult(
        expected_fatalities=total,
        level=alert_level(total, expected_losses_usd),
        method=method,
        fatalities_by_country=deaths,
        method_by_country=methods,
        expected_losses_usd=expected_losses_usd,
        caveats=caveats,
    )
