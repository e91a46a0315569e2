"""Aftershock forecasts: Reasenberg & Jones (1989) with Page et al. (2016) generic parameters.

Rate of aftershocks with magnitude >= M at t days after a mainshock of magnitude Mm
(Reasenberg & Jones 1989, Science 243, 1173-1176):

    lambda(t, M) = 10^(a + b (Mm - M)) (t + c)^(-p)

Expected number in [t1, t2] (integral of the rate):

    N = 10^(a + b (Mm - M)) [(t2 + c)^(1-p) - (t1 + c)^(1-p)] / (1 - p)     (p != 1)
    N = 10^(a + b (Mm - M)) ln((t2 + c) / (t1 + c))                         (p == 1)

and, events being Poisson, P(at least one) = 1 - exp(-N). Parameters by tectonic regime are the
global generic ones of Page et al. (2016), BSSA 106(5), 2290-2301: b = 1.0, c = 0.018 d, with the
regime's p and mean a; the California generic model of Reasenberg & Jones (1989) is kept for
comparison. The output mirrors the USGS aftershock forecast: expected M3+ counts and chances of
M5+, M6+, M7+ in the next day, week, month and year.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from expedition.science.hazard import HazardInputError

__all__ = [
    "REGIMES",
    "Forecast",
    "ForecastWindow",
    "RegimeParams",
    "classify_regime",
    "expected_number",
    "field_safety_note",
    "forecast",
    "prob_at_least_one",
]


@dataclass(frozen=True)
class RegimeParams:
    regime: str
    description: str
    a: float
    b: float
    p: float
    c: float
    citation: str


_PAGE = "Page et al. (2016), BSSA 106(5), global generic parameters"
REGIMES: dict[str, RegimeParams] = {
    # Page et al. (2016) Table: mean a and p per tectonic regime (Garcia et al. 2012 regionalisation)
    "ANSR-SHALCON": RegimeParams("ANSR-SHALCON", "active shallow continental crust", -2.42, 1.0, 0.98, 0.018, _PAGE),
    "ANSR-DEEPCON": RegimeParams("ANSR-DEEPCON", "active deep continental crust", -2.13, 1.0, 0.98, 0.018, _PAGE),
    "SCR-GENERIC": RegimeParams("SCR-GENERIC", "stable continental region", -2.85, 1.0, 0.73, 0.018, _PAGE),
    "SZ-GENERIC": RegimeParams("SZ-GENERIC", "subduction zone (generic)", -2.47, 1.0, 0.88, 0.018, _PAGE),
    "SZ-ONSHORE": RegimeParams("SZ-ONSHORE", "subduction zone, onshore", -2.34, 1.0, 0.81, 0.018, _PAGE),
    "SZ-OUTERTR": RegimeParams("SZ-OUTERTR", "subduction zone, outer trench", -2.42, 1.0, 0.92, 0.018, _PAGE),
    # Reasenberg & Jones (1989) generic California parameters
    "RJ1989-CALIFORNIA": RegimeParams(
        "RJ1989-CALIFORNIA", "California generic", -1.67, 0.91, 1.08, 0.05, "Reasenberg & Jones (1989), Science 243"
    ),
}

WINDOWS_DAYS = (("day", 1.0), ("week", 7.0), ("month", 30.0), ("year", 365.0))


@dataclass(frozen=True)
class ForecastWindow:
    label: str  # day | week | month | year
    t1_days: float
    t2_days: float
    expected_m3: float
    p_m5: float
    p_m6: float
    p_m7: float


@dataclass(frozen=True)
class Forecast:
    mainshock_magnitude: float
    t0_days: float
    params: RegimeParams
    windows: list[ForecastWindow]

    @property
    def model(self) -> str:
        p = self.params
        return f"Reasenberg & Jones (1989) with {p.citation}: {p.regime} a={p.a} b={p.b} p={p.p} c={p.c} d"

    def window(self, label: str) -> ForecastWindow:
        for w in self.windows:
            if w.label == label:
                return w
        raise HazardInputError(f"no forecast window {label!r}: expected one of {[w.label for w in self.windows]}")


def expected_number(
    a: float, b: float, p: float, c: float, mainshock_mag: float, min_mag: float, t1_days: float, t2_days: float
) -> float:
    """Expected number of aftershocks >= ``min_mag`` between t1 and t2 days (Reasenberg & Jones 1989)."""
    if (
        not (0 <= t1_days <= t2_days)
        or c <= 0
        or not all(map(math.isfinite, (a, b, p, c, mainshock_mag, min_mag, t1_days, t2_days)))
    ):
        raise HazardInputError(
            f"expected_number: need finite parameters, c > 0 and 0 <= t1 <= t2, got c={c}, t1={t1_days}, t2={t2_days}"
        )
    productivity = 10.0 ** (a + b * (mainshock_mag - min_mag))
    if abs(p - 1.0) < 1e-9:  # the p = 1 limit of the integral is a logarithm
        return productivity * math.log((t2_days + c) / (t1_days + c))
    return productivity * ((t2_days + c) ** (1.0 - p) - (t1_days + c) ** (1.0 - p)) / (1.0 - p)


def prob_at_least_one(n: float) -> float:
    """Poisson probability of at least one event when ``n`` are expected: 1 - exp(-n)."""
    if not math.isfinite(n) or n < 0:
        raise HazardInputError(f"expected count must be finite and >= 0, got {n}")
    return -math.expm1(-n)


def forecast(mainshock_mag: float, regime: str, t0_days: float = 0.0) -> Forecast:
    """Forecast for the next day, week, month and year starting ``t0_days`` after the mainshock."""
    try:
        params = REGIMES[regime]
    except KeyError as exc:
        raise HazardInputError(f"unknown tectonic regime {regime!r}: expected one of {sorted(REGIMES)}") from exc
    if not math.isfinite(t0_days) or t0_days < 0:
        raise HazardInputError(f"t0_days must be >= 0, got {t0_days}")
    windows = []
    for label, span in WINDOWS_DAYS:
        t1, t2 = t0_days, t0_days + span

        def n(min_mag: float, t1: float = t1, t2: float = t2) -> float:
            return expected_number(params.a, params.b, params.p, params.c, mainshock_mag, min_mag, t1, t2)

        windows.append(
            ForecastWindow(
                label, t1, t2, n(3.0), prob_at_least_one(n(5.0)), prob_at_least_one(n(6.0)), prob_at_least_one(n(7.0))
            )
        )
    return Forecast(float(mainshock_mag), float(t0_days), params, windows)


def classify_regime(lat: float, lon: float, depth_km: float, *, override: str | None = None) -> str:
    """A simple, documented tectonic-regime heuristic (override it when the setting is known).

    * ``override`` wins (must be one of ``REGIMES``);
    * depth >= 70 km: only subducting slabs host such events -> ``SZ-GENERIC``;
    * 40 km < depth < 70 km: ``ANSR-DEEPCON`` (active deep crust; may also be a subduction interface);
    * otherwise ``ANSR-SHALCON`` (active shallow crust, Page et al. 2016's most common regime).

    ``lat``/``lon`` are accepted for a future regionalisation (Garcia et al. 2012) and not used yet.
    """
    if override is not None:
        if override not in REGIMES:
            raise HazardInputError(f"unknown tectonic regime {override!r}: expected one of {sorted(REGIMES)}")
        return override
    if not math.isfinite(depth_km):
        raise HazardInputError(f"classify_regime: depth must be finite, got {depth_km}")
    if depth_km >= 70.0:
        return "SZ-GENERIC"
    if depth_km > 40.0:
        return "ANSR-DEEPCON"
    return "ANSR-SHALCON"


def _pct(p: float) -> str:
    if p < 0.01:
        return "<1%"
    if p > 0.99:
        return ">99%"
    return f"{p * 100:.0f}%"


def field_safety_note(forecast: Forecast, lang: str = "en") -> str:
    """A short field-safety paragraph for teams (English or Chinese) with the numbers and their model."""
    fc = forecast
    week = fc.window("week")
    day = fc.window("day")
    if lang == "en":
        return (
            f"Aftershocks: in the next week expect about {week.expected_m3:.0f} earthquakes of M3 or more; "
            f"chance of at least one M5+ {_pct(week.p_m5)}, M6+ {_pct(week.p_m6)}, M7+ {_pct(week.p_m7)} "
            f"(next day: M5+ {_pct(day.p_m5)}). Stay out of damaged buildings, keep away from steep slopes "
            f"and rockfall areas, and plan exits at every site. Model: {fc.model}."
        )
    if lang == "zh":
        return (
            f"余震：未来一周预计发生约 {week.expected_m3:.0f} 次 3 级及以上地震；"
            f"至少发生一次 5 级以上的概率 {_pct(week.p_m5)}，6 级以上 {_pct(week.p_m6)}，7 级以上 {_pct(week.p_m7)}"
            f"（未来一天 5 级以上：{_pct(day.p_m5)}）。请勿进入受损建筑，远离陡坡和落石区，每个工作点都要规划撤离路线。"
            f"模型：{fc.model}。"
        )
    raise HazardInputError(f"unknown language {lang!r}: expected 'en' or 'zh'")
