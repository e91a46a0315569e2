"""Bounds of the partner service and of `expedition query`, unit by unit, plus a short soak.

Rate, concurrency and bad-token throttles with a fake clock; the audit's bounded rows and its
retention on a real lake; per-key memo locks (a slow brief never holds up the FDSN index); the
CLI bounding its own process (memory, and the hard deadline for a query DuckDB cannot
interrupt) as a real subprocess; and a few seconds of bench/bench_api_soak against the real
service.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from expedition.delivery.api.throttle import ConcurrencyLimiter, FailureThrottle, Limited, RateLimiter

ROOT = Path(__file__).resolve().parents[1]


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_rate_limiter_allows_the_burst_then_the_rate() -> None:
    clock = Clock()
    rl = RateLimiter(rate_per_s=2.0, burst=3, clock=clock)
    for _ in range(3):
        rl.check("p")
    with pytest.raises(Limited) as exc:
        rl.check("p")
    assert exc.value.retry_after_s == 1  # 0.5 s to the next token, rounded up
    rl.check("other")  # buckets are per partner
    clock.t += 0.5
    rl.check("p")
    with pytest.raises(Limited):
        rl.check("p")
    RateLimiter(0.0, 1, clock=clock).check("p")  # 0: unlimited


def test_concurrency_limiter_waits_then_refuses() -> None:
    cl = ConcurrencyLimiter(limit=1, wait_s=0.2)
    with cl.slot("p"):
        t0 = time.monotonic()
        with pytest.raises(Limited), cl.slot("p"):
            pass
        assert time.monotonic() - t0 >= 0.19
        with cl.slot("q"):  # another partner is not held up
            pass
    released = threading.Event()

    def hold() -> None:
        with cl.slot("p"):
            released.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    time.sleep(0.05)
    threading.Timer(0.05, released.set).start()
    with cl.slot("p"):  # got it once the holder left, within wait_s
        pass
    t.join()


def test_failure_throttle_locks_an_address_for_the_window(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    ft = FailureThrottle(max_failures=3, window_s=60, clock=clock)
    for _ in range(3):
        ft.check("client a")
        ft.failed("client a", "token id x")
    with pytest.raises(Limited) as exc:
        ft.check("client a")
    assert exc.value.retry_after_s == 60
    ft.check("client b")
    assert any("client a" in r.getMessage() for r in caplog.records)
    assert any("token id x" in r.getMessage() for r in caplog.records)
    clock.t += 61
    ft.check("client a")  # the window passed


def test_memo_builds_one_key_without_holding_the_others() -> None:
    from expedition.delivery.api.source import LakeData

    data = LakeData(1, 1, {}, registry=None)  # type: ignore[arg-type]  # the memo needs no registry
    started = threading.Event()
    builds: list[str] = []

    def slow() -> str:
        started.set()
        time.sleep(1.0)
        builds.append("brief")
        return "pdf"

    t = threading.Thread(target=lambda: data.memo("brief/x/pdf/zh", slow))
    t.start()
    started.wait(5)
    t0 = time.monotonic()
    assert data.memo("fdsn_index", lambda: "index") == "index"
    assert time.monotonic() - t0 < 0.2  # not the brief's 1 s
    t.join()
    assert data.memo("brief/x/pdf/zh", lambda: "again") == "pdf" and builds == ["brief"]


def test_audit_rows_are_bounded_and_pruned(tmp_path: Path) -> None:
    from expedition.delivery.api.audit import AuditLog
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    lake = Lake.from_settings(load_settings(tmp_path / "home"))
    lake.init()
    audit = AuditLog(lake, flush_s=0.0, sql_chars=50, retention_days=30)
    sql = "SELECT '\ud800' /* " + "y" * 10_000 + " */"
    audit.record(route="/v1/query", outcome="failed", status=400, partner="p", sql=sql, detail="d" * 5000)
    audit.record(route="/v1/query", outcome="ok", status=200, partner="p", sql="SELECT 1")
    assert audit.flush() == 2
    old = audit.record(route="/v1/query", outcome="ok", status=200, partner="p", sql="SELECT 'old'")
    object.__setattr__(old, "audit_time_utc", datetime.now(UTC) - timedelta(days=40))
    assert audit.flush() == 1
    rows = {r["query_sql"]: r for r in lake.read_table("partner_query_audit").to_pylist()}
    assert len(rows) == 3
    long = next(r for k, r in rows.items() if k and k.startswith("SELECT '\\ud800'"))
    assert len(long["query_sql"]) <= 50 + 5 and long["query_sql_chars"] == len(sql)
    escaped = sql.encode("utf-8", "backslashreplace")
    assert long["query_sql_sha256"] == hashlib.sha256(escaped).hexdigest()
    assert len(long["outcome_detail"]) == 1000
    assert audit.prune() is True
    left = {r["query_sql"] for r in lake.read_table("partner_query_audit").to_pylist()}
    assert "SELECT 'old'" not in left and "SELECT 1" in left and len(left) == 2


def _cli(home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> Any:
    main = "import sys; from expedition.delivery.cli.main import main; sys.argv[0] = 'expedition'; main()"
    return subprocess.run([sys.executable, "-c", main, *args, "--home", str(home)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, cwd=ROOT)


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    home = tmp_path_factory.mktemp("cli-bounds")
    Lake.from_settings(load_settings(home)).init()
    return home


@pytest.mark.slow
def test_cli_query_is_bounded_in_its_own_process(cli_home: Path) -> None:
    """Memory: the allocation fails inside DuckDB (error, no growth); time: a query DuckDB cannot
    interrupt ends the command at the limit plus 2 s of grace (exit 124), instead of ~75 s."""
    mem = _cli(cli_home, "query", "SELECT len(range(400000000)) AS n", env={"QE_QUERY_MEMORY_LIMIT": "1GB"})
    assert mem.returncode != 0 and "memory" in mem.stderr, mem.stderr
    slow = ("SELECT max(levenshtein(repeat('a', 2000) || range::VARCHAR, repeat('b', 2000))) AS d "
            "FROM range(2000)")
    t0 = time.monotonic()
    ended = _cli(cli_home, "query", slow, env={"QE_QUERY_TIMEOUT_S": "1"})
    assert ended.returncode == 124 and "time limit" in ended.stderr, ended.stderr
    assert time.monotonic() - t0 < 60  # process start-up on a loaded machine + 1 s + 2 s grace
    csv = _cli(cli_home, "query", "SELECT [1, 2] AS l, MAP {'k': 1} AS m, 'infinity'::TIMESTAMP AS t",
               "--format", "csv")
    assert csv.returncode == 0 and csv.stdout.splitlines() == ['"l","m","t"', '"[1, 2]","[[""k"", 1]]","infinity"']


@pytest.mark.slow
def test_short_soak_keeps_the_service_up_and_good_clients_served(tmp_path: Path) -> None:
    """A few seconds of bench/bench_api_soak: no crash, good clients never fail, memory bounded."""
    sys.path.insert(0, str(ROOT))
    from bench.bench_api_soak import soak

    r = soak(seconds=4.0, n_good=4, n_hostile=8, ceiling_mb=2048, home=tmp_path / "home")
    assert r["crashes"] == 0
    errs = r["good_errors_under_attack"]
    # only "busy, retry" answers (Retry-After) may reach good clients on a loaded machine, and rarely
    assert set(errs) <= {"HTTP 503", "HTTP 429"}, errs
    assert r["good_requests_under_attack"] > 0 and sum(errs.values()) <= 0.1 * r["good_requests_under_attack"]
    assert r["peak_rss_mb"] <= 2048
    kinds = {k.split()[0] for k in r["hostile_outcomes"]}
    assert kinds == {"memory", "time", "body", "brute"}
    assert any(k.startswith("body 413") for k in r["hostile_outcomes"])
