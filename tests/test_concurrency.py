"""Writers at the same time, through the real ``expedition`` command: two evaluations at once, a survey
ingest during a catalog pull, and a writer that gives up after its wait.

The lake has one writer at a time (``flock`` on ``<home>/lake/writer.lock``): a second writer waits up
to ``QE_WRITER_WAIT_S`` and then fails with one clear line (``WarehouseBusy``). What must hold: no
expedition opened twice, no decision taken twice, no row lost, no traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from bench.soak import PROVIDER, Trial, expedition_of, write_config

EXE = Path(sys.executable).parent / "expedition"
LONG_WAIT = {"QE_WRITER_WAIT_S": "600"}


@dataclass
class Home:
    path: Path
    url: str
    trials: list[Trial]
    server: Any  # the local FDSN service (catalogs.fdsnws_server), for holding a pull at a known point


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([str(EXE), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def finish(proc: subprocess.Popen[str], timeout: float = 600) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def one(home: Path, sql: str, params: list[Any] | None = None) -> Any:
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    con = Lake.from_settings(load_settings(home)).connect(read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def served() -> pa.Table:
    """Three synthetic weeks, each with one M6.2 in a member country (see bench/soak.py)."""
    return pa.concat_tables([Trial.of(k).rows(30 if k < 2 else 60) for k in range(3)])


@dataclass
class Service:
    url: str
    cache: Path
    trials: list[Trial]
    server: Any  # the running catalogs.fdsnws_server, for holding a pull at a known point


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, served: pa.Table) -> Iterator[Service]:
    """The local FDSN service serving the three weeks, and one reference-data cache for every home."""
    from catalogs.fdsnws_server import serve_events

    with serve_events(served) as server:
        yield Service(server.url, tmp_path_factory.mktemp("concurrency-cache"), [Trial.of(k) for k in range(3)], server)


def _home_with_weeks_0_1(root: Path, service: Service) -> Home:
    """A lake holding weeks 0 and 1 (not yet evaluated); week 2 is left for the pull."""
    from catalogs.ingest import ingest_solutions
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    write_config(root, service.url, service.cache)
    cfg = root / "qe.toml"  # a pull held by a test (see below) must not time out meanwhile
    cfg.write_text(cfg.read_text().replace("timeout_s = 20.0", "timeout_s = 600.0"))
    settings = load_settings(root)
    lake = Lake.from_settings(settings)
    lake.init()
    first_two = pa.concat_tables([t.rows(30) for t in service.trials[:2]])
    ingest_solutions(lake, first_two, "test", "weeks 0-1", "test://weeks", None, settings)
    return Home(root, service.url, service.trials, service.server)


@pytest.fixture
def fresh_home(tmp_path: Path, service: Service) -> Home:
    """Weeks 0 and 1 in a lake of this test's own, nothing evaluated."""
    return _home_with_weeks_0_1(tmp_path / "home", service)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, service: Service) -> Home:
    """Weeks 0 and 1, evaluated (one expedition per week's mainshock): shared by the tests that need
    expeditions, whatever ran before them."""
    from expedition.decisions.response.evaluate import evaluate_events
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    built = _home_with_weeks_0_1(tmp_path_factory.mktemp("concurrency") / "home", service)
    settings = load_settings(built.path)
    evaluate_events(Lake.from_settings(settings), settings)
    return built


@pytest.mark.slow
def test_two_evaluations_at_once_open_each_expedition_once(fresh_home: Home) -> None:
    home = fresh_home
    procs = [start(["evaluate", "--home", str(home.path)], LONG_WAIT) for _ in range(2)]
    results = [finish(p) for p in procs]
    for code, _, err in results:
        assert code == 0 and "Traceback" not in err, err
    outs = sorted(out for _, out, _ in results)
    assert outs[0].startswith("0 decision(s): nothing new")  # the second one waited, then found nothing to do
    assert "opened" in outs[1]
    exps = one(home.path, "SELECT DISTINCT expedition_id FROM expedition_versions ORDER BY 1")
    assert [e for (e,) in exps] == ["EXP-2024-AFG-001", "EXP-2024-ARG-001"]
    dup = one(home.path, "SELECT count(*) - count(DISTINCT decision_id), count(*) - count(DISTINCT event_id) "
                         "FROM trigger_decision_log")
    assert dup == [(0, 0)]
    undecided = one(home.path, "SELECT count(*) FROM events e WHERE NOT EXISTS "
                               "(SELECT 1 FROM trigger_decision_log d WHERE d.event_id = e.event_id)")
    assert undecided == [(0,)]
    for t in home.trials[:2]:  # each mainshock opened exactly one expedition
        assert expedition_of(home.path, t.mainshock_id) is not None


@pytest.mark.slow
def test_a_survey_ingest_during_a_pull_loses_nothing(home: Home, served: pa.Table, tmp_path: Path) -> None:
    week = home.trials[2]
    survey = tmp_path / "survey_during_pull.csv"
    survey.write_text(home.trials[0].survey_csv(300), encoding="utf-8")
    exp = expedition_of(home.path, home.trials[0].mainshock_id)
    assert exp is not None
    # The pull asks for one window a day and commits each before it asks for the next. The service
    # holds its first two requests until this test releases them, so the ingest runs to its end
    # after the pull committed its first window and before it commits the second: the two overlap.
    first, second = threading.Event(), threading.Event()
    home.server.faults.push("hold", gate=first)
    home.server.faults.push("hold", gate=second)
    held_before = len([r for r in home.server.requests if r.fault == "hold"])
    pulls_before = _commits(home.path, "catalogs.ingest")
    snapshot_before = one(home.path, "SELECT max(snapshot_id) FROM ducklake_snapshots('lake')")[0][0]
    pull = start(["catalog", "pull", "--provider", PROVIDER, "--starttime", week.start.isoformat(),
                  "--endtime", week.end.isoformat(), "--window-days", "1", "--home", str(home.path)], LONG_WAIT)
    try:
        _wait_for_held(home, pull, held_before + 1)
        first.set()  # window 1 answered: the pull commits it, then asks for window 2 (held)
        _wait_for_held(home, pull, held_before + 2)
        assert _commits(home.path, "catalogs.ingest") == pulls_before + 1, "the pull committed its first window"
        ingest = start(["survey", "ingest", str(survey), "--expedition", exp, "--kind", "buildings",
                        "--home", str(home.path)], LONG_WAIT)
        s_code, s_out, s_err = finish(ingest)
        assert pull.poll() is None, "the pull is still running (held at its second window)"
    finally:
        first.set()
        second.set()
    p_code, p_out, p_err = finish(pull)
    assert s_code == 0 and "Traceback" not in s_err, s_err
    assert p_code == 0 and "Traceback" not in p_err, p_err
    assert "300 rows read, 300 landed" in s_out
    expected = {r["provider_event_id"] for r in Trial.of(2).rows(60).to_pylist()}
    got = one(home.path, "SELECT provider_event_id FROM event_aliases WHERE provider = ? AND provider_event_id LIKE 'sk2-%'",
              [PROVIDER])
    assert sorted(g for (g,) in got) == sorted(expected)  # every event of the week, once
    assert one(home.path, "SELECT count(*) FROM survey_buildings_obs WHERE expedition_id = ? AND building_id LIKE 'T000-%'",
               [exp]) == [(300,)]
    # the survey's one commit lies between the pull's first and second commits
    snaps = one(home.path, "SELECT author FROM ducklake_snapshots('lake') WHERE snapshot_id > ? "
                           "AND author IN ('survey', 'catalogs.ingest') ORDER BY snapshot_id", [snapshot_before])
    authors = [a for (a,) in snaps]
    assert authors[:3] == ["catalogs.ingest", "survey", "catalogs.ingest"] and authors.count("survey") == 1, authors


def _commits(home: Path, author: str) -> int:
    return int(one(home, "SELECT count(*) FROM ducklake_snapshots('lake') WHERE author = ?", [author])[0][0])


def _wait_for_held(home: Home, proc: subprocess.Popen[str], n: int) -> None:
    """Until the service holds the ``n``-th held request (fails if the process ends first)."""
    deadline = time.monotonic() + 600  # a safety net: the loop ends on the request, not the clock
    while len([r for r in home.server.requests if r.fault == "hold"]) < n:
        assert proc.poll() is None, finish(proc)
        assert time.monotonic() < deadline, "the pull never asked"
        time.sleep(0.02)


@pytest.mark.slow
def test_a_writer_that_waits_too_long_gets_one_clear_line(home: Home, tmp_path: Path) -> None:
    from expedition.settings import load_settings
    from warehouse.errors import WarehouseBusy
    from warehouse.lake import Lake

    lake = Lake.from_settings(load_settings(home.path))
    survey = tmp_path / "survey_busy.csv"
    survey.write_text(home.trials[1].survey_csv(20), encoding="utf-8")
    exp = expedition_of(home.path, home.trials[1].mainshock_id)
    assert exp is not None
    before = one(home.path, "SELECT max(snapshot_id) FROM ducklake_snapshots('lake')")
    with lake.writer():  # this test holds the lake
        code, out, err = finish(start(["survey", "ingest", str(survey), "--expedition", exp, "--kind", "buildings",
                                       "--home", str(home.path)], {"QE_WRITER_WAIT_S": "1"}))
        assert code == 2 and "Traceback" not in err, err
        lines = [line for line in err.splitlines() if line.startswith("error: ")]
        assert len(lines) == 1 and lines == [err.strip().splitlines()[-1]]
        assert f"another writer holds the lake (pid {os.getpid()} since" in lines[0]
        assert "waited 1 s" in lines[0] and "QE_WRITER_WAIT_S" in lines[0]
        with pytest.raises(WarehouseBusy, match="another writer holds the lake"):  # the library says the same
            with lake.writer(wait_s=0.2):
                pass
        # a writer with a longer wait simply waits for the lock, then writes
        patient = tmp_path / "survey_patient.csv"
        patient.write_text(home.trials[1].survey_csv(25), encoding="utf-8")
        waiting = start(["survey", "ingest", str(patient), "--expedition", exp, "--kind", "buildings",
                         "--home", str(home.path)], LONG_WAIT)
        archived = home.path / "raw" / sha[:2] / sha / patient.name if (sha := _sha(patient)) else None
        deadline = time.monotonic() + 300
        while archived is not None and not archived.exists() and waiting.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)  # it archives its input first, then reads, validates and asks for the lock
        time.sleep(2.0)
        assert waiting.poll() is None, "it must still be waiting for the lock this test holds"
    code, out, err = finish(waiting)
    assert code == 0 and "25 rows read, 25 landed" in out, err
    after = one(home.path, "SELECT max(snapshot_id) FROM ducklake_snapshots('lake')")
    assert after[0][0] == before[0][0] + 1  # the refused run wrote nothing, the waiting one committed once


@pytest.mark.slow
def test_concurrent_pulls_of_one_span_store_each_event_once(home: Home) -> None:
    """Two pulls of the same week at once (a cron overlap): idempotent keys, one copy of each event."""
    week = home.trials[2]
    args = ["catalog", "pull", "--provider", PROVIDER, "--starttime", week.start.isoformat(),
            "--endtime", week.end.isoformat(), "--window-days", "3.5", "--home", str(home.path)]
    results = [finish(p) for p in [start(args, LONG_WAIT), start(args, LONG_WAIT)]]
    for code, _, err in results:
        assert code == 0 and "Traceback" not in err, err
    dups = one(home.path, "SELECT count(*) - count(DISTINCT event_id), (SELECT count(*) FROM event_aliases WHERE "
                          "event_id NOT IN (SELECT event_id FROM events)) FROM events")
    assert dups == [(0, 0)]
    per_event = one(home.path, "SELECT max(n) FROM (SELECT event_id, count(*) AS n FROM event_aliases GROUP BY 1)")
    assert per_event == [(1,)]  # one provider, one alias per event: nothing was associated twice
