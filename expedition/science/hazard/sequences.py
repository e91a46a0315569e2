"""Earthquake sequences: space-time windows that tie aftershocks to their mainshock.

* Gardner & Knopoff (1974), BSSA 64(5), 1363-1367: L(M) = 10^(0.1238 M + 0.983) km;
  T(M) = 10^(0.032 M + 2.7389) days for M >= 6.5, 10^(0.5409 M - 0.547) days below.
* Uhrhammer (1986), EOS 67: L(M) = e^(-1.024 + 0.804 M) km, T(M) = e^(-2.87 + 1.235 M) days.

Times are UTC ``numpy.datetime64`` values (or anything :func:`as_datetime64` accepts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from expedition.science.geo.distance import haversine_km
from expedition.science.hazard import HazardInputError

__all__ = ["as_datetime64", "days_between", "gardner_knopoff_window", "in_sequence", "uhrhammer_window"]


def gardner_knopoff_window(m: float) -> tuple[float, float]:
    """(distance km, duration days) of the Gardner & Knopoff (1974) window of a magnitude-m event."""
    if not np.isfinite(m):
        raise HazardInputError(f"gardner_knopoff_window: magnitude must be finite, got {m}")
    distance = 10.0 ** (0.1238 * m + 0.983)  # Gardner & Knopoff (1974), BSSA 64(5)
    days = 10.0 ** (0.032 * m + 2.7389) if m >= 6.5 else 10.0 ** (0.5409 * m - 0.547)
    return float(distance), float(days)


def uhrhammer_window(m: float) -> tuple[float, float]:
    """(distance km, duration days) of the Uhrhammer (1986) window of a magnitude-m event."""
    if not np.isfinite(m):
        raise HazardInputError(f"uhrhammer_window: magnitude must be finite, got {m}")
    return float(np.exp(-1.024 + 0.804 * m)), float(np.exp(-2.87 + 1.235 * m))  # Uhrhammer (1986), EOS 67


WINDOWS: dict[str, Callable[[float], tuple[float, float]]] = {
    "gardner_knopoff": gardner_knopoff_window,
    "uhrhammer": uhrhammer_window,
}


def as_datetime64(values: object) -> NDArray[np.datetime64]:
    """UTC times as ``datetime64[ms]``: accepts datetime64, naive-UTC or aware datetimes, ISO strings.

    Aware datetimes are converted to UTC; ISO strings may end in ``Z``.
    """

    def one(v: object) -> np.datetime64:
        if isinstance(v, dt.datetime) and v.tzinfo is not None:
            v = v.astimezone(dt.UTC).replace(tzinfo=None)
        if isinstance(v, str):
            v = v.strip().removesuffix("Z").removesuffix("+00:00")
        try:
            return np.datetime64(v, "ms")  # type: ignore[call-overload]
        except (TypeError, ValueError) as exc:
            raise HazardInputError(f"cannot read {v!r} as a UTC time (expected ISO 8601 or datetime64)") from exc

    arr = np.asarray(values)
    if np.issubdtype(arr.dtype, np.datetime64):
        return np.atleast_1d(arr.astype("datetime64[ms]"))
    flat = [one(v) for v in np.atleast_1d(arr).ravel().tolist()]
    return np.asarray(flat, dtype="datetime64[ms]").reshape(np.atleast_1d(arr).shape)


def days_between(t0: object, t: object) -> NDArray[np.float64]:
    """Days from ``t0`` (one time) to each of ``t`` (negative before ``t0``)."""
    start = as_datetime64(t0)
    if start.size != 1:
        raise HazardInputError(f"days_between: t0 must be one time, got {start.size}")
    delta = as_datetime64(t) - start[0]
    return np.asarray(delta / np.timedelta64(1, "ms"), dtype=float) / 86_400_000.0


def in_sequence(  # noqa: PLR0913
    main_lat: float,
    main_lon: float,
    main_time: object,
    main_mag: float,
    lat: ArrayLike,
    lon: ArrayLike,
    time: object,
    *,
    window: str = "gardner_knopoff",
    include_foreshocks: bool = False,
) -> NDArray[np.bool_]:
    """Which events fall inside the mainshock's space-time window (aftershocks; vectorised haversine).

    An event is in the sequence when its epicentral distance is <= L(M) and it follows the
    mainshock by at most T(M) days (``include_foreshocks`` also accepts events up to T(M) before).
    The mainshock itself (distance 0, time 0) is in its own sequence.
    """
    try:
        fn = WINDOWS[window]
    except KeyError as exc:
        raise HazardInputError(f"unknown sequence window {window!r}: expected one of {sorted(WINDOWS)}") from exc
    dist_km, days = fn(main_mag)
    lat_a = np.atleast_1d(np.asarray(lat, dtype=float))
    lon_a = np.atleast_1d(np.asarray(lon, dtype=float))
    dt_days = days_between(main_time, time)
    if not (lat_a.shape == lon_a.shape == dt_days.shape):
        raise HazardInputError(
            f"in_sequence: lat, lon and time must have one shape, got {lat_a.shape}, {lon_a.shape}, {dt_days.shape}"
        )
    d = haversine_km(main_lat, main_lon, lat_a, lon_a)
    lower = -days if include_foreshocks else 0.0
    return np.asarray((d <= dist_km) & (dt_days >= lower) & (dt_days <= days), dtype=bool)
