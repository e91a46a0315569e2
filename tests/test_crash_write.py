"""SIGKILL during lake appends: no partial data is visible, a rerun completes, orphans are cleaned.

The test synchronises on the writer's own progress, never on the clock: the writer child reports
each step on stdout (``inside b`` once the events of batch ``b`` are written inside its transaction,
``committed b`` after its commit) and, when asked to, stops right there until it is killed. So the
kills land where the test says, whatever the machine's speed:

1. between two commits (batch 1 committed, batch 2 not begun);
2. inside a commit (batch 2's events written to Parquet files, its aliases and its commit not yet);
3. while a large batch is being written, the moment its first data file appears (no pause: a kill
   inside DuckDB's own write path).

After each kill both tables hold the same whole batches; the files of the killed transactions are
on disk but referenced by no snapshot, and maintenance deletes exactly those with no grace period.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from warehouse.lake import Lake
from warehouse.maintain import maintain

ROOT = Path(__file__).resolve().parents[1]

WRITER = r"""
import sys, pyarrow as pa
from expedition.settings import load_settings
from warehouse.lake import Lake
lake = Lake.from_settings(load_settings(sys.argv[1]))
n, start, pause = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

def step(what):
    print(what, flush=True)
    if what == pause:  # stop here until the test kills this process
        print("paused", flush=True)
        sys.stdin.readline()
        raise SystemExit("the test should have killed this writer")

for b in range(start, 4):
    ids = [f"ev-{b}-{i}" for i in range(n)]
    batch = pa.table({"event_id": ids, "magnitude_value": [float(i % 9) for i in range(n)], "region_name": ["x" * 40] * n})
    with lake.writer() as w:
        w.write("events", batch, mode="insert_new")
        step(f"inside {b}")
        w.write("event_aliases", pa.table({"provider": ["T"] * n, "provider_event_id": ids, "event_id": ids}))
    step(f"committed {b}")
"""


class Writer:
    """The writer child and what it has reported so far."""

    def __init__(self, lake: Lake, n: int, start: int, pause: str = "") -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(lake.home), str(n), str(start), pause],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        )

    def wait_for(self, line: str) -> None:
        """Read the child's reports until ``line`` (fails if it exits first)."""
        assert self.proc.stdout is not None
        while line not in self.lines:
            got = self.proc.stdout.readline()
            if not got:
                _, err = self.proc.communicate(timeout=60)
                pytest.fail(f"the writer exited ({self.proc.returncode}) before {line!r}: {self.lines} {err[-2000:]}")
            self.lines.append(got.strip())

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.communicate(timeout=60)
        assert self.proc.returncode == -signal.SIGKILL


@pytest.fixture
def writers() -> Iterator[list[Writer]]:
    started: list[Writer] = []
    yield started
    for w in started:  # a failed assertion must not leave a writer behind
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.communicate(timeout=60)


def _counts(lake: Lake) -> tuple[int, int]:
    con = lake.connect(read_only=True)
    try:
        e = con.execute("SELECT count(*) FROM events").fetchone()
        a = con.execute("SELECT count(*) FROM event_aliases").fetchone()
        return int(e[0]), int(a[0])  # type: ignore[index]
    finally:
        con.close()


def _data_files(lake: Lake) -> set[str]:
    return {str(p) for p in Path(lake.data_path).rglob("*.parquet")}


def _unreferenced(lake: Lake) -> set[str]:
    """Data files on disk that no snapshot of the lake refers to."""
    con = lake.connect(read_only=True)
    try:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake'").fetchall()]
        known = {Path(p).resolve().as_posix() for t in tables
                 for (p,) in con.execute("SELECT data_file FROM ducklake_list_files('lake', ?)", [t]).fetchall()}
    finally:
        con.close()
    return {p for p in _data_files(lake) if Path(p).resolve().as_posix() not in known}


@pytest.mark.slow
def test_sigkill_between_and_inside_commits_leaves_no_partial_rows(lake: Lake, writers: list[Writer]) -> None:
    n = 20_000

    # 1. between commits: batches 0 and 1 committed, the writer stopped before batch 2 begins
    w = Writer(lake, n, 0, pause="committed 1")
    writers.append(w)
    w.wait_for("paused")
    assert w.lines == ["inside 0", "committed 0", "inside 1", "committed 1", "paused"]
    assert _counts(lake) == (2 * n, 2 * n)
    w.kill()
    assert _counts(lake) == (2 * n, 2 * n)
    assert _unreferenced(lake) == set(), "a kill between commits leaves no stray file"

    # 2. inside a commit: batch 2's events are written (files on disk), its aliases and commit not yet
    before = _data_files(lake)
    w = Writer(lake, n, 2, pause="inside 2")
    writers.append(w)
    w.wait_for("paused")
    staged = _data_files(lake) - before
    assert staged, "the open transaction has written its events' files"
    assert _counts(lake) == (2 * n, 2 * n), "an open transaction is invisible to readers"
    w.kill()
    assert _counts(lake) == (2 * n, 2 * n)
    assert _unreferenced(lake) == staged, "the killed transaction's files are orphans"

    # 3. in flight: a large batch, killed the moment its first data file appears
    big = 400_000
    before = _data_files(lake)
    w = Writer(lake, big, 2)
    writers.append(w)
    deadline = time.monotonic() + 300  # a safety net only: the loop ends on the file, not the clock
    while not (_data_files(lake) - before) and w.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    w.kill()
    events, aliases = _counts(lake)
    # whole transactions only: both tables hold the same complete batches (2n, or 2n + one big batch)
    assert (events, aliases) in {(2 * n, 2 * n), (2 * n + big, 2 * n + big)}, (events, aliases)

    # orphans are deleted with no grace period, every one of them and nothing else
    orphans = _unreferenced(lake)
    assert staged <= orphans
    report = maintain(lake, orphan_grace_minutes=0)
    assert report.orphans_deleted == len(orphans)
    assert not any(Path(p).exists() for p in orphans)
    assert _unreferenced(lake) == set()
    assert _counts(lake) == (events, aliases)

    # a rerun completes and converges, with no duplicates
    done = subprocess.run([sys.executable, "-c", WRITER, str(lake.home), str(n), "0", ""],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    expected = 4 * n if events == 2 * n else 3 * n + big
    assert _counts(lake) == (expected, expected)
    con = lake.connect(read_only=True)
    try:
        assert con.execute("SELECT count(DISTINCT event_id) FROM events").fetchone() == (expected,)
    finally:
        con.close()
