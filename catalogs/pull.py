"""Incremental pulls from FDSN event services into the lake, window by window.

:func:`pull_provider` asks one provider (ObsPy short name such as ``USGS``, ``EMSC``, ``ISC``,
``GFZ``, or any base URL) for the events of ``[starttime, endtime)``:

* **Windows.** The range is walked in time order. A window answered with HTTP 413 (or ComCat's
  "exceeds search limit" 400), or holding exactly ``Provider.max_events_per_request`` events (a
  silently truncated answer looks like that), is halved and asked again; after a good answer the
  next window is resized to aim at 70 % of the cap. Windows are half-open (``endtime`` is sent as the
  window end minus 1 microsecond), so no event is received twice.
* **Transactions.** Every window is archived (raw bytes, by hash), parsed with our fast parsers and
  ingested in its own lake transaction together with the provider's watermark, so a crash or a
  provider failure resumes from the last committed window.
* **Incremental.** Without ``starttime`` the pull starts at the origin-time watermark minus
  ``Settings.overlap_days`` (to catch late revisions), or 30 days back for a first pull. When the
  provider supports ``updatedafter`` and an update watermark exists, a second pass asks for events
  updated since then (minus the overlap) whose origin lies before the pull's start.
* **Failures.** Throttling, retries and the error classes are those of :mod:`catalogs.fdsn`; a
  provider that keeps failing raises :class:`~catalogs.errors.TransientProviderError` (or
  :class:`~catalogs.errors.PermanentProviderError`) after recording ``last_error`` in its watermark.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from catalogs.errors import PermanentProviderError, ProviderError
from catalogs.fdsn import FDSNEventClient, Provider, RequestTooLarge, RetryPolicy
from catalogs.ingest import IngestSettings, ingest_solutions
from catalogs.rows import empty_solutions
from warehouse.archive import ArchivedFile, archive_bytes
from warehouse.lake import Lake, LakeWriter
from warehouse.sqlfiles import read_sql
from warehouse.tables.catalog import PROVIDER_WATERMARKS

log = logging.getLogger(__name__)

__all__ = ["PullReport", "PullSettings", "find_provider", "pull_provider", "read_watermark", "retry_policy"]

UTC = pa.timestamp("us", tz="UTC")
ProgressCallback = Callable[[int, int, str], None]
MIN_WINDOW = dt.timedelta(seconds=1)
FILL = 0.7  # share of the provider cap a window aims at (event rates vary: leave room)
FIRST_PULL_LOOKBACK = dt.timedelta(days=30)
HISTORY_START = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
_ONE_US = dt.timedelta(microseconds=1)


class PullSettings(IngestSettings, Protocol):
    """What a pull reads from the settings (``expedition.settings.Settings`` satisfies it)."""

    @property
    def user_agent(self) -> str: ...
    @property
    def overlap_days(self) -> float: ...
    @property
    def providers(self) -> Sequence[Provider]: ...
    @property
    def extra(self) -> Any: ...


@dataclass
class PullReport:
    """What one pull did."""

    provider: str
    starttime: dt.datetime
    endtime: dt.datetime
    windows: int = 0  # windows committed (empty ones included)
    requests: int = 0  # query requests sent (retries and split windows included)
    events_received: int = 0
    new_events: int = 0
    revised_events: int = 0
    incidents: list[str] = field(default_factory=list)
    batches: list[str] = field(default_factory=list)
    watermark: dt.datetime | None = None

    def summary(self) -> str:
        return (
            f"{self.provider}: {self.events_received} events in {self.windows} windows "
            f"({self.requests} requests): {self.new_events} new, {self.revised_events} revised; "
            f"{len(self.incidents)} incidents; watermark {self.watermark.isoformat() if self.watermark else '-'}"
        )


def retry_policy(settings: PullSettings) -> RetryPolicy:
    """Retry policy from the optional ``[pull]`` section of ``qe.toml`` (``retry_attempts``,
    ``retry_base_s``, ``retry_max_s``)."""
    extra = settings.extra.get("pull", {}) if hasattr(settings.extra, "get") else {}
    return RetryPolicy(
        attempts=int(extra.get("retry_attempts", 5)),
        base_s=float(extra.get("retry_base_s", 1.0)),
        max_s=float(extra.get("retry_max_s", 60.0)),
    )


def find_provider(settings: PullSettings, name: str, url: str | None = None) -> Provider:
    """The configured provider ``name`` (case-insensitive), its URL replaced by ``url`` if given;
    an unconfigured name gets default limits (ObsPy short name, or ``url``)."""
    for p in settings.providers:
        if p.name.upper() == name.upper():
            if url is None:
                return p
            return Provider(p.name, url, p.priority, p.max_events_per_request, p.min_interval_s,
                                p.timeout_s, p.supports_updatedafter)
    return Provider(name, url)


def read_watermark(lake: Lake, provider: str) -> dict[str, Any] | None:
    """The provider's ``provider_watermarks`` row, or ``None`` before its first pull."""
    con = lake.connect(read_only=True, views=False)
    try:
        rows = con.execute(read_sql("catalog/watermark.sql"), {"provider": provider}).to_arrow_table().to_pylist()
    finally:
        con.close()
    return rows[0] if rows else None


@dataclass
class _State:
    """A provider's watermark while a pull runs."""

    provider: str
    origin: dt.datetime | None
    updated: dt.datetime | None
    last_error: str | None = None

    def merge(self, origin: dt.datetime | None, updated: dt.datetime | None) -> None:
        """Keep the later of each watermark."""
        if origin is not None and (self.origin is None or _utc(origin) > self.origin):
            self.origin = _utc(origin)
        if updated is not None and (self.updated is None or _utc(updated) > self.updated):
            self.updated = _utc(updated)

    def sync(self, w: LakeWriter) -> None:
        """Merge the watermark stored in the lake (read inside the writer's transaction)."""
        stored = w.con.execute(read_sql("catalog/watermark.sql"), {"provider": self.provider}).to_arrow_table()
        if stored.num_rows:
            cur = stored.to_pylist()[0]
            self.merge(cur["watermark_origin_time_utc"], cur["watermark_updated_utc"])

    def advance(self, start: dt.datetime, end: dt.datetime) -> None:
        """A window [start, end) was committed: the origin watermark moves to ``end`` when the window
        touches or extends the pulled span (or on the first pull), never backwards."""
        if self.origin is None or start <= self.origin:
            self.origin = max(self.origin or end, end)

    def row(self) -> pa.Table:
        return pa.table({
            "provider": [self.provider],
            "watermark_origin_time_utc": pa.array([self.origin], UTC),
            "watermark_updated_utc": pa.array([self.updated], UTC),
            "last_success_utc": pa.array([dt.datetime.now(dt.UTC)], UTC),
            "last_error": [self.last_error],
        }, schema=PROVIDER_WATERMARKS.schema)


def _utc(value: dt.datetime | dt.date | str) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def pull_provider(
    lake: Lake,
    settings: PullSettings,
    provider: str | Provider,
    starttime: dt.datetime | str | None = None,
    endtime: dt.datetime | str | None = None,
    minmagnitude: float | None = None,
    progress_cb: ProgressCallback | None = None,
    *,
    url: str | None = None,
    fmt: Literal["xml", "text"] = "xml",
    initial_window: dt.timedelta = dt.timedelta(days=30),
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PullReport:
    """Pull ``provider``'s events of ``[starttime, endtime)`` into the lake (see the module doc)."""
    prov = find_provider(settings, provider, url) if isinstance(provider, str) else provider
    client = FDSNEventClient(prov, settings.user_agent, retry or retry_policy(settings), sleep=sleep)
    wm = read_watermark(lake, prov.name)
    end = _utc(endtime) if endtime is not None else dt.datetime.now(dt.UTC)
    overlap = dt.timedelta(days=float(settings.overlap_days))
    incremental = starttime is None
    if starttime is not None:
        start = _utc(starttime)
    elif wm and wm["watermark_origin_time_utc"]:
        start = _utc(wm["watermark_origin_time_utc"]) - overlap
    else:
        start = end - FIRST_PULL_LOOKBACK
    state = _State(prov.name, _utc(wm["watermark_origin_time_utc"]) if wm and wm["watermark_origin_time_utc"] else None,
                   _utc(wm["watermark_updated_utc"]) if wm and wm["watermark_updated_utc"] else None)
    report = PullReport(prov.name, start, end)
    log.info("pull %s %s .. %s (minmagnitude %s)", prov.name, start, end, minmagnitude)
    run = _Run(lake, settings, prov, client, state, report, fmt, minmagnitude, progress_cb)
    try:
        run.windows(start, end, initial_window, advance_origin=True)
        previous_updated = _utc(wm["watermark_updated_utc"]) if wm and wm["watermark_updated_utc"] else None
        if incremental and prov.supports_updatedafter and previous_updated is not None and start > HISTORY_START:
            run.windows(HISTORY_START, start, start - HISTORY_START, advance_origin=False,
                        updatedafter=previous_updated - overlap)
    except ProviderError as exc:
        error = f"{dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%SZ} {exc}"

        def record_error(w: LakeWriter) -> None:
            state.sync(w)
            state.last_error = error
            w.write("provider_watermarks", state.row(), mode="upsert")

        lake.run_writer(record_error, what=f"pull {prov.name}: error", views=False)
        report.requests = client.requests
        report.incidents = client.incidents
        raise
    report.requests = client.requests
    report.incidents = client.incidents
    report.watermark = state.origin
    log.info("%s", report.summary())
    return report


@dataclass
class _Run:
    lake: Lake
    settings: PullSettings
    provider: Provider
    client: FDSNEventClient
    state: _State
    report: PullReport
    fmt: str
    minmagnitude: float | None
    progress_cb: ProgressCallback | None
    focal: list[Any] = field(default_factory=list)  # focal mechanisms of the window being committed

    def windows(self, start: dt.datetime, end: dt.datetime, size: dt.timedelta, *, advance_origin: bool,
                updatedafter: dt.datetime | None = None) -> None:
        cap = int(self.provider.max_events_per_request) if self.provider.max_events_per_request else None
        cursor = start
        done = 0
        while cursor < end:
            w_end = min(cursor + size, end)
            span = w_end - cursor
            label = f"{cursor:%Y-%m-%dT%H:%M:%S} .. {w_end:%Y-%m-%dT%H:%M:%S}"
            if self.progress_cb:
                self.progress_cb(done, done + max(1, -(-(end - cursor) // size)), label)
            params: dict[str, Any] = {"starttime": cursor, "endtime": w_end - _ONE_US, "orderby": "time-asc"}
            if self.fmt == "text":
                params["format"] = "text"
            if self.minmagnitude is not None:
                params["minmagnitude"] = self.minmagnitude
            if updatedafter is not None:
                params["updatedafter"] = updatedafter
            try:
                result, url = self.client.fetch(self._parser(cursor, w_end), **params)
            except RequestTooLarge as exc:
                if span <= MIN_WINDOW:
                    raise PermanentProviderError(self.provider.name, f"a {span} window is still too large: {exc}") from exc
                self._incident(f"{label}: too large ({exc.status}); halving the window")
                size = span / 2
                continue
            archived, rows = result if result is not None else (None, empty_solutions())
            if cap and rows.num_rows >= cap:
                if span > MIN_WINDOW:
                    self._incident(f"{label}: {rows.num_rows} events = the cap of {cap}; halving the window")
                    size = span / 2
                    continue
                self._incident(f"{label}: {rows.num_rows} events in a {span} window = the cap; some may be missing")
            self._commit(rows, archived, url, label, cursor, w_end, advance_origin)
            done += 1
            cursor = w_end
            if cap and rows.num_rows:  # aim the next window at FILL of the cap
                size = max(MIN_WINDOW, min(span * (cap * FILL) / rows.num_rows, span * 4))
            elif not rows.num_rows:
                size = span * 2
        if self.progress_cb:
            self.progress_cb(done, done, "done")

    def _parser(self, start: dt.datetime, end: dt.datetime) -> Callable[[bytes, str], tuple[ArchivedFile, pa.Table]]:
        ext = "txt" if self.fmt == "text" else "xml"
        name = f"{self.provider.name}_{start:%Y%m%dT%H%M%S}_{end:%Y%m%dT%H%M%S}.{ext}"

        def parse(body: bytes, url: str) -> tuple[ArchivedFile, pa.Table]:
            archived = archive_bytes(self.settings.raw_dir, body, name)  # archived before parsing
            if self.fmt == "text":
                from catalogs.fdsntext import parse_fdsn_text

                return archived, parse_fdsn_text(body, provider=self.provider.name, source_name=url)
            from catalogs.focal import parse_focal_mechanisms
            from catalogs.quakeml import parse_quakeml

            rows = parse_quakeml(body, provider=self.provider.name, source_name=url)
            # nodal planes, when the provider includes focal mechanisms (stored after the events)
            self.focal = parse_focal_mechanisms(body, url) if b"focalMechanism" in body else []
            return archived, rows

        return parse

    def _commit(self, rows: pa.Table, archived: ArchivedFile | None, url: str, label: str,
                start: dt.datetime, end: dt.datetime, advance_origin: bool) -> None:
        newest = pc.max(rows.column("updated_time_utc")).as_py() if rows.num_rows else None

        def update_watermark(w: LakeWriter) -> None:
            # Merge with the stored row inside the transaction: concurrent pulls of one provider
            # (backfills) never move a watermark backwards.
            self.state.sync(w)
            if advance_origin:
                self.state.advance(start, end)
            self.state.merge(None, newest)
            self.state.last_error = None
            w.write("provider_watermarks", self.state.row(), mode="upsert")

        if rows.num_rows == 0:
            self.lake.run_writer(update_watermark, what=f"pull {self.provider.name}: watermark", views=False)
        else:
            rep = ingest_solutions(
                self.lake, rows, "catalog_pull", f"{self.provider.name} {label}", url, archived, self.settings,
                media_kind="quakeml" if self.fmt == "xml" else "fdsntext", batch_extra=self.provider.name.upper(),
                in_transaction=update_watermark,
            )
            self.report.new_events += rep.new_events
            self.report.revised_events += rep.revised_events
            self.report.batches.append(rep.batch_id)
            if self.focal:
                from catalogs.focal_store import store_focal_mechanisms

                store_focal_mechanisms(self.lake, self.provider.name, self.focal)
                self.focal = []
        self.report.windows += 1
        self.report.events_received += rows.num_rows

    def _incident(self, text: str) -> None:
        msg = f"{self.provider.name}: {text}"
        self.client.incidents.append(msg)
        log.warning(msg)
