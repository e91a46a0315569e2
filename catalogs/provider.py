"""An FDSN event service the pipeline pulls from: its name, address, priority and limits.

Its own module, apart from the HTTP client of :mod:`catalogs.fdsn` (which re-exports it): the
settings (:mod:`expedition.settings`) name providers, and every command loads the settings, so
naming one must not import ``http.client``, ``email`` and ``urllib``."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Provider"]


@dataclass(frozen=True)
class Provider:
    """An FDSN event service the pipeline pulls from (from ``qe.toml``'s ``[[providers]]`` or ``--url``).

    ``name`` is an ObsPy short name (``USGS``, ``EMSC``, ``ISC``, ``GFZ``) or any
    label; ``url`` overrides the base URL (any FDSN event service). Lower
    ``priority`` numbers win when agencies disagree on the preferred solution.
    """

    name: str
    url: str | None = None
    priority: int = 100
    max_events_per_request: int = 20_000
    min_interval_s: float = 0.6
    timeout_s: float = 60.0
    supports_updatedafter: bool = True
    enabled: bool = True
