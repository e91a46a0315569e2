"""Crash soak: SIGKILL the pipeline at random moments, rerun it, and check the lake every time.

Usage::

    python -m bench.soak --trials 50            # `make soak`
    python -m bench.soak --trials 3 --quick     # about what tests/test_crash_soak.py runs

Each trial is one week of synthetic catalog (background events plus one M6.2 in a member country)
served by the real local FDSN event service (:mod:`catalogs.fdsnws_server`), and three steps run by
a *driver* process (``python -m bench.soak drive``): pull the week into the lake (window by window),
evaluate the pending events against the trigger policy (opens an expedition), ingest a building
survey of that expedition. With ``--via cli`` the driver runs each step as the real ``expedition``
command instead of a library call.

A trial starts the driver, kills its whole process group with SIGKILL after a random delay into one
step (the steps taken in turn; the delay drawn from the duration of that step in an uninterrupted run
of the same trial), opens the lake and checks it (no
partial rows: every event has its aliases, solutions and revisions; every survey batch has exactly
the rows it recorded; every expedition has its versions, audit and opening decision), then reruns
the driver to completion and checks again. At the end the soak lake must equal a reference lake
that ran every trial without interruption: same events, same expedition ids, same survey rows.

The summary table lists, per trial, where the kill landed (the last step the driver announced), what
had been committed, and whether the checks passed; the exit status is 1 on any violation or
divergence.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import importlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
PROVIDER = "SOAK"
FIRST_WEEK = dt.datetime(2024, 1, 8, tzinfo=dt.UTC)
WEEK = dt.timedelta(days=7)
#: Mainshock sites inside countries that are members in 2024 (cities, checked against Natural Earth;
#: see expedition/data/alliance_membership_APPROXIMATION.csv), far enough apart that their
#: Gardner-Knopoff windows (about 56 km for M6.2) never overlap. After 24 trials a site comes back
#: within the time window: that mainshock joins the earlier expedition instead of opening one.
SITES: tuple[tuple[str, float, float], ...] = (
    ("AFG", 34.52, 69.18), ("ARG", -31.54, -68.53), ("ARM", 40.18, 44.51), ("CHL", -33.45, -70.66),
    ("CHN", 30.66, 104.06), ("IRN", 29.10, 58.36), ("PAK", 33.69, 73.04), ("KGZ", 42.87, 74.59),
    ("TJK", 38.56, 68.78), ("MMR", 21.97, 96.08), ("MNG", 47.92, 106.92), ("KHM", 11.55, 104.92),
    ("ETH", 9.03, 38.74), ("KAZ", 43.24, 76.95), ("UZB", 41.31, 69.24), ("CRI", 9.93, -84.08),
    ("NIC", 12.13, -86.25), ("LAO", 17.97, 102.63), ("CUB", 20.02, -75.82), ("EGY", 30.04, 31.24),
    ("SAU", 24.71, 46.68), ("TKM", 37.95, 58.38), ("BLR", 53.90, 27.56), ("HUN", 47.50, 19.04),
)
WINDOW_DAYS = 3.5  # two pull windows (two lake transactions) per trial week
SURVEY_HEADER = "building_id,surveyed_time,latitude,longitude,damage_grade,storeys,material,notes\n"
MATERIALS = ("MUR", "CR", "W", "MCF", "S")


# --- synthetic data ------------------------------------------------------------------------------
def synthetic_rows(n: int, start: dt.datetime, days: float, seed: int, provider: str = PROVIDER,
                   majors: tuple[tuple[float, float, float, float], ...] = ()) -> pa.Table:
    """``n`` background solution rows (M3-5, far from each other in time) in ``[start, start+days)``,
    plus ``majors`` given as ``(offset_days, latitude, longitude, magnitude)``; deterministic in ``seed``.

    Ids are ``sk<seed>-<nnnn>`` (majors: ``sk<seed>-m<k>``). Background events lie in the open ocean
    band (latitude -55..-40), so they never trigger and never associate with each other."""
    from catalogs.rows import SOLUTION_ROW_SCHEMA

    rng = np.random.default_rng(seed)
    span_us = int(days * 86_400e6)
    slots = np.sort(rng.choice(span_us // 120_000_000, size=n, replace=False)) * 120_000_000  # >= 2 min apart
    base = int(start.timestamp() * 1e6)
    rows: list[dict[str, Any]] = []
    for i, off in enumerate(slots.tolist()):
        rows.append(_row(provider, f"sk{seed}-{i:04d}", base + off, float(rng.uniform(-55, -40)),
                         float(rng.uniform(-179, 179)), float(np.round(rng.uniform(3.0, 5.0), 1)),
                         float(np.round(rng.uniform(5, 60), 1))))
    for k, (off_days, lat, lon, mag) in enumerate(majors):
        rows.append(_row(provider, f"sk{seed}-m{k}", base + int(off_days * 86_400e6) + 7_000_000, lat, lon, mag, 12.0))
    rows.sort(key=lambda r: r["origin_time_utc"])
    return pa.Table.from_pylist(rows, schema=SOLUTION_ROW_SCHEMA)


def _row(provider: str, eid: str, t_us: int, lat: float, lon: float, mag: float, depth: float) -> dict[str, Any]:
    when = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=t_us)
    return {
        "provider": provider, "provider_event_id": eid, "origin_time_utc": when,
        "origin_latitude_deg": round(lat, 4), "origin_longitude_deg": round(lon, 4), "origin_depth_km": depth,
        "magnitude_value": mag, "magnitude_type": "mww" if mag >= 5.5 else "mb", "magnitude_author": "us",
        "origin_agency": "us", "review_status": "reviewed", "event_type": "earthquake",
        "region_name": f"soak region {eid}", "updated_time_utc": when + dt.timedelta(hours=1),
        "alias_ids": [], "source_ref": f"soak#{eid}",
    }


@dataclass(frozen=True)
class Trial:
    """One week of catalog and the survey of its mainshock."""

    number: int
    start: dt.datetime
    end: dt.datetime
    iso3: str
    latitude: float
    longitude: float
    magnitude: float = 6.2

    @classmethod
    def of(cls, number: int) -> Trial:
        iso3, lat, lon = SITES[number % len(SITES)]
        start = FIRST_WEEK + number * WEEK
        return cls(number, start, start + WEEK, iso3, lat, lon)

    @property
    def mainshock_id(self) -> str:
        return f"sk{self.number}-m0"

    @property
    def mainshock_time(self) -> dt.datetime:
        return self.start + dt.timedelta(days=3.5, seconds=7)

    def rows(self, n_background: int) -> pa.Table:
        return synthetic_rows(n_background, self.start, 7.0, self.number,
                              majors=((3.5, self.latitude, self.longitude, self.magnitude),))

    def survey_csv(self, n_rows: int) -> str:
        """A building survey of ``n_rows`` around the mainshock, one to three days after it."""
        rng = np.random.default_rng(1000 + self.number)
        lines = [SURVEY_HEADER]
        for i in range(n_rows):
            when = self.mainshock_time + dt.timedelta(days=1 + 2 * float(rng.random()))
            lines.append(
                f"T{self.number:03d}-{i:05d},{when:%Y-%m-%dT%H:%M:%S}Z,"
                f"{self.latitude + rng.uniform(-0.1, 0.1):.5f},{self.longitude + rng.uniform(-0.1, 0.1):.5f},"
                f"{int(rng.integers(0, 6))},{int(rng.integers(1, 6))},{MATERIALS[int(rng.integers(0, 5))]},soak\n"
            )
        return "".join(lines)


# --- homes ------------------------------------------------------------------------------------
def write_config(home: Path, url: str, cache_dir: Path, lake_catalog: str | None = None) -> None:
    """``qe.toml`` of a soak home: the local provider without throttling, quick retries, a shared cache
    (and the lake's catalog when it is not the default SQLite one)."""
    home.mkdir(parents=True, exist_ok=True)
    text = (
        (f"lake_catalog = {json.dumps(lake_catalog)}\n\n" if lake_catalog else "")
        + f'[[providers]]\nname = "{PROVIDER}"\nurl = "{url}"\npriority = 10\nmin_interval_s = 0.0\n'
        "timeout_s = 20.0\nmax_events_per_request = 20000\nsupports_updatedafter = false\n\n"
        "[pull]\nretry_attempts = 3\nretry_base_s = 0.05\nretry_max_s = 0.2\n\n"
        f"[response]\ncache_dir = {json.dumps(str(cache_dir))}\n"
    )
    tmp = home / ".qe.toml.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, home / "qe.toml")


def warm_cache(home: Path) -> None:
    """Build the parsed reference data (countries, places) the evaluation reads, in the shared cache."""
    from expedition.decisions.response.assess import load_context
    from expedition.settings import load_settings

    load_context(load_settings(home))


def init_home(home: Path) -> None:
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    Lake.from_settings(load_settings(home)).init()


# --- the steps of a trial (in the driver the soak kills, or in-process for reruns) --------------
STEPS = ("pull", "evaluate", "survey")


def announce(step: str) -> None:
    """Tell the parent which step starts (it reads the driver's stdout)."""
    sys.stdout.write(f"step {step}\n")
    sys.stdout.flush()


def survey_file(home: Path, trial: Trial, survey_rows: int) -> Path:
    """The trial's survey CSV beside ``home`` (written once, atomically)."""
    path = home.parent / f"survey_trial{trial.number:03d}_{survey_rows}.csv"
    if not path.is_file():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(trial.survey_csv(survey_rows), encoding="utf-8")
        os.replace(tmp, path)
    return path


def run_steps(home: Path, trial: Trial, survey_rows: int, via: str = "lib",
              on_step: Any = None) -> None:
    """Pull the trial's week, evaluate pending events, ingest its survey. Idempotent: running it again
    after a kill completes what the killed run left undone and duplicates nothing."""
    from catalogs.pull import pull_provider
    from expedition.decisions.response.evaluate import evaluate_events
    from expedition.settings import load_settings
    from expedition.surveys.ingest import ingest_survey_file
    from warehouse.lake import Lake

    step = on_step or (lambda _s: None)
    survey = survey_file(home, trial, survey_rows)
    settings = load_settings(home)
    lake = Lake.from_settings(settings)
    step("pull")
    if via == "cli":
        _cli("catalog", "pull", "--provider", PROVIDER, "--starttime", trial.start.isoformat(),
             "--endtime", trial.end.isoformat(), "--window-days", str(WINDOW_DAYS), "--home", str(home))
    else:
        pull_provider(lake, settings, PROVIDER, trial.start, trial.end,
                      initial_window=dt.timedelta(days=WINDOW_DAYS))
    step("evaluate")
    if via == "cli":
        _cli("evaluate", "--home", str(home))
    else:
        evaluate_events(lake, settings)
    step("survey")
    exp_id = expedition_of(home, trial.mainshock_id)
    if exp_id is None:
        raise RuntimeError(f"trial {trial.number}: no expedition holds the mainshock {trial.mainshock_id}")
    if via == "cli":
        _cli("survey", "ingest", str(survey), "--expedition", exp_id, "--kind", "buildings", "--home", str(home))
    else:
        ingest_survey_file(lake, settings, exp_id, survey, kind="buildings")
    step("done")


def drive(home: Path, trial: Trial, survey_rows: int, via: str = "lib") -> None:
    """The driver process: import everything, say ``ready``, run the steps announcing each."""
    if via == "lib":  # import and load the reference data before "ready", so that every kill lands in real work
        for module in ("catalogs.pull", "expedition.decisions.response.evaluate", "expedition.surveys.ingest"):
            importlib.import_module(module)
        warm_cache(home)
    announce("ready")
    run_steps(home, trial, survey_rows, via, announce)


def _cli(*args: str) -> None:
    exe = Path(sys.executable).parent / "expedition"
    done = subprocess.run([str(exe), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"expedition {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")


def expedition_of(home: Path, provider_event_id: str) -> str | None:
    """The expedition whose sequence holds the event known to the provider as ``provider_event_id``."""
    with _read(home) as con:
        row = con.execute(
            "SELECT x.expedition_id FROM expedition_events x JOIN event_aliases a ON a.event_id = x.event_id "
            "WHERE a.provider = ? AND a.provider_event_id = ? ORDER BY x.expedition_id LIMIT 1",
            [PROVIDER, provider_event_id],
        ).fetchone()
    return str(row[0]) if row else None


# --- checks ---------------------------------------------------------------------------------------
@contextlib.contextmanager
def _read(home: Path) -> Iterator[Any]:
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    con = Lake.from_settings(load_settings(home)).connect(read_only=True)
    try:
        yield con
    finally:
        con.close()


#: (what must hold, SQL counting the rows that break it). Read-only, on one snapshot.
INVARIANTS: tuple[tuple[str, str], ...] = (
    ("every event has an alias",
     "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM event_aliases a WHERE a.event_id = e.event_id)"),
    ("every event has a solution",
     "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM event_solutions s WHERE s.event_id = e.event_id)"),
    ("every event has all its revisions 1..n",
     "SELECT count(*) FROM events e WHERE e.event_revision <> (SELECT count(DISTINCT r.event_revision) "
     "FROM event_revisions r WHERE r.event_id = e.event_id AND r.event_revision <= e.event_revision)"),
    ("no alias, solution or revision without its event",
     "SELECT (SELECT count(*) FROM event_aliases a WHERE a.event_id NOT IN (SELECT event_id FROM events)) + "
     "(SELECT count(*) FROM event_solutions s WHERE s.event_id NOT IN (SELECT event_id FROM events)) + "
     "(SELECT count(*) FROM event_revisions r WHERE r.event_id NOT IN (SELECT event_id FROM events))"),
    ("every event's batch is recorded",
     "SELECT count(*) FROM events e WHERE e.ingest_batch_id NOT IN (SELECT batch_id FROM ingest_batches)"),
    ("every survey batch holds exactly the rows it recorded",
     "SELECT count(*) FROM ingest_batches b WHERE b.batch_kind = 'survey_file' AND b.rows_written <> "
     "(SELECT count(*) FROM survey_buildings_obs o WHERE o.ingest_batch_id = b.batch_id)"),
    ("no survey row without its batch",
     "SELECT count(*) FROM survey_buildings_obs o WHERE o.ingest_batch_id NOT IN (SELECT batch_id FROM ingest_batches)"),
    ("every expedition has its audit rows",
     "SELECT count(*) FROM expedition_versions v WHERE NOT EXISTS (SELECT 1 FROM expedition_audit a "
     "WHERE a.expedition_id = v.expedition_id AND a.expedition_version = v.expedition_version)"),
    ("every expedition was opened by a logged decision",
     "SELECT count(DISTINCT v.expedition_id) FROM expedition_versions v WHERE NOT EXISTS (SELECT 1 FROM "
     "trigger_decision_log d WHERE d.expedition_id = v.expedition_id AND d.decision = 'opened')"),
    ("every expedition holds its opening event",
     "SELECT count(DISTINCT v.expedition_id) FROM expedition_versions v WHERE NOT EXISTS (SELECT 1 FROM "
     "expedition_events x WHERE x.expedition_id = v.expedition_id)"),
    ("no event in two expeditions",
     "SELECT count(*) FROM (SELECT event_id FROM expedition_events GROUP BY event_id HAVING count(DISTINCT expedition_id) > 1)"),
    ("no decision taken twice",
     "SELECT count(*) - count(DISTINCT decision_id) FROM trigger_decision_log"),
)


def check(home: Path) -> list[str]:
    """The invariants that do not hold (empty when the lake is consistent); opening must work."""
    failures: list[str] = []
    try:
        with _read(home) as con:
            for what, sql in INVARIANTS:
                row = con.execute(sql).fetchone()
                bad = int(row[0]) if row and row[0] is not None else 0
                if bad:
                    failures.append(f"{what}: {bad} violation(s)")
    except Exception as exc:  # the lake must always open; anything else is a finding
        failures.append(f"the lake does not open: {type(exc).__name__}: {exc}")
    return failures


def state(home: Path) -> dict[str, Any]:
    """What an uninterrupted run and a killed-and-rerun one must agree on."""
    def digest(rows: list[tuple[Any, ...]]) -> str:
        return hashlib.sha256(repr(sorted(rows)).encode()).hexdigest()[:16]

    with _read(home) as con:
        events = con.execute("SELECT event_id, magnitude_value, event_revision FROM events").fetchall()
        aliases = con.execute("SELECT provider, provider_event_id, event_id FROM event_aliases").fetchall()
        exps = con.execute("SELECT DISTINCT expedition_id FROM expedition_versions").fetchall()
        members = con.execute("SELECT expedition_id, event_id FROM expedition_events").fetchall()
        decisions = con.execute("SELECT decision_id, decision, expedition_id FROM trigger_decision_log").fetchall()
        survey = con.execute(
            "SELECT expedition_id, building_id, damage_ems98_grade, typology_storeys_count FROM survey_buildings_obs"
        ).fetchall()
    return {
        "events": len(events), "events_digest": digest(events), "aliases": len(aliases),
        "aliases_digest": digest(aliases), "expeditions": sorted(str(e[0]) for e in exps),
        "sequence_digest": digest(members), "decisions": len(decisions), "decisions_digest": digest(decisions),
        "survey_rows": len(survey), "survey_digest": digest(survey),
    }


def committed(home: Path) -> str:
    """A short description of what the lake holds (for the summary table)."""
    with _read(home) as con:
        def n(sql: str) -> int:
            row = con.execute(sql).fetchone()
            return int(row[0]) if row else 0

        return (f"{n('SELECT count(*) FROM events')} ev, "
                f"{n('SELECT count(DISTINCT expedition_id) FROM expedition_versions')} exp, "
                f"{n('SELECT count(*) FROM survey_buildings_obs')} svy")


# --- the soak ------------------------------------------------------------------------------------
@dataclass
class TrialResult:
    number: int
    delay_s: float  # after the driver announced `aimed_at`
    killed_in: str  # the last step the driver announced before it died (or "finished")
    after_kill: str
    aimed_at: str = ""
    step_s: float = 0.0  # how long that step took in the reference run
    problems: list[str] = field(default_factory=list)
    rerun_s: float = 0.0


def _driver_cmd(home: Path, trial: Trial, survey_rows: int, via: str) -> list[str]:
    return [sys.executable, "-m", "bench.soak", "drive", "--home", str(home), "--trial", str(trial.number),
            "--survey-rows", str(survey_rows), "--via", via]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("QE_HOME", None)
    return env


def kill_driver(home: Path, trial: Trial, survey_rows: int, via: str, step: str, delay_s: float,
                start_timeout_s: float = 600.0) -> str:
    """Start the driver; once it announces ``step``, SIGKILL its whole process group after ``delay_s``.
    Returns the last step it announced (``finished`` when it completed first)."""
    proc = subprocess.Popen(_driver_cmd(home, trial, survey_rows, via), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=_env(), cwd=ROOT, start_new_session=True)
    steps: list[str] = []
    reached = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("step "):
                steps.append(line.split(" ", 1)[1].strip())
                if steps[-1] == step:
                    reached.set()
        reached.set()  # end of output: the driver finished or died

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        reached.wait(start_timeout_s)
        proc.wait(timeout=delay_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        reader.join(timeout=10)
        if proc.stdout:
            proc.stdout.close()
    if not steps or steps[-1] == "ready":
        return "start-up" if not steps else "ready"
    return "finished" if steps[-1] == "done" else steps[-1]


@dataclass
class SoakReport:
    trials: list[TrialResult]
    reference: dict[str, Any]
    soaked: dict[str, Any]
    divergence: list[str]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.divergence and all(not t.problems for t in self.trials)

    def table(self) -> str:
        lines = [f"{'trial':>5} {'kill (s into step)':>26} {'died in':<9} {'lake after the kill':<26} result", "-" * 80]
        for t in self.trials:
            verdict = "ok" if not t.problems else "FAIL: " + "; ".join(t.problems)
            kill = f"{t.delay_s:.2f}/{t.step_s:.2f} s of {t.aimed_at}"
            lines.append(f"{t.number:>5} {kill:>26} {t.killed_in:<9} {t.after_kill:<26} {verdict}")
        where: dict[str, int] = {}
        for t in self.trials:
            where[t.killed_in] = where.get(t.killed_in, 0) + 1
        lines.append("-" * 80)
        lines.append("kills by step: " + ", ".join(f"{k} {v}" for k, v in sorted(where.items())))
        lines.append(f"reference: {self.reference.get('events')} events, {len(self.reference.get('expeditions', []))} "
                     f"expeditions, {self.reference.get('survey_rows')} survey rows")
        lines.append("converged: " + ("yes, same events, expedition ids, decisions and survey rows"
                                      if not self.divergence else "NO: " + "; ".join(self.divergence)))
        lines.append(f"{len(self.trials)} trials in {self.seconds:.0f} s: {'PASS' if self.ok else 'FAIL'}")
        return "\n".join(lines)


class Reference:
    """The uninterrupted run, in its own process beside the soak (two cores: twice as fast).

    It prints ``trial <k> <seconds>`` as each trial completes and ``state <json>`` at the end."""

    def __init__(self, home: Path, trials: int, survey_rows: int, via: str) -> None:
        self.durations: dict[int, dict[str, float]] = {}  # trial -> seconds of each step
        self.final: dict[str, Any] | None = None
        self.error = ""
        self._cond = threading.Condition()
        cmd = [sys.executable, "-m", "bench.soak", "reference", "--home", str(home), "--trials", str(trials),
               "--survey-rows", str(survey_rows), "--via", via]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            kind, _, rest = line.strip().partition(" ")
            with self._cond:
                if kind == "trial":
                    k, spans = rest.split(" ", 1)
                    self.durations[int(k)] = json.loads(spans)
                elif kind == "state":
                    self.final = json.loads(rest)
                self._cond.notify_all()
        self.proc.wait()
        with self._cond:
            self.error = (self.proc.stderr.read() if self.proc.stderr else "")[-1500:] if self.proc.returncode else ""
            self._cond.notify_all()

    def duration(self, k: int, timeout: float = 1800) -> dict[str, float]:
        """Seconds of each step of the reference's trial ``k`` (waits for it)."""
        with self._cond:
            self._cond.wait_for(lambda: k in self.durations or self.proc.poll() is not None, timeout)
            if k not in self.durations:
                raise RuntimeError(f"the reference run failed before trial {k}: {self.error}")
            return self.durations[k]

    def state(self, timeout: float = 1800) -> dict[str, Any]:
        self._reader.join(timeout)
        if self.final is None:
            raise RuntimeError(f"the reference run failed: {self.error}")
        return self.final


def _mark(marks: list[tuple[str, float]], step: str) -> None:
    marks.append((step, time.perf_counter()))


def reference_run(home: Path, trials: int, survey_rows: int, via: str) -> None:
    """The ``reference`` sub-command: init ``home`` and run every trial without interruption."""
    init_home(home)
    if via == "lib":
        warm_cache(home)  # as the driver does before it says "ready": the timings compare like with like
    for trial in (Trial.of(i) for i in range(trials)):
        marks: list[tuple[str, float]] = []
        run_steps(home, trial, survey_rows, via, partial(_mark, marks))
        spans = {a: round(tb - ta, 3) for (a, ta), (_, tb) in zip(marks, marks[1:])}
        print(f"trial {trial.number} " + json.dumps(spans), flush=True)
    print("state " + json.dumps(state(home)), flush=True)


def soak(trials: int, workdir: Path, *, seed: int = 20241, background: int = 120, survey_rows: int = 400,
         via: str = "lib", log: Any = None, backend: str = "sqlite") -> SoakReport:
    """Run ``trials`` kill-and-rerun trials against a soak lake and compare with a reference lake.

    The reference lake runs every trial uninterrupted in a second process, at the same time; the
    soak lake's trials run in a driver process killed after a random delay (uniform between zero and
    the reference's time for the step aimed at: trial ``k`` aims at step ``k mod 3``, so any three
    trials kill once inside each of pull, evaluate and survey), then are rerun here to completion.

    ``backend="postgres"``: both lakes keep their catalog in a PostgreSQL server started for the
    soak (bench/servers.py), with no writer lock."""
    from catalogs.fdsnws_server import serve_events

    say = log or (lambda _msg: None)
    t_start = time.perf_counter()
    rng = random.Random(seed)
    plan = [Trial.of(i) for i in range(trials)]
    rows = pa.concat_tables([t.rows(background) for t in plan])
    ref_home, soak_home, cache = workdir / "reference" / "home", workdir / "soak" / "home", workdir / "cache"
    results: list[TrialResult] = []
    with contextlib.ExitStack() as stack:
        catalogs: dict[Path, str | None] = {ref_home: None, soak_home: None}
        if backend == "postgres":
            from bench.servers import postgres_server

            pg = stack.enter_context(postgres_server())
            catalogs = {home: pg.new_database("soak") for home in catalogs}
        server = stack.enter_context(serve_events(rows))
        for home in (ref_home, soak_home):
            write_config(home, server.url, cache, catalogs[home])
        init_home(soak_home)
        warm_cache(soak_home)  # the shared cache of countries and places is built once, before the reference starts
        reference = Reference(ref_home, trials, survey_rows, via)
        try:
            for trial in plan:
                spans = reference.duration(trial.number)
                step = STEPS[trial.number % len(STEPS)]  # in turn: every step gets kills, however short it is
                delay = rng.uniform(0.0, 1.0) * spans.get(step, 0.0)
                killed_in = kill_driver(soak_home, trial, survey_rows, via, step, delay)
                result = TrialResult(trial.number, delay, killed_in, committed(soak_home), aimed_at=step,
                                     step_s=spans.get(step, 0.0))
                result.problems += [f"after the kill: {p}" for p in check(soak_home)]
                t0 = time.perf_counter()
                try:
                    run_steps(soak_home, trial, survey_rows, via)
                except Exception as exc:  # a rerun that cannot complete is a finding, not a crash of the soak
                    result.problems.append(f"the rerun failed: {type(exc).__name__}: {exc}")
                result.rerun_s = time.perf_counter() - t0
                result.problems += [f"after the rerun: {p}" for p in check(soak_home)]
                results.append(result)
                say(f"trial {trial.number}: killed {delay:.2f} s into {step} (reference {result.step_s:.2f} s), "
                    f"in {killed_in}: {'ok' if not result.problems else result.problems}")
            ref_state = reference.state()
        finally:
            if reference.proc.poll() is None:
                reference.proc.kill()
                reference.proc.wait()
        soaked = state(soak_home)
    divergence = [f"{k}: reference {ref_state[k]!r} vs soak {soaked.get(k)!r}" for k in ref_state
                  if ref_state[k] != soaked.get(k)]
    return SoakReport(results, ref_state, soaked, divergence, time.perf_counter() - t_start)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd")
    d = sub.add_parser("drive", help="(internal) run one trial's steps against a home")
    d.add_argument("--home", type=Path, required=True)
    d.add_argument("--trial", type=int, required=True)
    d.add_argument("--survey-rows", type=int, default=400)
    d.add_argument("--via", choices=("lib", "cli"), default="lib")
    r = sub.add_parser("reference", help="(internal) run every trial uninterrupted against a home")
    r.add_argument("--home", type=Path, required=True)
    r.add_argument("--trials", type=int, required=True)
    r.add_argument("--survey-rows", type=int, default=400)
    r.add_argument("--via", choices=("lib", "cli"), default="lib")
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--seed", type=int, default=20241)
    ap.add_argument("--background", type=int, default=120, help="background events per trial week")
    ap.add_argument("--survey-rows", type=int, default=400)
    ap.add_argument("--via", choices=("lib", "cli"), default="lib",
                    help="driver steps as library calls (lib) or as `expedition` commands (cli)")
    ap.add_argument("--quick", action="store_true", help="small trials (for the test suite)")
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite",
                    help="the lakes' catalog: SQLite (writer lock) or a PostgreSQL server started for the soak")
    ap.add_argument("--workdir", type=Path, default=None, help="keep the lakes here (default: a temp dir)")
    args = ap.parse_args(argv)
    if args.cmd == "drive":
        drive(args.home, Trial.of(args.trial), args.survey_rows, args.via)
        return 0
    if args.cmd == "reference":
        reference_run(args.home, args.trials, args.survey_rows, args.via)
        return 0
    if args.quick:
        args.background, args.survey_rows = min(args.background, 40), min(args.survey_rows, 120)
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="qe-soak-")))
        report = soak(args.trials, workdir, seed=args.seed, background=args.background,
                      survey_rows=args.survey_rows, via=args.via, backend=args.backend,
                      log=lambda m: print(m, file=sys.stderr, flush=True))
    print(report.table())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
