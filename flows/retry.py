"""Retry only what is worth retrying.

A task is retried when its failure is *transient*: a timeout, a dropped connection, HTTP 408/425/429/500/
502/503/504, a :class:`~catalogs.errors.TransientProviderError`, a :class:`~warehouse.errors.WarehouseBusy`
(another writer held the lake longer than ``writer_wait_s``) or SQLite's "database is locked" from the
lake's catalog (another process committing at that very moment). Everything else fails at once: an HTTP 400
(:class:`~catalogs.errors.PermanentProviderError`), a file or response that cannot be parsed, rows that do
not match a table schema, a programming error. Retrying those would only repeat the same answer.

Retries are safe because every write is idempotent by key (``insert_new`` / ``upsert`` in
:mod:`warehouse.lake`): a window pulled twice stores each event once.

Usage::

    pull = pull_provider_task.with_options(**retry_options(settings))
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from catalogs.errors import CatalogError, PermanentProviderError, TransientProviderError
from expedition.errors import ExpeditionError
from expedition.settings import Settings, SettingsError
from warehouse.errors import WarehouseBusy, WarehouseError

log = logging.getLogger(__name__)

#: HTTP statuses that mean "try again later" (RFC 9110 section 15; 429 is RFC 6585).
TRANSIENT_HTTP_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
#: Default waits between attempts (seconds); with jitter. ComCat asks to retry 503 "after a wait".
DEFAULT_RETRY_DELAYS_S: tuple[float, ...] = (2.0, 10.0, 30.0)
# ObsPy's FDSN client raises these (obspy.clients.fdsn.header); matched by name so that this module
# does not import ObsPy. Their status codes are handled through ``status_code`` below.
_TRANSIENT_NAMES = frozenset({"FDSNTimeoutException", "ReadTimeout", "ConnectTimeout", "RemoteDisconnected"})
_MAX_CHAIN = 8
# SQLite's "busy" answers, seen through DuckLake when another process commits to the lake's SQLite
# catalog at the same moment: the same statement succeeds a moment later.
_TRANSIENT_TEXT = ("database is locked", "database table is locked")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and its causes (``raise ... from``) or implicit contexts, without cycles."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen and len(seen) < _MAX_CHAIN:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or (None if cur.__suppress_context__ else cur.__context__)


def _status(exc: BaseException) -> int | None:
    """An HTTP status carried by the exception, whatever library raised it."""
    for attr in ("status", "status_code", "code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and 100 <= value <= 599:
            return value
    response = getattr(exc, "response", None)  # httpx.HTTPStatusError, requests.HTTPError
    value = getattr(response, "status_code", None)
    return value if isinstance(value, int) else None


def is_transient(exc: BaseException | None) -> bool:
    """True when ``exc`` (or what caused it) is worth retrying.

    A permanent provider error anywhere in the chain wins: a 400 is never retried even when it
    was raised while handling a timeout."""
    if exc is None:
        return False
    chain = list(_chain(exc))
    if any(isinstance(e, PermanentProviderError) for e in chain):
        return False
    for e in chain:
        if isinstance(e, TransientProviderError | WarehouseBusy | TimeoutError | ConnectionError):
            return True
        if any(c.__name__ in _TRANSIENT_NAMES for c in type(e).__mro__):
            return True
        if any(t in str(e).lower() for t in _TRANSIENT_TEXT):
            return True
        status = _status(e)
        if status is not None:
            return status in TRANSIENT_HTTP_STATUS
        if isinstance(e, CatalogError | ExpeditionError | WarehouseError | ValueError | KeyError | TypeError):
            return False  # bad data or a bug: the same input gives the same answer
    return False


def exception_of(state: Any) -> BaseException | None:
    """The exception a failed Prefect state holds (``None`` when it holds none)."""
    data = getattr(state, "data", None)
    if isinstance(data, BaseException):
        return data
    try:
        result = state.result(raise_on_failure=False)
    except Exception as exc:  # the state re-raised (older Prefect) or its result is unreadable
        return exc
    return result if isinstance(result, BaseException) else None


def retry_condition_fn(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: retry a failed task run only on a transient error."""
    exc = exception_of(state)
    transient = is_transient(exc)
    log.info(
        "task %s failed with %s: %s",
        getattr(task, "name", task), type(exc).__name__ if exc else "no exception",
        "transient, will retry" if transient else "permanent, not retried",
    )
    return transient


def retry_delays(settings: Settings) -> list[float]:
    """Waits between attempts: ``[flows] retry_delays_s`` in qe.toml, else :data:`DEFAULT_RETRY_DELAYS_S`."""
    flows_cfg = settings.extra.get("flows", {})
    raw: Sequence[Any] = DEFAULT_RETRY_DELAYS_S
    if isinstance(flows_cfg, Mapping) and "retry_delays_s" in flows_cfg:
        raw = flows_cfg["retry_delays_s"]
    try:
        delays = [float(x) for x in raw]
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{settings.config_file}: [flows] retry_delays_s must be a list of seconds, got {raw!r}") from exc
    if any(d < 0 for d in delays):
        raise SettingsError(f"{settings.config_file}: [flows] retry_delays_s must not be negative, got {raw!r}")
    return delays


def retry_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``task.with_options``: transient-only retries with jittered backoff."""
    delays = retry_delays(settings)
    return {
        "retries": len(delays),
        "retry_delay_seconds": delays or 0,
        "retry_jitter_factor": 0.5 if any(delays) else None,
        "retry_condition_fn": retry_condition_fn,
    }
