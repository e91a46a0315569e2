"""FDSN event service client: ObsPy's ``Client`` with throttling, retries and honest error classes.

ObsPy (``obspy.clients.fdsn.Client``) does service discovery (the event ``application.wadl``,
``catalogs``, ``contributors``), validates and converts parameters against the WADL and builds the
query URL; ``get_events(..., filename=BytesIO)`` gives us the raw bytes, parsed afterwards by our
fast parsers (:mod:`catalogs.quakeml`, :mod:`catalogs.fdsntext`), not by ObsPy.

Why one ObsPy method is replaced: ``Client._download`` (ObsPy 1.5 private API) reads the body with
urllib and turns HTTP errors into ``FDSNException`` subclasses that drop the response headers, so
``Retry-After`` on 429/503 is lost, and a body cut short after the headers can surface as a generic
error. :class:`_QEClient` overrides that one method with :func:`http_get` (same headers, gzip and
timeout), raises ObsPy's own exception classes for non-200 answers (``FDSNNoDataException`` for
204, ``FDSNRequestTooLargeException`` for 413, ...) with ``status`` and ``retry_after`` attached.

Error policy of :meth:`FDSNEventClient.fetch`:

* 204 (and 404 when ``nodata=404`` was asked) -> ``None``: no data is not an error, never retried.
* 400 -> :class:`~catalogs.errors.PermanentProviderError` with the server's message, never retried
  (except ComCat's "exceeds search limit" 400, which is :class:`RequestTooLarge`, like 413).
* 429, 5xx, timeouts, connection resets, truncated bodies, an HTML page or an empty body with status
  200, and bodies the parser rejects -> retried with exponential backoff honouring ``Retry-After``;
  when attempts run out, :class:`~catalogs.errors.TransientProviderError`.
* Calls to one provider are spaced by ``Provider.min_interval_s`` (ComCat asks for >= 0.6 s).
"""

from __future__ import annotations

import email.utils
import gzip
import http.client
import io
import logging
import random
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from catalogs.errors import CatalogError, ParseError, PermanentProviderError, ProviderError, TransientProviderError
from catalogs.provider import Provider

log = logging.getLogger(__name__)

__all__ = [
    "Provider",
    "RetryPolicy",
    "RequestTooLarge",
    "HttpResponse",
    "FDSNEventClient",
    "Throttle",
    "classify_response",
    "http_get",
    "fetch_with_retries",
    "resolve_base_url",
]

T = TypeVar("T")
_TOO_LARGE_400 = re.compile(r"exceeds search limit|too many|too large|limit of \d+", re.IGNORECASE)
_TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``base_s * 2**(attempt-1)`` capped at ``max_s``, or the server's
    ``Retry-After`` (capped at ``max_retry_after_s``); ``attempts`` tries in all."""

    attempts: int = 5
    base_s: float = 1.0
    max_s: float = 60.0
    max_retry_after_s: float = 300.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after_s)
        backoff = min(self.base_s * 2 ** (attempt - 1), self.max_s)
        return float(backoff * (1.0 + 0.1 * random.random()))


class RequestTooLarge(ProviderError):
    """The provider refused the request as too large (HTTP 413, or ComCat's 400): split it."""


@dataclass(frozen=True)
class HttpResponse:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("retry-after"))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit() is also true for '²'
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def http_get(url: str, headers: dict[str, str], timeout: float) -> HttpResponse:
    """One GET. Returns every HTTP status (no exception for 4xx/5xx); network failures and bodies
    shorter than announced raise ``OSError`` or ``http.client.HTTPException``."""
    req = urllib.request.Request(url, headers={**headers, "Accept-Encoding": "gzip"})
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as err:
        with err:
            body = err.read()
            return HttpResponse(url, err.code, {k.lower(): v for k, v in err.headers.items()}, body)
    with resp:
        body = resp.read()  # raises IncompleteRead when the body is shorter than Content-Length
        hdrs = {k.lower(): v for k, v in resp.headers.items()}
        status = resp.status
    if hdrs.get("content-encoding") == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as exc:
            raise http.client.HTTPException(f"corrupt gzip body: {exc}") from exc
    return HttpResponse(url, status, hdrs, body)


def resolve_base_url(provider: Provider) -> str:
    """The provider's base URL: its ``url``, else ObsPy's short-name mapping (USGS, EMSC, ISC, GFZ...)."""
    if provider.url:
        return provider.url.rstrip("/")
    from obspy.clients.fdsn.header import URL_MAPPINGS

    url = URL_MAPPINGS.get(provider.name.upper())
    if not url:
        raise PermanentProviderError(provider.name, "unknown provider: give its base URL (qe.toml [[providers]] url, or --url)")
    return str(url).rstrip("/")


class Throttle:
    """Spaces calls to one provider by at least ``interval`` seconds (process-wide, thread-safe)."""

    _registry: dict[str, Throttle] = {}
    _registry_lock = threading.Lock()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0.0

    @classmethod
    def for_provider(cls, key: str) -> Throttle:
        with cls._registry_lock:
            return cls._registry.setdefault(key, cls())

    def wait(self, interval: float) -> None:
        with self._lock:
            delay = self._last + interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._last = time.monotonic()


def _is_html(resp: HttpResponse) -> bool:
    head = resp.body[:200].lstrip().lower()
    return "text/html" in resp.headers.get("content-type", "") or head.startswith((b"<!doctype html", b"<html"))


def _message(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    return " ".join(line.strip() for line in text.splitlines() if line.strip())[:2000]


class _Transient(Exception):
    def __init__(self, message: str, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


def classify_response(resp: HttpResponse, provider: str, nodata_404: bool) -> bytes | None:
    """Body of a usable answer, ``None`` for no data; raises for everything else."""
    s = resp.status
    if s == 204 or (s == 404 and nodata_404):
        return None
    if s == 200:
        if not resp.body.strip():
            raise _Transient("empty body with status 200", status=s)
        if _is_html(resp):
            raise _Transient(f"HTML page instead of data: {_message(resp.body)[:120]!r}", status=s)
        return resp.body
    msg = _message(resp.body) or f"HTTP {s}"
    if s == 413 or (s == 400 and _TOO_LARGE_400.search(msg)):
        raise RequestTooLarge(provider, f"request too large (HTTP {s}): {msg}", resp.url, s)
    if s in _TRANSIENT_STATUS or s >= 500:
        raise _Transient(f"HTTP {s}: {msg[:200]}", resp.retry_after, s)
    raise PermanentProviderError(provider, f"HTTP {s}: {msg}", resp.url, s)


_NETWORK_ERRORS = (OSError, http.client.HTTPException, urllib.error.URLError)


def fetch_with_retries(
    provider: str,
    attempt_fn: Callable[[], T],
    retry: RetryPolicy,
    incidents: list[str],
    sleep: Callable[[float], None] = time.sleep,
    describe: str = "",
) -> T:
    """Run ``attempt_fn`` until it succeeds; transient failures (see module doc) are retried with
    backoff, each one logged once and appended to ``incidents``."""
    for attempt in range(1, retry.attempts + 1):
        try:
            return attempt_fn()
        except (RequestTooLarge, PermanentProviderError):
            raise
        except (_Transient, ParseError, *_NETWORK_ERRORS) as exc:
            retry_after = getattr(exc, "retry_after", None)
            what = f"{type(exc).__name__}: {exc}" if not isinstance(exc, _Transient) else str(exc)
            if attempt == retry.attempts:
                incident = f"{provider}: {describe} failed after {attempt} attempts: {what}"
                incidents.append(incident)
                log.warning(incident)
                raise TransientProviderError(provider, f"{describe}: {what} (after {attempt} attempts)",
                                             status=getattr(exc, "status", None)) from exc
            wait = retry.delay(attempt, retry_after)
            incident = f"{provider}: {describe} attempt {attempt} failed ({what}); retrying in {wait:.1f} s"
            incidents.append(incident)
            log.warning(incident)
            sleep(wait)
    raise CatalogError("unreachable")  # pragma: no cover


def _make_client_class() -> type:
    from obspy.clients.fdsn import Client
    from obspy.clients.fdsn.client import raise_on_error

    class _QEClient(Client):  # type: ignore[misc]
        """ObsPy's Client whose downloads go through :func:`http_get` (see the module doc)."""

        qe_nodata_404 = False
        qe_provider = ""

        def _download(self, url: str, return_string: bool = False, data: Any = None,
                      use_gzip: Any = None, content_type: Any = None) -> Any:
            resp = http_get(url, dict(self.request_headers), self.timeout)
            self.qe_last_url = url
            if resp.status != 200:
                try:
                    raise_on_error(resp.status, io.BytesIO(resp.body))
                except Exception as exc:  # ObsPy's own class, plus what its exceptions lack
                    exc.status = resp.status  # type: ignore[attr-defined]
                    exc.qe_response = resp  # type: ignore[attr-defined]
                    raise
            body = classify_response(resp, self.qe_provider, self.qe_nodata_404)
            return io.BytesIO(body or b"")

    return _QEClient


class FDSNEventClient:
    """One provider's FDSN event service: discovery once, then throttled, retried queries."""

    def __init__(self, provider: Provider, user_agent: str, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.provider = provider
        self.base_url = resolve_base_url(provider)
        self.user_agent = user_agent
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.requests = 0
        self.incidents: list[str] = []
        self._client: Any = None
        self._throttle = Throttle.for_provider(self.base_url)

    def _connect(self) -> Any:
        if self._client is None:
            from obspy.clients.fdsn.header import FDSNException

            cls = _make_client_class()

            def attempt() -> Any:
                self._throttle.wait(self.provider.min_interval_s)
                try:
                    client = cls(self.base_url, user_agent=self.user_agent, timeout=self.provider.timeout_s)
                except FDSNException as exc:
                    raise _Transient(f"service discovery failed: {exc}") from exc
                except ValueError as exc:  # ObsPy refuses the URL itself (e.g. a one-digit port, a typo)
                    raise PermanentProviderError(self.provider.name, f"not a usable FDSN base URL: {exc}",
                                                 self.base_url) from exc
                if "event" not in client.services:
                    self._event_service_missing(cls)
                client.qe_provider = self.provider.name
                return client

            self._client = fetch_with_retries(self.provider.name, attempt, self.retry, self.incidents,
                                              self.sleep, describe=f"discovery at {self.base_url}")
        return self._client

    def _event_service_missing(self, cls: type) -> None:
        """ObsPy found no event WADL. Its discovery hides the HTTP status and caches partial
        results, so drop that cache entry and ask once more: 404 is permanent, anything else
        (503, 429, timeouts) transient."""
        cache = getattr(cls, "_Client__service_discovery_cache", {})
        for key in [k for k, v in cache.items() if "event" not in v]:
            cache.pop(key, None)
        wadl = f"{self.base_url}/fdsnws/event/1/application.wadl"
        resp = http_get(wadl, {"User-Agent": self.user_agent}, self.provider.timeout_s)
        if resp.status == 404:
            raise PermanentProviderError(self.provider.name, "no FDSN event service at this URL (404)", wadl, 404)
        raise _Transient(f"service discovery failed: event WADL answered HTTP {resp.status}", resp.retry_after,
                         resp.status)

    def fetch(self, parse: Callable[[bytes, str], T], **params: Any) -> tuple[T | None, str]:
        """Query the event service; returns ``(parse(body, url), url)``, or ``(None, url)`` when the
        provider has no data. ``parse`` runs inside the retry loop, so a malformed body is retried."""
        from obspy.clients.fdsn.header import FDSNException, FDSNNoDataException, FDSNRequestTooLargeException

        client = self._connect()
        client.qe_nodata_404 = str(params.get("nodata", "")) == "404"
        last_url = ""

        def attempt() -> T | None:
            nonlocal last_url
            self._throttle.wait(self.provider.min_interval_s)
            self.requests += 1
            buf = io.BytesIO()
            try:
                client.get_events(filename=buf, **params)
            except FDSNNoDataException:
                last_url = getattr(client, "qe_last_url", "")
                return None
            except FDSNRequestTooLargeException as exc:
                raise RequestTooLarge(self.provider.name, f"request too large: {_exc_text(exc)}",
                                      getattr(client, "qe_last_url", None), 413) from exc
            except FDSNException as exc:
                resp = getattr(exc, "qe_response", None)
                if resp is None:
                    raise _Transient(_exc_text(exc)) from exc
                if classify_response(resp, self.provider.name, client.qe_nodata_404) is None:
                    return None  # 404 asked for with nodata=404
                raise _Transient(_exc_text(exc), resp.retry_after, resp.status) from exc  # pragma: no cover
            except TypeError as exc:  # ObsPy refused a parameter the service does not support
                raise PermanentProviderError(self.provider.name, str(exc), self.base_url) from exc
            last_url = getattr(client, "qe_last_url", "")
            return parse(buf.getvalue(), last_url)

        out = fetch_with_retries(self.provider.name, attempt, self.retry, self.incidents, self.sleep,
                                 describe=_describe(params))
        return out, last_url

    def get_document(self, url: str, describe: str, check: Callable[[bytes], Any] | None = None) -> bytes | None:
        """GET one document of this provider (an event detail, a product file) without service
        discovery: throttled, retried on transient failures only (see the module doc), ``None`` for
        204 or 404 (the provider has no such document). ``check`` runs on the body inside the retry
        loop: a :class:`~catalogs.errors.ParseError` it raises is retried (a body cut short), any
        other exception ends the download at once."""

        def attempt() -> bytes | None:
            self._throttle.wait(self.provider.min_interval_s)
            self.requests += 1
            resp = http_get(url, {"User-Agent": self.user_agent}, self.provider.timeout_s)
            body = classify_response(resp, self.provider.name, nodata_404=True)
            if body is not None and check is not None:
                check(body)
            return body

        return fetch_with_retries(self.provider.name, attempt, self.retry, self.incidents, self.sleep, describe=describe)

    def detail_url(self, provider_event_id: str) -> str:
        """The event detail GeoJSON URL of one event (ComCat: ``query?eventid=...&format=geojson``)."""
        return f"{self.base_url}/fdsnws/event/1/query?" + urllib.parse.urlencode(
            {"eventid": provider_event_id, "format": "geojson"}
        )


def _describe(params: dict[str, Any]) -> str:
    keys = ("starttime", "endtime", "updatedafter", "minmagnitude")
    return "query " + " ".join(f"{k}={params[k]}" for k in keys if params.get(k) is not None)


def _exc_text(exc: BaseException) -> str:
    return " ".join(str(a) for a in exc.args if a)[:2000]
