"""Scale-out: several writer processes at once on a PostgreSQL-catalogued lake (real server, bench/servers.py).

Results (each in one run, on the same synthetic data as bench/soak.py):

* 3 concurrent writers of different catalog files: every event once, no writer refused;
* 8 concurrent survey ingests of different files: every row once;
* throughput of 4 concurrent survey-ingest writers vs 1 writer doing the same 4 files in turn
  (target >= 2x, judged when the machine's cores allow it: ``speedup_bound_by_cpu`` >= 2, i.e. cores x
  one writer's wall time / its CPU time; on fewer cores the line is information, with that bound);
* one writer's speed on a PostgreSQL catalog vs a SQLite catalog, same ingests (target within 1.5x);
* one survey file with 2 % of its rows in error, ``survey_issues`` fenced by expedition vs by issue id.

Measured 2026-12-03 on the shared 2-core machine (load average 4.6-8.2 from other jobs), full size:

=====================================================  ==================================================
3 catalog-file writers at once                         6,003 events once, 0 refused, 3 conflicts retried
8 survey ingests at once (one expedition)              40,000 rows once, 0 refused, 27 conflicts retried
4 writers vs 1, 4 expeditions                          3.32 s vs 1.42 s: 0.43x (missed; cores allow 1.68x)
4 writers vs 1, one expedition                         6.41 s vs 2.04 s: 0.32x (6 conflicts retried)
one writer, PostgreSQL vs SQLite                       3.08 s vs 2.63 s: time ratio 1.17 (held)
issues fenced by expedition vs by issue id             0.61 s vs 1.59 s: 2.6x
=====================================================  ==================================================

The throughput row is CPU-bound, not transaction-bound (0 conflicts): the single writer keeps 1.2
cores busy (writer 1.40 CPU-s + PostgreSQL 0.30 CPU-s in 1.42 s), so two cores allow at most 1.68x,
and four writers at once spend twice the CPU per ingest (docs/scale-out.md, "Why 4 writers ...").

Writers are worker processes (``python -m bench.bench_scale worker``): each imports its modules and
opens the lake, says ``ready``, waits for ``go`` on stdin, runs its jobs and prints one JSON line
(seconds, attempts). Timings start at ``go``, so process start-up is not counted on either side.
The same worker also serves the tests (``--announce`` prints ``committing`` when its transaction
reaches COMMIT, so a test can SIGKILL it mid-commit).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from bench.common import BenchResult
from bench.soak import PROVIDER, Trial, write_config

ROOT = Path(__file__).resolve().parents[1]


# --- the worker ---------------------------------------------------------------------------------------
class _Announce(logging.Handler):
    """Print ``committing`` on stdout when the lake's writer reaches COMMIT (test synchronisation)."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("committing"):
            sys.stdout.write("committing\n")
            sys.stdout.flush()


def run_job(lake: Any, settings: Any, job: str) -> dict[str, Any]:
    """Run one job: ``import:FILE``, ``survey:FILE:EXPEDITION`` or ``evaluate``."""
    kind, _, rest = job.partition(":")
    if kind == "import":
        from catalogs.ingest import import_file

        rep = import_file(lake, settings, Path(rest), provider=PROVIDER)
        return {"job": job, "new_events": rep.new_events, "already": rep.already_ingested}
    if kind == "survey":
        from expedition.surveys.ingest import ingest_survey_file

        path, _, exp = rest.rpartition(":")
        srep = ingest_survey_file(lake, settings, exp, Path(path), kind="buildings")
        return {"job": job, "rows_landed": srep.rows_landed, "already": srep.already_ingested}
    if kind == "evaluate":
        from expedition.decisions.response.evaluate import evaluate_events

        return {"job": job, "decisions": len(evaluate_events(lake, settings))}
    raise SystemExit(f"unknown job {job!r}")


def warm_surveys(lake: Any, settings: Any, jobs: Sequence[str]) -> None:
    """Read the survey jobs' expedition records once before the clock starts, as a worker that has
    served a request would have: the first read imports the hazard modules the survey area uses and
    loads the lake's catalog (about 0.4 CPU-s, once per process). Without it four fresh workers pay
    that four times and one worker once, and the comparison measures process start-up."""
    from expedition.surveys.context import context_for

    for job in jobs:
        kind, _, rest = job.partition(":")
        if kind == "survey":
            context_for(lake, rest.rpartition(":")[2], settings)


def fence_issues_by_id() -> None:
    """Claim ``survey_issues`` fences by issue-id bucket, as before 2026-12-03 (the ``issues`` part's
    baseline; this process only)."""
    import dataclasses

    from warehouse import tables

    tables._BY_NAME["survey_issues"] = dataclasses.replace(tables.spec("survey_issues"), fence_by="issue_id")


def worker(home: Path, jobs: Sequence[str], announce: bool, wait_go: bool) -> None:
    """Open the lake, say ``ready``, wait for ``go`` (stdin), run ``jobs`` in turn, print a JSON line."""
    if os.environ.get("QE_BENCH_ISSUES_FENCED_BY_ID") == "1":
        fence_issues_by_id()
    from expedition.decisions.response.assess import load_context
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    settings = load_settings(home)
    lake = Lake.from_settings(settings)
    if any(j.startswith("evaluate") for j in jobs):
        load_context(settings)  # reference data parsed before the clock starts
    lake.warm()
    warm_surveys(lake, settings, jobs)
    if announce:
        logging.getLogger("warehouse.lake").setLevel(logging.DEBUG)
        logging.getLogger("warehouse.lake").addHandler(_Announce())
    print("ready", flush=True)
    if wait_go:
        sys.stdin.readline()
    t0, c0 = time.perf_counter(), time.process_time()
    results = [run_job(lake, settings, job) for job in jobs]
    print(json.dumps({"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
                      "conflicts": lake.conflicts_retried, "results": results}), flush=True)


# --- running workers ------------------------------------------------------------------------------------
def worker_cmd(home: Path, jobs: Sequence[str], announce: bool = False, wait_go: bool = True) -> list[str]:
    cmd = [sys.executable, "-m", "bench.bench_scale", "worker", "--home", str(home)]
    cmd += [a for job in jobs for a in ("--job", job)]
    return cmd + (["--announce"] if announce else []) + ([] if wait_go else ["--no-wait"])


def worker_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("QE_HOME", None)
    return {**env, **(extra or {})}


@dataclass
class WorkerRun:
    code: int
    seconds: float
    cpu_seconds: float  # the worker process's CPU time (all its threads) from ``go`` to its end
    conflicts: int
    results: list[dict[str, Any]]
    stderr: str


def run_workers(home: Path, job_lists: Sequence[Sequence[str]], env: dict[str, str] | None = None,
                timeout: float = 900) -> tuple[float, list[WorkerRun]]:
    """Start one worker per job list, wait until all are ready, say ``go`` to all at once; returns the
    wall time from ``go`` to the last worker's end, and each worker's outcome."""
    procs = [subprocess.Popen(worker_cmd(home, jobs), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=worker_env(env), cwd=ROOT)
             for jobs in job_lists]
    for p in procs:
        assert p.stdout is not None
        line = p.stdout.readline()
        if line.strip() != "ready":
            err = p.stderr.read() if p.stderr else ""
            raise RuntimeError(f"worker did not start: {line!r} {err[-2000:]}")
    t0 = time.perf_counter()
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    runs = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        last = [line for line in out.splitlines() if line.startswith("{")]
        data = json.loads(last[-1]) if last else {"seconds": float("nan"), "cpu_seconds": float("nan"),
                                                  "conflicts": 0, "results": []}
        runs.append(WorkerRun(p.returncode, data["seconds"], data["cpu_seconds"], data["conflicts"], data["results"], err))
    return time.perf_counter() - t0, runs


# --- lakes for the benchmark ------------------------------------------------------------------------------
def make_home(root: Path, catalog: str | None, weeks: int = 2) -> Path:
    """An initialised lake (``catalog`` None: SQLite) with the first ``weeks`` weeks ingested and
    evaluated (one expedition each, for the surveys)."""
    from catalogs.ingest import ingest_solutions
    from expedition.decisions.response.evaluate import evaluate_events
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    home = root / "home"
    write_config(home, "http://127.0.0.1:9/fdsnws/event/1/", root.parent / "cache", catalog)
    settings = load_settings(home)
    lake = Lake.from_settings(settings)
    lake.init()
    rows = pa.concat_tables([Trial.of(k).rows(30) for k in range(weeks)])
    ingest_solutions(lake, rows, "test", f"weeks 0-{weeks - 1}", "test://weeks", None, settings)
    evaluate_events(lake, settings)
    return home


def quakeml_file(directory: Path, week: int, background: int) -> Path:
    from catalogs.quakeml_write import write_quakeml

    path = directory / f"week{week:03d}_{background}.xml"
    if not path.exists():
        path.write_bytes(write_quakeml(Trial.of(week).rows(background)))
    return path


def survey_files(directory: Path, trial: Trial, n_files: int, rows: int, tag: str = "", bad_every: int = 0) -> list[Path]:
    """``n_files`` survey files of ``trial``'s expedition with distinct building ids (``T000<tag>-nnnnn``);
    ``bad_every`` > 0 gives every such row an out-of-range damage grade (an error: the row is quarantined)."""
    out = []
    text = trial.survey_csv(rows * n_files).splitlines(keepends=True)
    header, body = text[0], text[1:]
    old, new = f"T{trial.number:03d}-", f"T{trial.number:03d}{tag}-"
    for i in range(n_files):
        path = directory / f"survey{tag}_{trial.number}_{i}_{rows}.csv"
        lines = [line.replace(old, new, 1) for line in body[i * rows:(i + 1) * rows]]
        if bad_every > 0:
            for j in range(0, len(lines), bad_every):
                cols = lines[j].split(",")
                cols[4] = "9"  # damage_grade: EMS-98 grades are 0-5
                lines[j] = ",".join(cols)
        path.write_text(header + "".join(lines), encoding="utf-8")
        out.append(path)
    return out


def scalar(home: Path, sql: str, params: list[Any] | None = None) -> Any:
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    con = Lake.from_settings(load_settings(home)).connect(read_only=True)
    try:
        row = con.execute(sql, params or []).fetchone()
    finally:
        con.close()
    return row[0] if row else None


def expedition_id(home: Path, trial: Trial) -> str:
    from bench.soak import expedition_of

    exp = expedition_of(home, trial.mainshock_id)
    if exp is None:
        raise RuntimeError(f"no expedition for trial {trial.number}")
    return exp


# --- the benchmark --------------------------------------------------------------------------------------
@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="qe-bench-scale-") as d:
        yield Path(d)


#: the benchmark's parts (``--part`` runs some of them)
PARTS = ("catalogs", "surveys", "throughput", "single", "issues")


def run(quick: bool = False, parts: Collection[str] = PARTS) -> list[BenchResult]:
    from bench.servers import postgres_missing, postgres_server

    why = postgres_missing()
    if why:
        print(f"bench_scale skipped: {why}", file=sys.stderr)
        return []
    survey_rows = 2_000 if quick else 20_000
    background = 200 if quick else 2_000
    results: list[BenchResult] = []
    with _workdir() as work, postgres_server() as pg:
        files = work / "files"
        files.mkdir()
        pg_home = make_home(work / "pg", pg.new_database("bench"), weeks=4)
        sq_home = make_home(work / "sqlite", None)
        exp = {h: expedition_id(h, Trial.of(0)) for h in (pg_home, sq_home)}

        # 1. three writers of different catalog files at once
        if "catalogs" in parts:
            weeks = [quakeml_file(files, w, background) for w in (10, 11, 12)]
            wall, runs = run_workers(pg_home, [[f"import:{p}"] for p in weeks])
            expected = 3 * (background + 1)
            got = scalar(pg_home, "SELECT count(*) FROM event_aliases WHERE provider_event_id SIMILAR TO 'sk1[012]-.*'")
            dups = scalar(pg_home, "SELECT count(*) - count(DISTINCT provider_event_id) FROM event_aliases")
            refused = sum(r.code != 0 for r in runs)
            results.append(BenchResult(
                "3 concurrent catalog-file writers (PostgreSQL catalog)", "every event once, no writer refused",
                wall, 0.0, float(got == expected and dups == 0 and refused == 0), "every event once, 0 refused",
                got == expected and dups == 0 and refused == 0, ratio_kind="1 = held",
                details={"events_expected": expected, "events_found": got, "duplicates": dups, "refused": refused,
                         "conflicts_retried": sum(r.conflicts for r in runs)},
            ))

        # 2. eight survey ingests at once (different files of one expedition)
        if "surveys" in parts:
            eight = survey_files(files, Trial.of(0), 8, survey_rows // 4, tag="eight")
            wall, runs = run_workers(pg_home, [[f"survey:{p}:{exp[pg_home]}"] for p in eight])
            landed = scalar(pg_home, "SELECT count(*) FROM survey_buildings_obs WHERE building_id LIKE 'T000eight-%'")
            distinct = scalar(pg_home, "SELECT count(DISTINCT building_id) FROM survey_buildings_obs "
                                       "WHERE building_id LIKE 'T000eight-%'")
            refused = sum(r.code != 0 for r in runs)
            ok = landed == distinct == 8 * (survey_rows // 4) and refused == 0
            results.append(BenchResult(
                "8 concurrent survey ingests (PostgreSQL catalog)", "all rows once", wall, 0.0, float(ok),
                "all rows once, 0 refused", ok, ratio_kind="1 = held",
                details={"rows_expected": 8 * (survey_rows // 4), "rows_found": landed, "distinct": distinct,
                         "refused": refused, "conflicts_retried": sum(r.conflicts for r in runs)},
            ))

        # 3. throughput: 4 writers at once vs 1 writer doing the same work in turn
        if "throughput" in parts:
            results += _throughput(pg, pg_home, files, survey_rows)

        # 4. one writer: PostgreSQL vs SQLite catalog, same ingests (survey files, then a catalog file)
        if "single" in parts:
            times: dict[Path, float] = {}
            for home, tag in ((sq_home, "sq"), (pg_home, "pg")):
                paths = survey_files(files, Trial.of(1), 3, survey_rows, tag=f"single{tag}")
                cat = quakeml_file(files, 20 if tag == "sq" else 21, background)
                exp_h = expedition_id(home, Trial.of(1))
                _, runs = run_workers(home, [[*(f"survey:{p}:{exp_h}" for p in paths), f"import:{cat}"]])
                if runs[0].code != 0:
                    raise RuntimeError(runs[0].stderr[-2000:])
                times[home] = runs[0].seconds
            ratio = times[pg_home] / times[sq_home]
            results.append(BenchResult(
                "one writer: PostgreSQL catalog vs SQLite catalog (3 survey files + 1 catalog file)", "SQLite catalog",
                times[pg_home], times[sq_home], ratio, "<= 1.5 (time ratio)", ratio <= 1.5,
                ratio_kind="time ratio (our time / baseline time)",
            ))

        # 5. one survey file with 2 % of its rows in error: survey_issues fenced by expedition vs by issue id
        if "issues" in parts:
            results += _issues(pg_home, files, survey_rows)
    return results


def _throughput(pg: Any, pg_home: Path, files: Path, survey_rows: int) -> list[BenchResult]:
    """4 writers at once vs 1 writer doing the same work in turn (fresh files each side): four field
    teams, each uploading a survey of its own expedition; then the same with one expedition."""
    results: list[BenchResult] = []
    # four field teams, each uploading a survey of its own expedition; then the same with one expedition
    teams = [Trial.of(k) for k in range(4)]
    exps = [expedition_id(pg_home, t) for t in teams]
    # untimed: a small file per expedition first, so that both sides find the same lake (the
    # expeditions' fence buckets, created by their first ingest, exist)
    firsts = [survey_files(files, t, 1, 10, tag="first")[0] for t in teams]
    run_workers(pg_home, [[f"survey:{f}:{e}" for f, e in zip(firsts, exps, strict=True)]])
    for label, four_of in (("4 expeditions", lambda i: (teams[i], exps[i])),
                           ("one expedition", lambda i: (teams[0], exps[0]))):
        tag = "t" if label == "4 expeditions" else "s"
        one_jobs, four_jobs = [], []
        for i in range(4):
            trial, exp_i = four_of(i)
            (one_path,) = survey_files(files, trial, 1, survey_rows, tag=f"{tag}one{i}")
            (four_path,) = survey_files(files, trial, 1, survey_rows, tag=f"{tag}four{i}")
            one_jobs.append(f"survey:{one_path}:{exp_i}")
            four_jobs.append([f"survey:{four_path}:{exp_i}"])
        load_before = os.getloadavg()[0]
        pg0 = pg.cpu_seconds()
        _, one_runs = run_workers(pg_home, [one_jobs])
        pg1 = pg.cpu_seconds()
        _, four_runs = run_workers(pg_home, four_jobs)
        pg2 = pg.cpu_seconds()
        if any(r.code != 0 for r in (*one_runs, *four_runs)):
            raise RuntimeError([r.stderr[-2000:] for r in (*one_runs, *four_runs) if r.code != 0])
        # both sides timed alike: from ``go`` to the end of the last job, by the workers' own clocks
        one_s, four_s = max(r.seconds for r in one_runs), max(r.seconds for r in four_runs)
        one_cpu, four_cpu = sum(r.cpu_seconds for r in one_runs), sum(r.cpu_seconds for r in four_runs)
        speedup = one_s / four_s
        cores = len(os.sched_getaffinity(0))
        # the most 4 writers can gain on these cores if they cost no more CPU than one: cores x the
        # single writer's wall time / its CPU time (writer + server). Below 2x the target cannot be
        # reached by any writer on this machine (docs/scale-out.md, "Why 4 writers ..."), so the line is
        # then reported for information, with the bound, instead of judged.
        bound = cores * one_s / max(one_cpu + pg1 - pg0, 1e-9)
        judged = label == "4 expeditions" and bound >= 2.0
        target = ">= 2x throughput" if bound >= 2.0 else f"info: >= 2x needs the cores (bound {bound:.2f}x here)"
        results.append(BenchResult(
            f"4 concurrent survey writers vs 1 writer, same work, {label} (PostgreSQL)",
            "1 writer, the 4 files in turn", four_s, one_s, speedup, target,
            speedup >= 2.0 if judged else None,
            details={"rows_per_file": survey_rows, "cores": cores,
                     "conflicts_retried": sum(r.conflicts for r in four_runs),
                     "one_writer_rows_per_s": 4 * survey_rows / one_s,
                     "four_writers_rows_per_s": 4 * survey_rows / four_s,
                     # CPU-seconds of the 4 ingests: the writer processes, and the PostgreSQL server
                     "one_writer_cpu_s": one_cpu, "four_writers_cpu_s": four_cpu,
                     "pg_cpu_s_one": pg1 - pg0, "pg_cpu_s_four": pg2 - pg1,
                     "speedup_bound_by_cpu": bound,
                     "load_average_1min": [load_before, os.getloadavg()[0]]},
        ))

    return results


def _issues(pg_home: Path, files: Path, survey_rows: int) -> list[BenchResult]:
    """One survey file with 2 % of its rows in error, one writer: ``survey_issues`` fenced by expedition
    vs by issue-id bucket (the fence before 2026-12-03), each side after an untimed small file."""
    results: list[BenchResult] = []
    trial = Trial.of(2)
    exp_i = expedition_id(pg_home, trial)
    seconds: dict[str, WorkerRun] = {}
    for side, env in (("by issue id", {"QE_BENCH_ISSUES_FENCED_BY_ID": "1"}), ("by expedition", {})):
        tag = "idf" if env else "exf"
        warm, timed = (survey_files(files, trial, 1, n, tag=f"{tag}{n}", bad_every=50)[0] for n in (500, survey_rows))
        run_workers(pg_home, [[f"survey:{warm}:{exp_i}"]], env=env)  # untimed: the side's fences exist
        _, runs = run_workers(pg_home, [[f"survey:{timed}:{exp_i}"]], env=env)
        if runs[0].code != 0:
            raise RuntimeError(runs[0].stderr[-2000:])
        seconds[side] = runs[0]
    new, old = seconds["by expedition"], seconds["by issue id"]
    results.append(BenchResult(
        f"one survey ingest, {survey_rows} rows, 2 % in error: survey_issues fenced by expedition (PostgreSQL)",
        "fenced by issue-id bucket (before)", new.seconds, old.seconds, old.seconds / new.seconds,
        "information", None,
        details={"cpu_s": new.cpu_seconds, "baseline_cpu_s": old.cpu_seconds,
                 "issues": survey_rows // 50, "load_average_1min": os.getloadavg()[0]},
    ))
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_scale", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd")
    w = sub.add_parser("worker", help="(internal) one writer process")
    w.add_argument("--home", type=Path, required=True)
    w.add_argument("--job", action="append", default=[])
    w.add_argument("--announce", action="store_true")
    w.add_argument("--no-wait", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--part", action="append", choices=PARTS, help="run only these parts (default: all)")
    args = ap.parse_args(argv)
    if args.cmd == "worker":
        worker(args.home, args.job, args.announce, not args.no_wait)
        return 0
    for r in run(args.quick, args.part or PARTS):
        print(json.dumps(r.as_dict(), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
