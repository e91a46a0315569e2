"""The lake on a real PostgreSQL 15 catalog (and moto's S3 server for the data path): several writer
processes at once end with every row exactly once; a writer killed mid-commit leaves nothing partial.

The servers run on 127.0.0.1, started once per session (tests/conftest.py, bench/servers.py); each
test has its own database. Writers are real processes (bench/bench_scale.py workers, or the
``expedition`` command).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from bench.bench_scale import (
    expedition_id,
    make_home,
    quakeml_file,
    run_workers,
    scalar,
    survey_files,
    worker_cmd,
    worker_env,
)
from bench.soak import PROVIDER, Trial, check

EXE = Path(sys.executable).parent / "expedition"


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, **env})


def in_process(home: Path, job: str) -> dict[str, Any]:
    """Run a worker's job in this process (a rerun, a final evaluation)."""
    from bench.bench_scale import run_job
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    settings = load_settings(home)
    return run_job(Lake.from_settings(settings), settings, job)


@pytest.mark.slow
def test_postgres_catalog_with_s3_data_end_to_end(postgres_server: Any, s3_server: Any, tmp_path: Path) -> None:
    """`expedition init`/`status` name the backend; a catalog file lands with its Parquet files in the bucket."""
    bucket = s3_server.new_bucket()
    home = tmp_path / "home"
    env = {"QE_HOME": str(home), "QE_LAKE_CATALOG": postgres_server.new_database(),
           "QE_LAKE_DATA_PATH": f"s3://{bucket}/lake/", **s3_server.env()}
    done = cli(["init"], env)
    assert done.returncode == 0, done.stderr
    assert "PostgreSQL catalog (concurrent writers, optimistic)" in done.stdout
    assert f"data on S3-compatible object storage s3://{bucket}/lake/" in done.stdout
    week = quakeml_file(tmp_path, 3, 40)
    done = cli(["catalog", "import", str(week), "--provider", PROVIDER], env)
    assert done.returncode == 0, done.stderr
    assert "41 rows -> 41 new" in done.stdout
    done = cli(["status", "--json"], env)
    assert done.returncode == 0, done.stderr
    import json

    st = json.loads(done.stdout)
    assert (st["catalog_kind"], st["storage_kind"], st["concurrent_writers"]) == ("postgres", "s3", True)
    assert {t["table"]: t["rows"] for t in st["tables"]}["events"] == 41
    objects = s3_server.objects(bucket)
    assert any(k.startswith("lake/main/events/") and k.endswith(".parquet") for k in objects), objects
    done = cli(["query", "SELECT count(DISTINCT event_id) AS n FROM events", "--format", "csv"], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ['"n"', "41"]


def test_the_sqlite_backend_keeps_its_lock(tmp_path: Path) -> None:
    from warehouse.lake import Lake

    lake = Lake(tmp_path, f"sqlite:{tmp_path / 'lake' / 'catalog.sqlite'}", str(tmp_path / "data"))
    assert not lake.backend.concurrent_writers
    assert lake.backend.describe().startswith("SQLite catalog (one writer at a time, file lock)")
    pg = Lake(tmp_path, "postgres:host=db dbname=lake user=qe password=s3cret", str(tmp_path / "data"))
    assert pg.backend.concurrent_writers and "s3cret" not in pg.backend.describe()
    assert "password=***" in pg.backend.describe()


@pytest.fixture(scope="module")
def pg_home(postgres_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A PostgreSQL-catalogued lake with weeks 0-1 evaluated (two expeditions) and weeks 2-3 pending."""
    from catalogs.ingest import ingest_solutions
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    root = tmp_path_factory.mktemp("pg-writers")
    home = make_home(root, postgres_server.new_database())
    settings = load_settings(home)
    rows = pa.concat_tables([Trial.of(k).rows(20) for k in (2, 3)])
    ingest_solutions(Lake.from_settings(settings), rows, "test", "weeks 2-3", "test://weeks", None, settings)
    yield home


@pytest.mark.slow
def test_many_writers_at_once_land_every_row_once(pg_home: Path, tmp_path: Path) -> None:
    """Two evaluations, the same catalog file twice plus another, the same survey twice plus another:
    eight processes at once, no lock; every one succeeds, every row lands once."""
    exp0, exp1 = expedition_id(pg_home, Trial.of(0)), expedition_id(pg_home, Trial.of(1))
    week4, week5 = quakeml_file(tmp_path, 4, 30), quakeml_file(tmp_path, 5, 30)
    (survey_a,) = survey_files(tmp_path, Trial.of(0), 1, 150, tag="a")
    (survey_b,) = survey_files(tmp_path, Trial.of(1), 1, 90, tag="b")
    jobs = [["evaluate"], ["evaluate"], [f"import:{week4}"], [f"import:{week4}"], [f"import:{week5}"],
            [f"survey:{survey_a}:{exp0}"], [f"survey:{survey_a}:{exp0}"], [f"survey:{survey_b}:{exp1}"]]
    _, runs = run_workers(pg_home, jobs, env={"QE_WRITER_MAX_ATTEMPTS": "30"})
    for r in runs:
        assert r.code == 0, r.stderr[-3000:]
    imports = [r.results[0] for r in runs[2:4]]
    assert sorted(i["already"] for i in imports) == [False, True]  # one of the two landed the file
    surveys = [r.results[0] for r in runs[5:7]]
    assert sorted((s["already"], s["rows_landed"]) for s in surveys) == [(False, 150), (True, 0)]
    # settle what the evaluations could not see yet (events imported meanwhile), then check everything
    in_process(pg_home, "evaluate")
    assert check(pg_home) == []
    for week in (4, 5):
        expected = {r["provider_event_id"] for r in Trial.of(week).rows(30).to_pylist()}
        got = scalar(pg_home, "SELECT list(provider_event_id) FROM event_aliases WHERE provider_event_id LIKE ?",
                     [f"sk{week}-%"])
        assert sorted(got) == sorted(expected)  # each event once
    assert scalar(pg_home, "SELECT count(*) - count(DISTINCT event_id) FROM events") == 0
    assert scalar(pg_home, "SELECT count(*) FROM survey_buildings_obs WHERE building_id LIKE 'T000a-%'") == 150
    assert scalar(pg_home, "SELECT count(*) FROM survey_buildings_obs WHERE building_id LIKE 'T001b-%'") == 90
    assert scalar(pg_home, "SELECT count(*) FROM ingest_batches WHERE batch_kind = 'survey_file'") == 2
    for week in range(6):  # every mainshock opened exactly one expedition
        n = scalar(pg_home, "SELECT count(DISTINCT x.expedition_id) FROM expedition_events x JOIN event_aliases a "
                            "ON a.event_id = x.event_id WHERE a.provider_event_id = ?", [Trial.of(week).mainshock_id])
        assert n == 1, week
    assert scalar(pg_home, "SELECT count(DISTINCT expedition_id) FROM expedition_versions") == 6
    assert scalar(pg_home, "SELECT count(*) - count(DISTINCT decision_id) FROM trigger_decision_log") == 0


@pytest.mark.slow
def test_a_writer_killed_mid_commit_leaves_nothing_partial(pg_home: Path, tmp_path: Path) -> None:
    """SIGKILL right as a survey ingest reaches COMMIT (the worker says so), at a random small delay:
    the batch is all there or not at all; a rerun then lands it exactly once."""
    rng = random.Random(17)
    exp0 = expedition_id(pg_home, Trial.of(0))
    outcomes = []
    for trial in range(2):
        (path,) = survey_files(tmp_path, Trial.of(0), 1, 200, tag=f"k{trial}")
        proc = subprocess.Popen(worker_cmd(pg_home, [f"survey:{path}:{exp0}"], announce=True, wait_go=False),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=worker_env(),
                                start_new_session=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == "committing":
                break
        delay = rng.uniform(0.0, 0.05)
        if delay:
            import time

            time.sleep(delay)  # somewhere inside the commit, synchronised on the worker's own signal
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        landed = scalar(pg_home, "SELECT count(*) FROM survey_buildings_obs WHERE building_id LIKE ?",
                        [f"T000k{trial}-%"])
        assert landed in (0, 200), landed  # all or nothing
        assert check(pg_home) == []
        outcomes.append(landed)
        assert in_process(pg_home, f"survey:{path}:{exp0}")["already"] == (landed == 200)  # the rerun
        assert scalar(pg_home, "SELECT count(*) FROM survey_buildings_obs WHERE building_id LIKE ?",
                      [f"T000k{trial}-%"]) == 200
    assert check(pg_home) == []


def test_retries_are_bounded_jittered_and_only_for_write_conflicts() -> None:
    import duckdb

    from warehouse.concurrency import RetryPolicy, is_write_conflict, run_with_retries
    from warehouse.errors import WriteConflict

    policy = RetryPolicy(attempts=4, base_s=0.1, cap_s=0.25)
    rng = random.Random(3)
    delays = [policy.delay(k, rng) for k in (1, 2, 3, 4) for _ in range(50)]
    assert min(delays) >= 0 and max(delays[:50]) <= 0.1 and max(delays) <= 0.25 and len(set(delays)) > 100
    conflict = duckdb.TransactionException('Transaction conflict - attempting to insert into table with index "2"')
    assert is_write_conflict(conflict) and not is_write_conflict(duckdb.TransactionException("cannot commit"))
    slept: list[float] = []
    calls: list[int] = []

    def flaky(k: int) -> str:
        calls.append(k)
        if k < 3:
            raise WriteConflict("another writer changed the same lake table first") from conflict
        return "done"

    assert run_with_retries(flaky, policy, "test", sleep=slept.append) == "done"
    assert calls == [1, 2, 3] and len(slept) == 2 and all(0 <= s <= 0.25 for s in slept)

    def always(k: int) -> str:
        calls.append(k)
        raise WriteConflict("conflict") from conflict

    calls.clear()
    with pytest.raises(WriteConflict):
        run_with_retries(always, policy, "test", sleep=slept.append)
    assert calls == [1, 2, 3, 4]  # bounded

    def broken(k: int) -> str:
        calls.append(k)
        raise ValueError("not a conflict")

    calls.clear()
    with pytest.raises(ValueError):
        run_with_retries(broken, policy, "test", sleep=slept.append)
    assert calls == [1]  # never retried


def _batches(ids: list[str]) -> pa.Table:
    import datetime as dt

    from warehouse.tables.system import INGEST_BATCHES

    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    n = len(ids)
    return pa.table({"batch_id": ids, "batch_kind": ["test"] * n, "source_name": ["s"] * n, "source_uri": ["u"] * n,
                     "raw_sha256": [None] * n, "started_utc": [now] * n, "finished_utc": [now] * n,
                     "rows_read": [1] * n, "rows_written": [1] * n, "note": [None] * n}, schema=INGEST_BATCHES.schema)


@pytest.mark.slow
def test_two_transactions_conflict_only_on_the_same_fence(postgres_server: Any, tmp_path: Path) -> None:
    """Two open transactions on a PostgreSQL catalog: the same key conflicts at commit, keys in
    different fence buckets both commit (DuckLake alone would have let the same key in twice)."""
    import duckdb

    from warehouse.concurrency import fence_name
    from warehouse.lake import Lake, LakeWriter
    from warehouse.tables.system import INGEST_BATCHES

    lake = Lake(tmp_path, postgres_server.new_database(), str(tmp_path / "data"))
    lake.init(tables=(INGEST_BATCHES,))
    other = next(f"b{i}" for i in range(100) if fence_name("ingest_batches", f"b{i}") != fence_name("ingest_batches", "a"))

    def begin() -> tuple[duckdb.DuckDBPyConnection, LakeWriter]:
        con = lake._open(read_only=False, snapshot=None, spatial=False)
        con.execute("BEGIN TRANSACTION")
        return con, LakeWriter(con, fences=True)

    (a, wa), (b, wb) = begin(), begin()
    wa.write("ingest_batches", _batches(["a"]), mode="insert_new")
    wb.write("ingest_batches", _batches([other]), mode="insert_new")
    a.execute("COMMIT")
    b.execute("COMMIT")  # different buckets: both land
    (a, wa), (b, wb) = begin(), begin()
    wa.write("ingest_batches", _batches(["same"]), mode="insert_new")
    wb.write("ingest_batches", _batches(["same"]), mode="insert_new")  # its read saw no "same" yet
    a.execute("COMMIT")
    with pytest.raises(duckdb.TransactionException, match="Transaction conflict"):
        b.execute("COMMIT")
    for con in (a, b):
        con.close()
    got = lake.read_table("ingest_batches").column("batch_id").to_pylist()
    assert sorted(got) == sorted(["a", other, "same"])
