"""Faults of data centres, end to end: the real local FDSN service misbehaves, the pull copes.

Hermetic (synthetic events from :func:`bench.soak.synthetic_rows`; no shared data needed), one lake
for the module: every case pulls its own week under its own provider name, so the checks of one
case ("the lake holds exactly the catalog the service holds for that provider and week, once")
never see another's rows. Waits stay short: Retry-After values are recorded by an injected sleep
instead of slept, client timeouts are half a second.

Complements ``tests/test_pull.py`` (real ComCat rows, single provider): here every fault kind is
checked for the exact catalog, for one log line per incident, for a provider that stays down while
another completes, and through the real ``expedition catalog pull`` command.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from bench.soak import synthetic_rows
from catalogs.errors import ProviderError, TransientProviderError
from catalogs.fdsn import Provider, RetryPolicy
from catalogs.fdsnws_server import FDSNEventServer, serve_events
from catalogs.pull import PullReport, pull_provider, read_watermark
from tests.conftest import run_cli

DAY = dt.timedelta(days=1)
FIRST = dt.datetime(2021, 3, 1, tzinfo=dt.UTC)
PER_WEEK = 24
RETRY = RetryPolicy(attempts=3, base_s=0.01, max_s=0.02)


class Sleeps:
    """Records the waits the pull asks for instead of sleeping (Retry-After values are checked)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def week(k: int) -> tuple[dt.datetime, dt.datetime]:
    start = FIRST + k * 7 * DAY
    return start, start + 6 * DAY


def week_rows(k: int) -> pa.Table:
    start, _ = week(k)
    return synthetic_rows(PER_WEEK, start, 6.0, seed=500 + k, provider="LOCAL")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    root = tmp_path_factory.mktemp("faults") / "home"
    root.mkdir()
    (root / "qe.toml").write_text("overlap_days = 2.0\n[pull]\nretry_attempts = 3\nretry_base_s = 0.01\nretry_max_s = 0.02\n")
    Lake.from_settings(load_settings(root)).init()
    return root


@pytest.fixture(scope="module")
def env(home: Path) -> tuple[Any, Any]:
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    settings = load_settings(home)
    return Lake.from_settings(settings), settings


@pytest.fixture(scope="module")
def served() -> pa.Table:
    """Every week the module uses, in one catalog (each case asks only for its own week)."""
    return pa.concat_tables([week_rows(k) for k in range(16)])


@pytest.fixture
def service(served: pa.Table) -> Iterator[FDSNEventServer]:
    with serve_events(served) as server:
        yield server


def provider(server: FDSNEventServer, name: str, **kw: Any) -> Provider:
    opts: dict[str, Any] = {"priority": 10, "max_events_per_request": 20_000, "min_interval_s": 0.0, "timeout_s": 2.0}
    opts.update(kw)
    return Provider(name, server.url, **opts)


def lake_catalog(lake: Any, provider_name: str) -> dict[str, Any]:
    """What the lake holds for one provider: its ids, and counts that expose any duplicate."""
    con = lake.connect(read_only=True)
    try:
        ids = [r[0] for r in con.execute(
            "SELECT provider_event_id FROM event_aliases WHERE provider = ?", [provider_name]).fetchall()]

        def one(sql: str) -> int:
            return int(con.execute(sql, [provider_name]).fetchone()[0])

        return {
            "ids": sorted(ids),
            "events": one("SELECT count(DISTINCT event_id) FROM event_aliases WHERE provider = ?"),
            "solutions": one("SELECT count(*) FROM event_solutions WHERE provider = ?"),
            "revisions": one("SELECT count(*) FROM event_revisions WHERE event_id IN "
                             "(SELECT event_id FROM event_aliases WHERE provider = ?)"),
            "events_rows": one("SELECT count(*) FROM events WHERE event_id IN "
                               "(SELECT event_id FROM event_aliases WHERE provider = ?)"),
        }
    finally:
        con.close()


def assert_exact_catalog(lake: Any, provider_name: str, expected: pa.Table, shared: bool = False) -> None:
    """The provider's events are exactly ``expected``, each once. ``shared``: another provider reports
    the same events, so a preferred-source change may add revisions (at least one per event)."""
    got = lake_catalog(lake, provider_name)
    want = sorted(expected.column("provider_event_id").to_pylist())
    n = len(want)
    assert got["ids"] == want, "the lake must hold exactly the service's events"
    assert (got["events"], got["events_rows"], got["solutions"]) == (n, n, n), got
    assert got["revisions"] >= n if shared else got["revisions"] == n, got


def incident_lines(caplog: pytest.LogCaptureFixture, name: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name.startswith("catalogs") and r.levelno >= logging.WARNING and name in r.getMessage()]


# (fault, push options, extra provider options, incidents, words in every incident line)
RETRIED = [
    ("500", {"times": 2}, {}, 2, "HTTP 500"),
    ("503", {"times": 2, "retry_after": 2}, {}, 2, "HTTP 503"),
    ("429", {"times": 1, "retry_after": 3}, {}, 1, "HTTP 429"),
    ("timeout", {"times": 1, "seconds": 2}, {"timeout_s": 0.5}, 1, "timed out"),
    ("reset", {"times": 1}, {}, 1, "attempt 1 failed"),
    ("truncated", {"times": 1}, {}, 1, "attempt 1 failed"),
    ("html200", {"times": 1}, {}, 1, "HTML page instead of data"),
    ("empty200", {"times": 1}, {}, 1, "empty body with status 200"),
]


@pytest.mark.parametrize("k, case", list(enumerate(RETRIED)), ids=[c[0] for c in RETRIED])
@pytest.mark.slow
def test_each_fault_ends_in_exactly_the_served_catalog(
    env: tuple[Any, Any], service: FDSNEventServer, caplog: pytest.LogCaptureFixture, k: int, case: tuple[Any, ...]
) -> None:
    lake, settings = env
    kind, push, prov_opts, incidents, words = case
    name = f"F{kind.upper()}"
    start, end = week(k)
    service.faults.push(kind, **push)
    sleeps = Sleeps()
    caplog.set_level(logging.WARNING, logger="catalogs")
    rep = pull_provider(lake, settings, provider(service, name, **prov_opts), start, end,
                        initial_window=6 * DAY, retry=RETRY, sleep=sleeps)
    assert service.faults.pending == 0, "the fault was served"
    assert_exact_catalog(lake, name, week_rows(k))
    lines = incident_lines(caplog, name)
    assert len(lines) == incidents == len(rep.incidents), lines
    assert lines == rep.incidents  # the log says what happened, one record per incident
    for line in lines:
        assert "\n" not in line and line.startswith(f"{name}: query starttime=") and words in line
        assert "retrying in" in line
    if "retry_after" in push:  # the server's Retry-After is honoured, not our backoff
        assert sleeps.waits == [push["retry_after"]] * push["times"]


@pytest.mark.parametrize("cap_mode, k", [("413", 8), ("truncate", 9)])
@pytest.mark.slow
def test_caps_split_windows_until_every_event_is_received_once(
    env: tuple[Any, Any], served: pa.Table, caplog: pytest.LogCaptureFixture, cap_mode: str, k: int
) -> None:
    """413 for a window over the cap, or a window answered with exactly the cap (silent truncation)."""
    lake, settings = env
    name = f"CAP{cap_mode.upper()}"
    start, end = week(k)
    caplog.set_level(logging.WARNING, logger="catalogs")
    with serve_events(served, cap=12, cap_mode=cap_mode) as server:  # type: ignore[arg-type]
        rep = pull_provider(lake, settings, provider(server, name, max_events_per_request=12), start, end,
                            initial_window=6 * DAY, retry=RETRY, sleep=Sleeps())
        answered = [r.events for r in server.query_requests()]
    assert max(answered) <= 12 and rep.events_received == PER_WEEK
    assert_exact_catalog(lake, name, week_rows(k))
    lines = incident_lines(caplog, name)
    assert lines and lines == rep.incidents
    split = ("too large (413); halving the window", "= the cap of 12; halving the window")
    assert all(any(m in line for m in split) and "\n" not in line for line in lines)
    # a 413 service refuses over-cap windows; a truncating one answers them with exactly the cap
    assert any(split[0 if cap_mode == "413" else 1] in line for line in lines)
    if cap_mode == "truncate":
        assert not any(split[0] in line for line in lines)


def test_an_injected_413_halves_only_that_window(env: tuple[Any, Any], service: FDSNEventServer,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    lake, settings = env
    start, end = week(10)
    service.faults.push("413")
    caplog.set_level(logging.WARNING, logger="catalogs")
    rep = pull_provider(lake, settings, provider(service, "F413"), start, end, initial_window=6 * DAY, retry=RETRY)
    assert_exact_catalog(lake, "F413", week_rows(10))
    assert incident_lines(caplog, "F413") == rep.incidents and len(rep.incidents) == 1
    assert "too large (413); halving the window" in rep.incidents[0]


@pytest.mark.slow
def test_a_provider_that_stays_down_fails_alone_and_resumes_from_its_watermark(
    env: tuple[Any, Any], served: pa.Table, caplog: pytest.LogCaptureFixture
) -> None:
    """Two providers serve the same week; DOWN answers 503 after its first window, for good."""
    lake, settings = env
    start, end = week(11)
    expected = week_rows(11)
    caplog.set_level(logging.WARNING, logger="catalogs")
    with serve_events(served) as down_srv, serve_events(served) as up_srv:
        def go_down(done: int, total: int, label: str) -> None:
            if done == 1 and not down_srv.faults.pending:
                down_srv.faults.push("503", times=1000, retry_after=0)

        reports: dict[str, PullReport | ProviderError] = {}
        for name, srv, cb in (("DOWN", down_srv, go_down), ("UP", up_srv, None)):  # what pull_catalogs does
            try:
                reports[name] = pull_provider(lake, settings, provider(srv, name), start, end, progress_cb=cb,
                                              initial_window=2 * DAY, retry=RETRY, sleep=Sleeps())
            except ProviderError as exc:
                reports[name] = exc
        failure = reports["DOWN"]
        assert isinstance(failure, TransientProviderError)
        message = str(failure)
        assert message.startswith("DOWN: ") and "HTTP 503" in message and "after 3 attempts" in message
        assert "\n" not in message
        assert_exact_catalog(lake, "UP", expected, shared=True)  # the other provider is complete
        down_lines = incident_lines(caplog, "DOWN")
        assert len(down_lines) == 3 and "failed after 3 attempts" in down_lines[-1]
        wm = read_watermark(lake, "DOWN")
        assert wm is not None and "HTTP 503" in wm["last_error"]
        assert wm["watermark_origin_time_utc"] == start + 2 * DAY  # the first window was committed
        first_window = [r for r in expected.to_pylist() if r["origin_time_utc"] < start + 2 * DAY]
        assert len(lake_catalog(lake, "DOWN")["ids"]) == len(first_window)

        # The provider is back: the next incremental run starts at its watermark minus the overlap.
        down_srv.faults.clear()
        seen_before = len(down_srv.query_requests())
        rep = pull_provider(lake, settings, provider(down_srv, "DOWN"), None, end, initial_window=2 * DAY, retry=RETRY)
        first_query = down_srv.query_requests()[seen_before]
    resumed_from = dt.datetime.fromisoformat(first_query.params["starttime"]).replace(tzinfo=dt.UTC)
    assert resumed_from == start + 2 * DAY - dt.timedelta(days=settings.overlap_days)
    assert rep.starttime == resumed_from
    assert_exact_catalog(lake, "DOWN", expected, shared=True)
    # both providers' solutions sit on the same events: no event was created twice
    con = lake.connect(read_only=True)
    try:
        per_event = con.execute(
            "SELECT count(*) FILTER (WHERE provider = 'UP'), count(*) FILTER (WHERE provider = 'DOWN'), "
            "count(DISTINCT event_id) FROM event_aliases WHERE provider IN ('UP', 'DOWN')").fetchone()
    finally:
        con.close()
    assert per_event == (len(expected), len(expected), len(expected))
    wm = read_watermark(lake, "DOWN")
    assert wm is not None and wm["last_error"] is None and wm["watermark_origin_time_utc"] == end


@pytest.mark.slow
def test_cli_reports_a_dead_provider_in_one_line_per_incident(home: Path, service: FDSNEventServer) -> None:
    start, end = week(12)
    service.faults.push("503", times=1000, retry_after=0)
    done = run_cli(["catalog", "pull", "--provider", "DEADCLI", "--url", service.url, "--starttime",
                    start.isoformat(), "--endtime", end.isoformat(), "--home", str(home)])
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "DEADCLI" in errors[0] and "HTTP 503" in errors[0]
    warnings = [line for line in done.stderr.splitlines() if "WARNING catalogs.fdsn: DEADCLI" in line]
    assert len(warnings) == 3  # qe.toml [pull] retry_attempts = 3: one line per failed attempt
    assert [r.status for r in service.query_requests()] == [503, 503, 503]


@pytest.mark.slow
def test_cli_pull_through_faults_reports_each_incident(home: Path, service: FDSNEventServer, env: tuple[Any, Any]) -> None:
    lake, _ = env
    start, end = week(13)
    for kind in ("html200", "reset"):  # qe.toml allows 3 attempts: the third one succeeds
        service.faults.push(kind, retry_after=0)
    done = run_cli(["catalog", "pull", "--provider", "FLAKYCLI", "--url", service.url, "--starttime",
                    start.isoformat(), "--endtime", end.isoformat(), "--window-days", "6", "--home", str(home)])
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert f"FLAKYCLI: {PER_WEEK} events" in done.stdout
    incidents = [line for line in done.stderr.splitlines() if "WARNING catalogs.fdsn: FLAKYCLI:" in line]
    assert len(incidents) == 2 and "HTML page" in incidents[0]  # one line each, retried to success
    assert "2 incidents" in done.stdout
    assert_exact_catalog(lake, "FLAKYCLI", week_rows(13))
    assert [r.fault for r in service.query_requests()] == ["html200", "reset", None]


@pytest.mark.parametrize("url", ["http://127.0.0.1:9", "htp//nowhere"])
@pytest.mark.slow
def test_cli_refuses_an_unusable_url_in_one_line(home: Path, url: str) -> None:
    done = run_cli(["catalog", "pull", "--provider", "TYPO", "--url", url, "--starttime", "2021-01-01",
                    "--endtime", "2021-01-02", "--home", str(home)])
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith("error: TYPO: not a usable FDSN base URL") and url in errors[0]
