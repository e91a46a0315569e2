"""The catalog flows, run for real (Prefect test harness) against the local FDSN event service.

The service (catalogs.fdsnws_server) serves the real ComCat events of the bundled sample that fall
in the last quarter of 2023; ObsPy's FDSN client talks to it over 127.0.0.1 as it would to USGS.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

pytestmark = pytest.mark.prefect

#: The pulls ask for this span; the service serves the sample events inside it (the last quarter of 2023).
SPAN = (datetime(2023, 10, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def all_rows() -> pa.Table:
    from catalogs.detect import read_catalog_file
    from flows.demo import SAMPLE_CATALOG, demo_file

    return read_catalog_file(demo_file(SAMPLE_CATALOG), provider="USGS")


@pytest.fixture(scope="module")
def sample_rows(all_rows: pa.Table) -> pa.Table:
    """The sample events of ``SPAN`` (a small catalog keeps each pull to one or two windows)."""
    import pyarrow.compute as pc

    t = all_rows.column("origin_time_utc")
    rows = all_rows.filter(pc.and_(pc.greater_equal(t, pa.scalar(SPAN[0], t.type)), pc.less(t, pa.scalar(SPAN[1], t.type))))
    assert rows.num_rows >= 10
    return rows


@pytest.fixture
def service(sample_rows: pa.Table) -> Iterator[Any]:
    from catalogs.fdsnws_server import serve_events

    with serve_events(sample_rows) as server:
        yield server


def _closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (a provider that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def configure(home: Path, providers: dict[str, str], retry_attempts: int = 1) -> None:
    """qe.toml: the given providers (name -> URL), fast retries (library and Prefect)."""
    lines = ["[flows]", "retry_delays_s = [0.2]", "", "[pull]", f"retry_attempts = {retry_attempts}",
             "retry_base_s = 0.05", ""]
    for name, url in providers.items():
        lines += ["[[providers]]", f'name = "{name}"', f'url = "{url}"', "min_interval_s = 0.0", "timeout_s = 10.0", ""]
    (home / "qe.toml").write_text("\n".join(lines))


def _flow_run(state: Any) -> Any:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(state.state_details.flow_run_id)


def _artifact_keys(flow_run_id: Any) -> set[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return {a.key for a in arts if a.key}


def test_pull_with_one_provider_down_keeps_the_others(
    prefect_harness: None, lake: Any, service: Any, sample_rows: pa.Table
) -> None:
    from flows.pull import PullSummary, pull_catalogs

    configure(lake.home, {"USGS": service.url, "DOWN": _closed_port_url()})
    state = pull_catalogs(home=str(lake.home), starttime=SPAN[0], endtime=SPAN[1], return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()
    assert isinstance(summary, PullSummary)
    by_name = {o.provider: o for o in summary.outcomes}
    n = sample_rows.num_rows
    assert by_name["USGS"].ok and by_name["USGS"].new_events == n
    assert not by_name["DOWN"].ok and "TransientProviderError" in by_name["DOWN"].error
    assert lake.read_table("events").num_rows == n
    run = _flow_run(state)
    assert run.name.startswith(f"USGS: {n} new, 0 revised; DOWN: failed"), run.name
    assert {"new-events", "pull-report"} <= _artifact_keys(run.id)
    assert len(summary.changed_event_ids) == n


def test_pull_fails_when_every_provider_is_down(prefect_harness: None, lake: Any) -> None:
    from flows.pull import pull_catalogs

    configure(lake.home, {"DOWN": _closed_port_url()})
    state = pull_catalogs(home=str(lake.home), starttime=SPAN[0], endtime=SPAN[1], return_state=True)
    assert state.is_failed()
    assert "every provider failed" in str(state.result(raise_on_failure=False))


def test_transient_503_is_retried_and_nothing_is_stored_twice(
    prefect_harness: None, lake: Any, service: Any, sample_rows: pa.Table
) -> None:
    from flows.pull import first_pull_start, pull_catalogs
    from flows.runtime import settings_for

    configure(lake.home, {"USGS": service.url})  # one library attempt: the Prefect retry must do it
    settings = settings_for(lake.home)
    assert first_pull_start(settings, "USGS", SPAN[0]) == SPAN[0], "never pulled: start at first_starttime"
    service.faults.push("503", times=1, retry_after=0)
    summary = pull_catalogs(home=str(lake.home), starttime=SPAN[0], endtime=SPAN[1])
    n = sample_rows.num_rows
    assert summary.outcomes[0].ok and summary.outcomes[0].new_events == n
    assert first_pull_start(settings, "USGS", SPAN[0]) is None, "pulled once: continue from the watermark"
    again = pull_catalogs(home=str(lake.home), starttime=SPAN[0], endtime=SPAN[1])
    assert again.outcomes[0].new_events == 0 and again.outcomes[0].events_received == n
    assert lake.read_table("events").num_rows == n
    assert lake.read_table("event_aliases").num_rows == n


def test_a_400_is_not_retried(prefect_harness: None, lake: Any, service: Any) -> None:
    from flows.pull import pull_catalogs

    configure(lake.home, {"USGS": service.url}, retry_attempts=3)
    service.faults.push("400", times=5, message="Bad request: starttime is not a date")
    state = pull_catalogs(home=str(lake.home), starttime=SPAN[0], endtime=SPAN[1], return_state=True)
    assert state.is_failed()
    assert "PermanentProviderError" in str(state.result(raise_on_failure=False))
    assert len(service.query_requests()) == 1, "a 400 is asked once: no library retry, no Prefect retry"


def _catalog_state(lake: Any) -> dict[str, Any]:
    """What a pull leaves in the lake, without the columns that record when and in which batch."""
    events = lake.read_table("events").drop_columns(["ingest_batch_id", "updated_time_utc"])
    solutions = lake.read_table("event_solutions")
    aliases = lake.read_table("event_aliases")
    return {
        "events": sorted(tuple(sorted((k, str(v)) for k, v in r.items())) for r in events.to_pylist()),
        "aliases": sorted((r["provider"], r["provider_event_id"], r["event_id"]) for r in aliases.to_pylist()),
        "solutions": sorted(solutions.column("solution_id").to_pylist()),
    }


@pytest.mark.slow
def test_dask_backfill_equals_a_serial_pull(
    prefect_harness: None, tmp_path: Path, service: Any, sample_rows: pa.Table
) -> None:
    from catalogs.pull import pull_provider
    from expedition.settings import load_settings
    from flows.pull import backfill_catalog
    from warehouse.lake import Lake

    lakes = {}
    for name in ("dask", "serial"):
        home = tmp_path / name
        home.mkdir()
        configure(home, {"USGS": service.url})
        lakes[name] = Lake.from_settings(load_settings(home))
        lakes[name].init()
    serial_settings = load_settings(lakes["serial"].home)
    pull_provider(lakes["serial"], serial_settings, "USGS", SPAN[0], SPAN[1])

    assert load_settings(lakes["dask"].home).dask_workers == 2  # the default: a two-worker local cluster
    summary = backfill_catalog(provider="USGS", starttime=SPAN[0], endtime=SPAN[1], home=str(lakes["dask"].home),
                               window_days=31)
    assert len(summary.outcomes) == 3 and all(o.ok for o in summary.outcomes)
    assert summary.new_events == sample_rows.num_rows
    assert _catalog_state(lakes["dask"]) == _catalog_state(lakes["serial"])
