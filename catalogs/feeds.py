"""USGS real-time GeoJSON summary feeds into the lake.

Feeds live at ``<base>/earthquakes/feed/v1.0/summary/<level>_<period>.geojson`` with levels
``significant``, ``4.5``, ``2.5``, ``1.0``, ``all`` and periods ``hour``, ``day``, ``week``,
``month`` (science.md section 6). The base URL defaults to ``https://earthquake.usgs.gov``; set
``[feeds] base_url`` in ``qe.toml`` or pass ``base_url`` (the tests and the offline demo point it
at the local service of :mod:`catalogs.fdsnws_server`, which serves the same paths).

A feed is fetched with the throttle and retries of :mod:`catalogs.fdsn`, archived by hash, parsed
by :func:`catalogs.geojson_feed.parse_geojson_feed` (ComCat ``ids`` become aliases) and ingested
as one batch (``catalog_feed``): fetching an unchanged feed twice changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from catalogs.errors import CatalogError
from catalogs.fdsn import RetryPolicy, Throttle, classify_response, fetch_with_retries, http_get
from catalogs.ingest import IngestReport, ingest_solutions
from catalogs.pull import PullSettings, find_provider, retry_policy
from warehouse.archive import archive_bytes
from warehouse.lake import Lake

log = logging.getLogger(__name__)

__all__ = ["FEED_LEVELS", "FEED_PERIODS", "DEFAULT_FEED_BASE", "feed_url", "pull_feed"]

FEED_LEVELS = ("significant", "4.5", "2.5", "1.0", "all")
FEED_PERIODS = ("hour", "day", "week", "month")
DEFAULT_FEED_BASE = "https://earthquake.usgs.gov"


def feed_url(level: str = "4.5", period: str = "day", base_url: str | None = None) -> str:
    """URL of one summary feed; raises :class:`CatalogError` for an unknown level or period."""
    if level not in FEED_LEVELS:
        raise CatalogError(f"feed level must be one of {', '.join(FEED_LEVELS)}, got {level!r}")
    if period not in FEED_PERIODS:
        raise CatalogError(f"feed period must be one of {', '.join(FEED_PERIODS)}, got {period!r}")
    base = (base_url or DEFAULT_FEED_BASE).rstrip("/")
    return f"{base}/earthquakes/feed/v1.0/summary/{level}_{period}.geojson"


def _configured_base(settings: PullSettings) -> str | None:
    extra: Any = settings.extra.get("feeds", {}) if hasattr(settings.extra, "get") else {}
    value = extra.get("base_url") if hasattr(extra, "get") else None
    return str(value) if value else None


def pull_feed(
    lake: Lake,
    settings: PullSettings,
    level: str = "4.5",
    period: str = "day",
    base_url: str | None = None,
    *,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> IngestReport:
    """Fetch one USGS summary feed and ingest it (provider ``USGS``)."""
    from catalogs.geojson_feed import parse_geojson_feed

    url = feed_url(level, period, base_url or _configured_base(settings))
    provider = find_provider(settings, "USGS")
    throttle = Throttle.for_provider(url.split("/earthquakes/")[0])
    incidents: list[str] = []

    def attempt() -> tuple[Any, Any]:
        throttle.wait(provider.min_interval_s)
        resp = http_get(url, {"User-Agent": settings.user_agent}, provider.timeout_s)
        body = classify_response(resp, provider.name, nodata_404=False)
        if body is None:
            raise CatalogError(f"{url}: the feed answered without content (HTTP {resp.status})")
        archived = archive_bytes(settings.raw_dir, body, f"usgs_{level}_{period}.geojson")  # before parsing
        return archived, parse_geojson_feed(body, provider=provider.name, source_name=url)

    archived, rows = fetch_with_retries(provider.name, attempt, retry or retry_policy(settings), incidents,
                                        sleep, describe=f"feed {level}_{period}")
    return ingest_solutions(lake, rows, "catalog_feed", f"USGS feed {level}_{period}", url, archived, settings,
                            media_kind="geojson", batch_extra=provider.name)
