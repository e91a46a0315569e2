"""Population scaled to the year of the event, as USGS PAGER does (``esi_utils_pager/growth.py``).

PAGER's fatality model (Jaiswal & Wald 2010) was calibrated on the population exposed *in the year
of each event*: PAGER scales its LandScan population from the data's year to the event's year with
UN World Population Prospects growth rates, country by country (``PopulationGrowth.adjustPopulation``).
The same is done here with the rates PAGER ships (UN WPP 2015 Revision, five-year periods 1950-2015,
``expedition/data/wpp2015_growth_rates.csv``, derived from esi-utils-pager's spreadsheet) and PAGER's
rules (``getRate``):

* the rate of a year is that of the period whose *end* year is nearest (PAGER's choice); before the
  first period the first rate, after the last period the last rate (2010-2015 carried forward);
* the population is moved one year at a time, P(t +- 1) = P(t) (1 + r(t))^(+-1);
* a country without rates grows at PAGER's default 1.17 % a year (``DEFAULT_RATE``).

PAGER rounds the population to whole people after each year (it scales raster cells); the factor
here is not rounded, since it scales fractional rural shares.
"""

from __future__ import annotations

import csv
import io
from functools import cache
from importlib import resources

import numpy as np
from numpy.typing import NDArray

from expedition.science.hazard import HazardInputError

__all__ = ["DEFAULT_RATE", "GROWTH_FILE", "growth_factor", "growth_factors", "growth_rate", "load_growth_rates"]

GROWTH_FILE = "wpp2015_growth_rates.csv"
DEFAULT_RATE = 1.17 / 100.0  # esi_utils_pager/growth.py DEFAULT_RATE


@cache
def load_growth_rates() -> dict[str, tuple[NDArray[np.int_], NDArray[np.int_], NDArray[np.float64]]]:
    """ISO3 -> (period start years, period end years, annual rates as fractions); memoised."""
    path = resources.files("expedition").joinpath(f"data/{GROWTH_FILE}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HazardInputError(f"{path}: cannot read population growth rates: {exc}") from exc
    rows = list(csv.reader(io.StringIO("".join(x for x in text.splitlines(keepends=True) if not x.startswith("#")))))
    header, body = rows[0], rows[1:]
    periods = header[2:]
    try:
        starts = np.array([int(p.split("-")[0]) for p in periods])
        ends = np.array([int(p.split("-")[1]) for p in periods])
        out = {r[0]: (starts, ends, np.array([float(v) for v in r[2:]]) / 100.0) for r in body}
    except (IndexError, ValueError) as exc:
        raise HazardInputError(f"{GROWTH_FILE}: expected country_iso3, un_code and one rate per period ({exc})") from exc
    return out


def growth_rate(country_iso3: str, year: int) -> float:
    """Annual growth rate (fraction) of a country in a year, by PAGER's ``getRate`` rule."""
    entry = load_growth_rates().get(country_iso3)
    if entry is None:
        return DEFAULT_RATE
    starts, ends, rates = entry
    if year < starts.min():
        return float(rates[0])
    if year > ends.max():
        return float(rates[-1])
    return float(rates[int(np.abs(year - ends).argmin())])


@cache
def growth_factor(country_iso3: str, from_year: int, to_year: int) -> float:
    """Population at ``to_year`` / population at ``from_year`` (PAGER ``adjustPopulation``, unrounded)."""
    step = 1 if to_year > from_year else -1
    factor = 1.0
    for year in range(from_year, to_year, step):
        factor *= (1.0 + growth_rate(country_iso3, year)) ** step
    return factor


def growth_factors(country_iso3: NDArray[np.str_], from_year: int, to_year: int) -> NDArray[np.float64]:
    """:func:`growth_factor` for each point's country (one computation per distinct country)."""
    codes, inv = np.unique(np.asarray(country_iso3, dtype=str), return_inverse=True)
    per = np.array([growth_factor(str(c), from_year, to_year) for c in codes.tolist()], dtype=float)
    return per[inv] if per.size else np.ones(0)
