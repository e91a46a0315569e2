"""Catalog flows: ``pull_catalogs`` (every provider, incremental) and ``backfill_catalog`` (a span, on Dask).

pull_catalogs
    One task per configured provider, run concurrently (threads; a single provider runs in the
    flow's own thread). A provider that fails (after its transient-only retries) is reported and
    the others carry on; the flow fails only when *every* provider failed. The run is renamed after
    what happened (``USGS: 12 new, 3 revised; EMSC: failed``) and a table artifact lists the new events.

backfill_catalog
    Splits ``[starttime, endtime)`` into windows and pulls them in parallel on Dask (prefect-dask's
    ``DaskTaskRunner``): a local cluster of ``settings.dask_workers`` processes by default, or the
    existing cluster at ``settings.dask_address``. Each window task fetches from the provider and then
    writes one lake transaction under the lake's single-writer lock (``flock``, shared by every process
    on the machine): fetches overlap, writes queue. A window whose write waits longer than
    ``writer_wait_s`` fails with ``WarehouseBusy``, which is transient, so it is retried with backoff.
    Writes are idempotent by key, so an event on a window boundary (fetched twice) or a retried
    window is stored once, and the result equals a serial pull.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow
from prefect.futures import PrefectFuture, wait
from prefect.states import State

from expedition.settings import Settings
from flows.errors import InvalidSpan, PullFailed
from flows.retry import retry_options
from flows.runtime import (
    api_for_workers,
    lake_for,
    logger,
    markdown_artifact,
    rename_flow_run,
    settings_for,
    table_artifact,
)
from flows.tasks import pull_provider_task

#: Columns of the "new events" table artifact.
_EVENT_COLUMNS = ("event_id", "origin_time_utc", "magnitude_value", "magnitude_type", "origin_latitude_deg",
                  "origin_longitude_deg", "origin_depth_km", "region_name", "source_provider")


@dataclass
class ProviderOutcome:
    """What one provider pull (or one backfill window) did."""

    provider: str
    ok: bool
    events_received: int = 0
    new_events: int = 0
    revised_events: int = 0
    error: str = ""
    window: tuple[str, str] | None = None

    def describe(self) -> str:
        if not self.ok:
            return f"{self.provider}: failed ({self.error[:80]})"
        return f"{self.provider}: {self.new_events} new, {self.revised_events} revised"


@dataclass
class PullSummary:
    """The result of ``pull_catalogs`` / ``backfill_catalog``."""

    outcomes: list[ProviderOutcome]
    started_utc: datetime
    changed_event_ids: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[ProviderOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def new_events(self) -> int:
        return sum(o.new_events for o in self.outcomes)

    @property
    def revised_events(self) -> int:
        return sum(o.revised_events for o in self.outcomes)

    def describe(self) -> str:
        return "; ".join(o.describe() for o in self.outcomes) or "no provider configured"


def as_utc(value: datetime | str | None) -> datetime | None:
    """A timezone-aware UTC datetime (naive values and ISO strings are taken as UTC)."""
    if value is None:
        return None
    dt = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def split_windows(starttime: datetime, endtime: datetime, window_days: float) -> list[tuple[datetime, datetime]]:
    """Consecutive half-open windows ``[a, b)`` of ``window_days`` covering ``[starttime, endtime)``."""
    start, end = as_utc(starttime), as_utc(endtime)
    if start is None or end is None or end <= start:
        raise InvalidSpan(f"endtime {endtime} must be after starttime {starttime}")
    if window_days <= 0:
        raise InvalidSpan(f"window_days must be positive, got {window_days}")
    step = timedelta(days=window_days)
    out = []
    a = start
    while a < end:
        b = min(a + step, end)
        out.append((a, b))
        a = b
    return out


def outcome_of(provider: str, future: PrefectFuture[Any] | State[Any], window: tuple[str, str] | None = None) -> ProviderOutcome:
    """A :class:`ProviderOutcome` from a finished pull task (its state, or a thread or Dask future alike)."""
    report = future.result(raise_on_failure=False)
    if isinstance(report, BaseException):
        return ProviderOutcome(provider, False, error=f"{type(report).__name__}: {report}", window=window)
    return ProviderOutcome(
        provider, True, int(getattr(report, "events_received", 0) or 0),
        int(getattr(report, "new_events", 0) or 0), int(getattr(report, "revised_events", 0) or 0),
        window=window,
    )


def changed_events(settings: Settings, since: datetime) -> list[dict[str, Any]]:
    """Events whose preferred solution was recorded (new or revised) at or after ``since``."""
    revisions = lake_for(settings).read_table(
        "event_revisions", "WHERE revision_time_utc >= ? ORDER BY revision_time_utc, event_id", [since]
    )
    latest: dict[str, dict[str, Any]] = {}
    for row in revisions.to_pylist():
        latest[row["event_id"]] = row
    return list(latest.values())


def _report(summary: PullSummary, settings: Settings, title: str) -> None:
    """Rename the run, log, and add the artifacts of a pull."""
    rename_flow_run(summary.describe())
    log = logger()
    for o in summary.outcomes:
        (log.warning if not o.ok else log.info)(o.describe() + (f" [{o.window[0]} .. {o.window[1]})" if o.window else ""))
    rows = changed_events(settings, summary.started_utc)
    summary.changed_event_ids = [r["event_id"] for r in rows]
    new_rows = [{c: r.get(c) for c in _EVENT_COLUMNS} for r in rows if r.get("revision_reason") == "new"]
    table_artifact("new-events", new_rows, f"{title}: {len(new_rows)} new events")
    lines = [f"# {title}", "", "| provider | window | result |", "|---|---|---|"]
    for o in summary.outcomes:
        win = f"{o.window[0]} .. {o.window[1]}" if o.window else "incremental"
        lines.append(f"| {o.provider} | {win} | {o.describe().split(': ', 1)[1]} |")
    markdown_artifact("pull-report", "\n".join(lines), title)


def first_pull_start(settings: Settings, provider: str, first_starttime: datetime | None) -> datetime | None:
    """``first_starttime`` for a provider never pulled before; ``None`` (continue from the watermark) otherwise."""
    if first_starttime is None:
        return None
    from catalogs.pull import read_watermark

    wm = read_watermark(lake_for(settings), provider)
    return as_utc(first_starttime) if not wm or wm.get("watermark_origin_time_utc") is None else None


@flow(name="pull_catalogs", log_prints=False)
def pull_catalogs(
    home: str | None = None,
    providers: list[str] | None = None,
    starttime: datetime | None = None,
    endtime: datetime | None = None,
    minmagnitude: float | None = None,
    first_starttime: datetime | None = None,
) -> PullSummary:
    """Pull every enabled provider of the settings (or ``providers``) incrementally into the lake.

    Left empty, ``starttime`` continues each provider from its watermark (minus the overlap); a
    provider never pulled before starts at ``first_starttime``, else 30 days back. ``starttime`` and
    ``endtime`` force a span for every provider."""
    settings = settings_for(home)
    root = str(settings.home)
    names = providers or [p.name for p in settings.providers if p.enabled]
    started = datetime.now(UTC)
    pull = pull_provider_task.with_options(**retry_options(settings))
    args = {name: (root, name, as_utc(starttime) or first_pull_start(settings, name, first_starttime), as_utc(endtime),
                   minmagnitude) for name in names}
    if len(names) == 1:  # nothing to overlap: run it in the flow's thread (a thread of its own costs 0.2-0.5 s)
        name = names[0]
        state = pull.with_options(task_run_name=f"pull-{name}")(*args[name], return_state=True)
        summary = PullSummary([outcome_of(name, state)], started)
    else:
        futures = {name: pull.with_options(task_run_name=f"pull-{name}").submit(*args[name]) for name in names}
        wait(list(futures.values()))
        summary = PullSummary([outcome_of(n, f) for n, f in futures.items()], started)
    _report(summary, settings, "Catalog pull")
    if names and len(summary.failed) == len(names):
        raise PullFailed(f"every provider failed: {summary.describe()}")
    return summary


def dask_task_runner(settings: Settings) -> Any:
    """prefect-dask's runner: the cluster at ``dask_address``, else a local one of ``dask_workers`` processes."""
    from prefect_dask import DaskTaskRunner

    # Worker processes inherit the environment: keep their start-up chatter at warnings.
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    logging.getLogger("distributed").setLevel(max(logging.getLogger("distributed").level, logging.WARNING))
    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": max(1, settings.dask_workers),
            "threads_per_worker": 1,
            "processes": True,
            "host": "127.0.0.1",
            "dashboard_address": None,  # no Bokeh dashboard; its small HTTP server and the scheduler listen on 127.0.0.1
        },
    )


@flow(name="backfill_windows", log_prints=False)
def backfill_windows(
    home: str, provider: str, windows: list[tuple[datetime, datetime]], minmagnitude: float | None = None
) -> list[ProviderOutcome]:
    """Pull every window with the flow's task runner (Dask when started by ``backfill_catalog``)."""
    settings = settings_for(home)
    pull = pull_provider_task.with_options(**retry_options(settings))
    futures = [
        pull.with_options(task_run_name=f"pull-{provider}-{a:%Y%m%d}-{b:%Y%m%d}").submit(
            home, provider, a, b, minmagnitude
        )
        for a, b in windows
    ]
    wait(futures)
    outcomes = [outcome_of(provider, f, (a.isoformat(), b.isoformat())) for f, (a, b) in zip(futures, windows)]
    failed = sum(not o.ok for o in outcomes)
    rename_flow_run(f"{provider}: {len(windows)} windows" + (f", {failed} failed" if failed else ""))
    return outcomes


@flow(name="backfill_catalog", log_prints=False)
def backfill_catalog(
    provider: str,
    starttime: datetime,
    endtime: datetime,
    home: str | None = None,
    window_days: float = 30.0,
    minmagnitude: float | None = None,
) -> PullSummary:
    """Pull ``provider`` over ``[starttime, endtime)`` in windows of ``window_days``, in parallel on Dask."""
    settings = settings_for(home)
    windows = split_windows(starttime, endtime, window_days)
    started = datetime.now(UTC)
    logger().info("backfill %s: %d windows of %s days on %s", provider, len(windows), window_days,
                  settings.dask_address or f"a local Dask cluster of {settings.dask_workers} workers")
    runner = dask_task_runner(settings)
    with api_for_workers():
        outcomes = backfill_windows.with_options(task_runner=runner)(str(settings.home), provider, windows, minmagnitude)
    summary = PullSummary(outcomes, started)
    _report(summary, settings, f"Backfill {provider}")
    total = ProviderOutcome(provider, not summary.failed, sum(o.events_received for o in outcomes),
                            summary.new_events, summary.revised_events,
                            error=f"{len(summary.failed)} of {len(windows)} windows failed")
    rename_flow_run(f"{total.describe()} in {len(windows)} windows")
    if summary.failed:
        raise PullFailed(f"backfill {provider}: {len(summary.failed)} of {len(windows)} windows failed "
                           f"(rerun: pulls are idempotent): {summary.failed[0].describe()}")
    return summary
