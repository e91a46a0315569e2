"""Pulls through ObsPy's real FDSN client from the real local service: caps, faults, watermarks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from catalogs.errors import PermanentProviderError, TransientProviderError
from catalogs.fdsnws_server import FDSNEventServer, serve_events
from catalogs.pull import pull_provider, read_watermark
from tests.conftest import invoke_cli
from tests.fdsn_fixtures import QUICK_RETRY, counts, provider_for, window

DAY = dt.timedelta(days=1)


class Sleeps:
    """Records the waits a pull asks for instead of sleeping (the Retry-After values are checked)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def feb_rows(comcat_rows: pa.Table) -> pa.Table:
    """Four days of real ComCat events around the 2023-02-06 Türkiye earthquakes."""
    return window(comcat_rows, "2023-02-06", "2023-02-10")


@pytest.fixture
def feb_service(feb_rows: pa.Table) -> Iterator[FDSNEventServer]:
    with serve_events(feb_rows) as server:
        yield server


def pull(lake: Any, settings: Any, server: FDSNEventServer, **kw: Any) -> Any:
    opts: dict[str, Any] = {"starttime": "2023-02-06", "endtime": "2023-02-10", "retry": QUICK_RETRY,
                            "initial_window": 4 * DAY}
    prov = provider_for(server, kw.pop("name", "USGS"), **kw.pop("provider_opts", {}))
    opts.update(kw)
    return pull_provider(lake, settings, prov, **opts)


@pytest.mark.slow
@pytest.mark.parametrize("cap_mode", ["413", "truncate"])
def test_capped_service_gives_every_event_once(lake: Any, settings: Any, comcat_rows: pa.Table, cap_mode: str) -> None:
    with serve_events(comcat_rows, cap=500, cap_mode=cap_mode) as server:  # type: ignore[arg-type]
        rep = pull_provider(lake, settings, provider_for(server, max_events_per_request=500), "2022-01-01",
                            "2024-06-01", initial_window=dt.timedelta(days=365), retry=QUICK_RETRY)
        answered = [r.events for r in server.query_requests()]
    distinct = len(set(comcat_rows.column("provider_event_id").to_pylist()))
    assert rep.events_received == distinct == comcat_rows.num_rows  # every event, once
    assert max(answered) <= 500 and sum(answered) >= distinct
    assert any(("too large" if cap_mode == "413" else "= the cap") in i for i in rep.incidents)  # windows were split
    c = counts(lake, "events", "event_solutions", "event_aliases")
    assert c == {"events": distinct, "event_solutions": distinct, "event_aliases": distinct}
    assert rep.windows == len(rep.batches) and rep.watermark == dt.datetime(2024, 6, 1, tzinfo=dt.UTC)


# The fault tests share one lake (module_lake); each uses its own provider name, so watermarks
# and counts stay separate where they are asserted.


def test_no_data_is_not_an_error(module_lake: Any, module_settings: Any, feb_service: FDSNEventServer) -> None:
    rep = pull(module_lake, module_settings, feb_service, starttime="1990-01-01", endtime="1990-01-03", name="NODATA")
    assert (rep.events_received, rep.windows, rep.incidents) == (0, 1, [])
    assert [r.status for r in feb_service.query_requests()] == [204]
    wm = read_watermark(module_lake, "NODATA")
    assert wm is not None and wm["watermark_origin_time_utc"] == dt.datetime(1990, 1, 3, tzinfo=dt.UTC)
    assert wm["last_error"] is None


def test_400_surfaces_the_message_and_is_not_retried(module_lake: Any, module_settings: Any,
                                                     feb_service: FDSNEventServer) -> None:
    feb_service.faults.push("400", times=3, message="minmagnitude below 4 is not served here")
    sleeps = Sleeps()
    with pytest.raises(PermanentProviderError, match="minmagnitude below 4 is not served here"):
        pull(module_lake, module_settings, feb_service, sleep=sleeps, name="BAD")
    assert len(feb_service.query_requests()) == 1 and sleeps.waits == []
    wm = read_watermark(module_lake, "BAD")
    assert wm is not None and "minmagnitude below 4" in wm["last_error"]


def test_503_and_429_are_retried_after_retry_after(module_lake: Any, module_settings: Any,
                                                   feb_service: FDSNEventServer, feb_rows: pa.Table) -> None:
    feb_service.faults.push("503", times=2, retry_after=3)
    feb_service.faults.push("429", retry_after=2)
    sleeps = Sleeps()
    rep = pull(module_lake, module_settings, feb_service, sleep=sleeps, name="BUSY")
    assert sleeps.waits == [3, 3, 2]  # the server's Retry-After, not our backoff
    assert rep.events_received == feb_rows.num_rows and rep.windows == 1
    assert len(rep.incidents) == 3 and all("retrying" in i for i in rep.incidents)
    assert [r.status for r in feb_service.query_requests()] == [503, 503, 429, 200]


def test_transport_faults_are_retried_until_the_pull_completes(module_lake: Any, module_settings: Any,
                                                                feb_service: FDSNEventServer, feb_rows: pa.Table) -> None:
    feb_service.faults.push("503", path="event/1/application.wadl")  # discovery fails once
    for kind in ("500", "reset", "truncated", "html200", "empty200"):
        feb_service.faults.push(kind)
    feb_service.faults.push("timeout", seconds=10)
    rep = pull(module_lake, module_settings, feb_service, sleep=Sleeps(), provider_opts={"timeout_s": 0.5},
               retry=type(QUICK_RETRY)(attempts=8, base_s=0.01), name="FLAKY")
    assert rep.events_received == feb_rows.num_rows and rep.windows == 1
    detail = module_lake.read_table("event_aliases", "WHERE provider = ?", ["FLAKY"])
    assert sorted(detail.column("provider_event_id").to_pylist()) == sorted(feb_rows.column("provider_event_id").to_pylist())
    assert len(rep.incidents) == 7 and feb_service.faults.pending == 0
    assert any("discovery" in i for i in rep.incidents) and any("HTML" in i for i in rep.incidents)


@pytest.mark.slow
def test_watermark_resume_after_a_provider_failure(lake: Any, settings: Any, feb_service: FDSNEventServer,
                                                   feb_rows: pa.Table) -> None:
    def fail_second_window(done: int, total: int, label: str) -> None:
        if done == 1 and not feb_service.faults.pending:
            feb_service.faults.push("500", times=QUICK_RETRY.attempts)

    with pytest.raises(TransientProviderError, match="HTTP 500"):
        pull(lake, settings, feb_service, sleep=Sleeps(), initial_window=DAY, progress_cb=fail_second_window)
    wm = read_watermark(lake, "USGS")  # the first window (one day) was committed, the second failed
    assert wm is not None and wm["watermark_origin_time_utc"] == dt.datetime(2023, 2, 7, tzinfo=dt.UTC)
    assert "HTTP 500" in wm["last_error"]
    assert counts(lake, "events")["events"] == window(feb_rows, "2023-02-06", "2023-02-07").num_rows
    # The next incremental pull starts at the watermark minus the overlap and completes the span.
    rep = pull(lake, settings, feb_service, starttime=None, initial_window=DAY)
    assert rep.starttime == dt.datetime(2023, 2, 7, tzinfo=dt.UTC) - dt.timedelta(days=settings.overlap_days)
    c = counts(lake, "events", "event_solutions", "event_revisions")
    assert c == {"events": feb_rows.num_rows, "event_solutions": feb_rows.num_rows, "event_revisions": feb_rows.num_rows}
    wm = read_watermark(lake, "USGS")
    assert wm is not None and wm["last_error"] is None
    assert wm["watermark_origin_time_utc"] == dt.datetime(2023, 2, 10, tzinfo=dt.UTC)


def revised(rows: pa.Table, index: int, **changes: Any) -> pa.Table:
    """``rows`` with row ``index`` changed (a provider publishing a revision)."""
    data = rows.to_pylist()
    data[index] = {**data[index], **changes}
    return pa.Table.from_pylist(data, schema=rows.schema)


@pytest.mark.slow
def test_revision_and_updatedafter_pass(lake: Any, settings: Any, feb_service: FDSNEventServer, feb_rows: pa.Table) -> None:
    first = pull(lake, settings, feb_service)
    assert first.new_events == feb_rows.num_rows
    newest_update = pc.max(feb_rows.column("updated_time_utc")).as_py()
    wm = read_watermark(lake, "USGS")
    assert wm is not None and wm["watermark_updated_utc"] == newest_update
    # The provider revises the magnitude of the first event (origin 2023-02-06, before the overlap).
    target = int(pc.index(feb_rows.column("origin_time_utc"), pc.min(feb_rows.column("origin_time_utc"))).as_py())
    old = feb_rows.slice(target, 1).to_pylist()[0]
    feb_service.set_rows(revised(feb_rows, target, magnitude_value=old["magnitude_value"] + 0.2,
                                 updated_time_utc=newest_update + DAY))
    rep = pull(lake, settings, feb_service, starttime=None)  # incremental: origin pass, then updatedafter pass
    assert (rep.new_events, rep.revised_events) == (0, 1)
    updated_queries = [r for r in feb_service.query_requests() if "updatedafter" in r.params]
    assert updated_queries and updated_queries[-1].events >= 1
    revs = lake.read_table("event_revisions").to_pylist()
    mag = [r for r in revs if r["revision_reason"] == "magnitude"]
    assert len(mag) == 1 and mag[0]["source_provider_event_id"] == old["provider_event_id"]
    assert mag[0]["magnitude_value"] == pytest.approx(old["magnitude_value"] + 0.2)
    # Pulling the same answers again changes nothing.
    again = pull(lake, settings, feb_service)
    assert (again.new_events, again.revised_events) == (0, 0)


@pytest.mark.slow
def test_usgs_geojson_feed(lake: Any, settings: Any, feb_service: FDSNEventServer, feb_rows: pa.Table) -> None:
    from catalogs.feeds import feed_url, pull_feed

    rep = pull_feed(lake, settings, "4.5", "week", base_url=feb_service.url, retry=QUICK_RETRY)
    assert rep.new_events == feb_rows.num_rows  # the four days are within the week before the newest event
    assert feed_url("all", "hour").startswith("https://earthquake.usgs.gov/earthquakes/feed/v1.0/summary/all_hour")
    again = pull_feed(lake, settings, "4.5", "week", base_url=feb_service.url)  # a new 'generated' stamp, same events
    assert (again.new_events, again.revised_events, again.solutions_added, again.aliases_added) == (0, 0, 0, 0)


@pytest.mark.slow
def test_cli_pull_from_any_fdsn_url(lake: Any, feb_service: FDSNEventServer, feb_rows: pa.Table) -> None:
    r = invoke_cli(["catalog", "pull", "--provider", "LOCAL", "--url", feb_service.url, "--starttime", "2023-02-06",
                    "--endtime", "2023-02-10", "--format", "text"])
    assert r.returncode == 0, r.stderr
    assert f"LOCAL: {feb_rows.num_rows} events" in r.stdout
    assert all(q.params.get("format") == "text" for q in feb_service.query_requests())
    bad = invoke_cli(["catalog", "pull", "--provider", "NOWHERE"])
    assert bad.returncode == 2 and "unknown provider" in bad.stderr and "Traceback" not in bad.stderr
